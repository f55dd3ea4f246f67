// What the schema and table filters keep. Pure.
import { BackupError } from "../../errors.ts";
import type { ObjectRef } from "../kinds.ts";
import type { DumpNode } from "./nodes.ts";

/** The schema and table filters of a backup; an absent include list means everything. */
export interface Filters {
  /** Only these schemas (names as PostgreSQL shows them); default all. */
  includeSchemas?: string[];
  excludeSchemas?: string[];
  /** Only these tables, views, materialized views and sequences (`schema.name`); default all. */
  includeTables?: string[];
  excludeTables?: string[];
}

/** What the schema and table filters leave out; `tableOut` takes `schema.name`. */
export function scope(filters: Filters): { schemaOut: (schema: string) => boolean; tableOut: (name: string) => boolean } {
  const { includeSchemas, excludeSchemas = [], includeTables, excludeTables = [] } = filters;
  return {
    schemaOut: (schema) => excludeSchemas.includes(schema) || (includeSchemas !== undefined && !includeSchemas.includes(schema)),
    tableOut: (name) => excludeTables.includes(name) || (includeTables !== undefined && !includeTables.includes(name)),
  };
}

/**
 * The nodes the filters keep. `relations` are the `schema.name` of the tables, views and sequences,
 * and `relationKinds` the kinds the table filters name by their own name. Statements without an
 * object of their own (attach, refresh, OWNED BY, row security) go with what they need. A kept
 * object that needs a left-out one would fail to restore: that is an error naming both, never a
 * silently broken archive.
 */
export function selectNodes(
  nodes: DumpNode[],
  relations: ReadonlySet<string>,
  relationKinds: ReadonlySet<string>,
  filters: Filters,
): DumpNode[] {
  const { includeSchemas, excludeSchemas = [], includeTables, excludeTables = [] } = filters;
  if (includeSchemas === undefined && includeTables === undefined && excludeSchemas.length === 0 && excludeTables.length === 0) {
    return nodes;
  }
  const { schemaOut, tableOut } = scope(filters);
  const relationOut = (name: string) => relations.has(name) && tableOut(name);
  const outOfScope = (ref: ObjectRef) => {
    if (ref.schema === "") return ref.kind === "schema" && schemaOut(ref.name);
    if (schemaOut(ref.schema)) return true;
    const relation = ref.table ?? (relationKinds.has(ref.kind) ? ref.name : undefined);
    return relation !== undefined && relationOut(`${ref.schema}.${relation}`);
  };
  const out = new Set(nodes.filter((n) => n.refs[0] !== undefined && outOfScope(n.refs[0])).map((n) => n.key));
  for (let changed = true; changed;) {
    changed = false;
    for (const n of nodes) {
      if (n.refs.length === 0 && !out.has(n.key) && n.deps.some((d) => out.has(d))) {
        out.add(n.key);
        changed = true;
      }
    }
  }
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const broken = nodes.flatMap((n) =>
    out.has(n.key) ? [] : n.deps.filter((d) => out.has(d)).map((d) => `${n.sortName} needs ${byKey.get(d)?.sortName}`)
  );
  if (broken.length > 0) {
    throw new BackupError(
      `The schema and table filters leave out objects that kept ones need, so the archive could not be restored: ` +
        `${broken.slice(0, 20).join("; ")}. Include those objects too, or leave out what needs them.`,
    );
  }
  return nodes.filter((n) => !out.has(n.key));
}
