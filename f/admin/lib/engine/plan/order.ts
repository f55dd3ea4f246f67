// In what order the archive creates objects: a topological sort over the dependencies read from
// pg_depend, with ties broken by the priority of each node's kind (the table below, as pg_dump keeps
// its own beside its sort), then by name, so that the same database always gives the same archive.
// Pure: knows nothing about SQL or the catalog.

/**
 * Tie-break ranks by node kind: pre-data in pg_dump's kind order, then post-data as pg_dump writes
 * it: keys before other indexes (a foreign key binds to the first unique index on its columns, and
 * in the source that is the key), then rules, triggers, and the "late-constraint"s, foreign keys and
 * NOT VALID checks, which need the keys (and the data) first. Materialized views are refreshed near
 * the end, and event triggers come last of all so that none fires while the archive is restored.
 */
export const RANK = {
  schema: 0,
  language: 0.5,
  extension: 1,
  "extension config": 1.5,
  collation: 2,
  "shell type": 2.5,
  type: 3,
  function: 4,
  "access method": 4.01,
  operator: 4.02,
  "operator family": 4.03,
  "operator class": 4.04,
  conversion: 4.05,
  "text search parser": 4.06,
  "text search template": 4.07,
  transform: 4.08,
  "text search dictionary": 4.1,
  "text search configuration": 4.15,
  cast: 4.2,
  "foreign-data wrapper": 4.4,
  "foreign server": 4.6,
  "user mapping": 4.8,
  sequence: 5,
  table: 6,
  view: 7,
  "owned-by": 8,
  "attach-partition": 9,
  "large-object": 9.5,
  constraint: 10,
  index: 11,
  "attach-index": 12,
  statistics: 12.5,
  rule: 13,
  trigger: 14,
  "late-constraint": 15,
  "row-security": 16,
  policy: 17,
  publication: 18,
  refresh: 19,
  "event-trigger": 20,
} as const;

/** The kind tag of a node of the plan (not the kind a manifest names: an attach or a refresh has none). */
export type NodeKind = keyof typeof RANK;

export interface SortNode {
  key: string;
  /** Lower ranks come first among objects that are free to go (e.g. schemas before tables). */
  rank: number;
  /** Tie-break after rank, for a stable output. */
  sortName: string;
  /** Keys of the nodes this one needs first; keys of unknown nodes are ignored. */
  deps: readonly string[];
}

/** The objects could not be ordered because they need each other. */
export class DependencyCycleError extends Error {
  constructor(readonly members: readonly string[]) {
    super(`circular dependency between: ${members.join(", ")}`);
    this.name = "DependencyCycleError";
  }
}

export function compareNodes(a: SortNode, b: SortNode): number {
  if (a.rank !== b.rank) return a.rank - b.rank;
  if (a.sortName !== b.sortName) return a.sortName < b.sortName ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Kahn's algorithm, always taking the smallest ready node. On a cycle, `throw` reports the nodes
 * left over; `break` takes the smallest of them anyway, for orders that are only a preference
 * (e.g. loading referenced tables first when foreign keys are added after the data).
 */
export function dependencyOrder<T extends SortNode>(nodes: readonly T[], onCycle: "throw" | "break"): T[] {
  const byKey = new Map(nodes.map((node) => [node.key, node]));
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, T[]>();
  for (const node of nodes) {
    const deps = new Set(node.deps.filter((dep) => dep !== node.key && byKey.has(dep)));
    waitingOn.set(node.key, deps.size);
    for (const dep of deps) dependents.set(dep, [...(dependents.get(dep) ?? []), node]);
  }
  const ready = new MinHeap<T>(compareNodes);
  for (const node of nodes) if (waitingOn.get(node.key) === 0) ready.push(node);

  const done = new Set<string>();
  const result: T[] = [];
  const emit = (node: T) => {
    done.add(node.key);
    result.push(node);
    for (const dependent of dependents.get(node.key) ?? []) {
      const left = (waitingOn.get(dependent.key) ?? 0) - 1;
      waitingOn.set(dependent.key, left);
      if (left === 0 && !done.has(dependent.key)) ready.push(dependent);
    }
  };
  while (result.length < nodes.length) {
    const next = ready.pop();
    if (next !== undefined) {
      if (!done.has(next.key)) emit(next);
      continue;
    }
    const stuck = nodes.filter((node) => !done.has(node.key)).sort(compareNodes);
    if (onCycle === "throw") throw new DependencyCycleError(stuck.map((node) => node.sortName));
    emit(stuck[0]!);
  }
  return result;
}

/** A binary heap: the ready set can hold thousands of objects in a large schema. */
class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly compare: (a: T, b: T) => number) {}

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.compare(items[i]!, items[parent]!) >= 0) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && this.compare(items[left]!, items[smallest]!) < 0) smallest = left;
      if (right < items.length && this.compare(items[right]!, items[smallest]!) < 0) smallest = right;
      if (smallest === i) return top;
      [items[i], items[smallest]] = [items[smallest]!, items[i]!];
      i = smallest;
    }
  }
}
