// "Restores into the same database", as every independent judge sees it: the catalog judge, pg_dump
// --schema-only where this machine has pg_dump of the server's version, and each table's rows.
// Each function lists the differences it finds (empty when there are none), readable in a failure.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { catalogOf, compareCatalogs, type CatalogDescription } from "./catalog-judge.ts";
import type { Cluster } from "./cluster.ts";
import { dataFingerprint, schemaText } from "./judge.ts";

/** A database on a cluster. */
export interface Database {
  cluster: Cluster;
  name: string;
}

const label = (db: Database) => `${db.name} (PostgreSQL ${db.cluster.majorVersion})`;

/** The catalog judge, then pg_dump's text when both servers are one version this machine has pg_dump of. */
export async function schemaDifferences(
  t: TestContext,
  expected: Database,
  actual: Database,
  normalise: (description: CatalogDescription) => CatalogDescription = (description) => description,
): Promise<string[]> {
  const found = compareCatalogs(
    normalise(await catalogOf(expected.cluster, expected.name)),
    normalise(await catalogOf(actual.cluster, actual.name)),
    { expected: label(expected), actual: label(actual) },
  );
  const expectedText = expected.cluster.majorVersion === actual.cluster.majorVersion
    ? schemaText(expected.cluster, expected.name)
    : undefined;
  if (expectedText === undefined) {
    t.diagnostic(`no pg_dump for ${label(expected)} and ${label(actual)} here: the catalog judge alone compared the schemas`);
    return found;
  }
  const actualText = schemaText(actual.cluster, actual.name)!;
  if (actualText !== expectedText) {
    const [a, b] = [new Set(expectedText.split("\n")), new Set(actualText.split("\n"))];
    const lines = [...[...a].filter((l) => !b.has(l)).map((l) => `- ${l}`), ...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l}`)];
    found.push(`pg_dump --schema-only differs${lines.length ? "" : " in order only"}:\n${lines.slice(0, 30).join("\n")}`);
  }
  return found;
}

/** Tables whose rows (count and content, in any order) differ. */
export async function dataDifferences(expected: Database, actual: Database): Promise<string[]> {
  const [a, b] = [await dataFingerprint(expected.cluster, expected.name), await dataFingerprint(actual.cluster, actual.name)];
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((table) => a[table] !== b[table])
    .map((table) => `rows of ${table}: ${label(expected)} ${a[table] ?? "no table"}, ${label(actual)} ${b[table] ?? "no table"}`);
}

export function assertNoDifferences(found: string[], between: string): void {
  assert.deepEqual(found, [], `${found.length} difference(s) between ${between}:\n${found.slice(0, 40).join("\n")}`);
}
