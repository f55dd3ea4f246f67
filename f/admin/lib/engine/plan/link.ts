// Dependencies between nodes, from pg_depend's edges between catalog rows: a row stands for the node
// that creates it, and an extension's member for the extension. Pure.
import type { DumpNode } from "./nodes.ts";

/**
 * Attach pg_depend edges to nodes (`depends`: `classid:objid` → `classid:objid`; `members`: an
 * extension member's `classid:objid` → the key of its extension's node; a column of type hstore
 * needs CREATE EXTENSION hstore first). Sequence → table edges are skipped: they record ownership
 * (OWNED BY), written after both exist. A materialized view is refreshed after those it reads, even
 * through views and functions between.
 */
export function linkDependencies(
  nodes: DumpNode[],
  depends: ReadonlyArray<readonly [string, string]>,
  members: ReadonlyMap<string, string>,
): void {
  const owner = new Map<string, DumpNode>();
  for (const n of nodes) for (const row of n.creates) owner.set(row, n);
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  for (const [member, extensionKey] of members) {
    const ext = byKey.get(extensionKey);
    if (ext?.kind === "extension" && !owner.has(member)) owner.set(member, ext);
  }
  const deps = new Map<string, Set<string>>(nodes.map((n) => [n.key, new Set(n.deps)]));
  const shells = new Map(nodes.flatMap((n) => (n.shellOf === undefined ? [] : [[n.shellOf.typeKey, n] as const])));
  const link = (source: DumpNode | undefined, target: DumpNode | undefined) => {
    if (source === undefined || target === undefined || source === target) return;
    const shell = shells.get(target.key);
    const early = shell !== undefined && source.creates.some((row) => shell.shellOf?.rows.includes(row));
    deps.get(source.key)?.add(early ? shell.key : target.key);
  };
  for (const [from, to] of depends) {
    const source = owner.get(from);
    const target = owner.get(to);
    if (source?.kind === "sequence" && target?.kind === "table") continue;
    link(source, target);
  }
  for (const n of nodes) for (const row of n.needs) link(n, owner.get(row));
  for (const n of nodes) n.deps = [...(deps.get(n.key) ?? [])];

  const refreshOf = new Map(nodes.filter((n) => n.kind === "refresh").map((n) => [n.needs[0]!, n]));
  for (const [viewKey, refresh] of refreshOf) {
    const seen = new Set([viewKey]);
    const stack = [...(byKey.get(viewKey)?.deps ?? [])];
    while (stack.length > 0) {
      const key = stack.pop()!;
      if (seen.has(key)) continue;
      seen.add(key);
      const earlier = refreshOf.get(key);
      if (earlier !== undefined) refresh.deps = [...refresh.deps, earlier.key];
      const reached = byKey.get(key);
      if (reached?.kind === "view" || reached?.kind === "function") stack.push(...reached.deps);
    }
  }
}
