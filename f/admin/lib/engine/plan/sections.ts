// pg_dump's sections: pre-data (created before the rows are loaded) and post-data (after). Pure.
import type { NodeKind } from "./order.ts";
import type { DumpNode } from "./nodes.ts";

/** Node kinds created before the data; every other kind comes after it. */
export const PRE_DATA_KINDS: ReadonlySet<NodeKind> = new Set<NodeKind>([
  "language",
  "shell type",
  "access method",
  "operator",
  "operator family",
  "operator class",
  "conversion",
  "text search parser",
  "text search template",
  "transform",
  "schema",
  "extension",
  "extension config",
  "collation",
  "type",
  "function",
  "text search dictionary",
  "text search configuration",
  "cast",
  "foreign-data wrapper",
  "foreign server",
  "user mapping",
  "sequence",
  "table",
  "view",
  "owned-by",
  "attach-partition",
]);

/**
 * Split into sections. A key that a pre-data object needs (a view grouping by a primary key relies
 * on it for functional dependency) moves into pre-data, as pg_dump does.
 */
export function splitSections(nodes: DumpNode[]): { pre: DumpNode[]; post: DumpNode[] } {
  const keys = new Set(nodes.filter((n) => n.kind === "constraint").map((n) => n.key));
  const pre = new Set(nodes.filter((n) => PRE_DATA_KINDS.has(n.kind)).map((n) => n.key));
  for (const n of nodes) {
    if (!pre.has(n.key)) continue;
    for (const dep of n.deps) if (keys.has(dep)) pre.add(dep);
  }
  return { pre: nodes.filter((n) => pre.has(n.key)), post: nodes.filter((n) => !pre.has(n.key)) };
}
