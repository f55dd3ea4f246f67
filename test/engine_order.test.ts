// The dependency sort that decides the archive's statement order: table-driven cases.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DependencyCycleError, dependencyOrder, type SortNode } from "../f/admin/lib/engine/plan/order.ts";

const node = (key: string, rank: number, deps: string[] = [], sortName = key): SortNode => ({ key, rank, sortName, deps });
const keys = (nodes: SortNode[]) => nodes.map((n) => n.key);

const cases: Array<{ name: string; nodes: SortNode[]; expected: string[] }> = [
  { name: "empty", nodes: [], expected: [] },
  {
    name: "ties broken by rank, then name",
    nodes: [node("t_b", 5), node("s", 0), node("t_a", 5), node("f", 3)],
    expected: ["s", "f", "t_a", "t_b"],
  },
  {
    name: "a dependency beats rank: a function used by a default comes after the table it reads",
    nodes: [node("tab", 5, ["schema"]), node("fn", 3, ["schema", "tab"]), node("schema", 0)],
    expected: ["schema", "tab", "fn"],
  },
  {
    name: "view over function over table",
    nodes: [node("v", 6, ["f"]), node("f", 3, ["t"]), node("t", 5), node("other", 5)],
    expected: ["other", "t", "f", "v"],
  },
  {
    name: "unknown dependencies (extension members, system objects) are ignored",
    nodes: [node("a", 1, ["pg_catalog.int4"]), node("b", 0, ["a", "nowhere"])],
    expected: ["a", "b"],
  },
  {
    name: "self-dependency is ignored",
    nodes: [node("t", 5, ["t"])],
    expected: ["t"],
  },
  {
    name: "a node freed late still goes in rank order with the ones already waiting",
    nodes: [node("z", 9), node("a", 1, ["y"]), node("y", 8)],
    expected: ["y", "a", "z"],
  },
  {
    name: "duplicate dependencies count once",
    nodes: [node("a", 1, ["b", "b"]), node("b", 2)],
    expected: ["b", "a"],
  },
];

for (const c of cases) {
  test(`dependencyOrder: ${c.name}`, () => {
    assert.deepEqual(keys(dependencyOrder(c.nodes, "throw")), c.expected);
    assert.deepEqual(keys(dependencyOrder([...c.nodes].reverse(), "throw")), c.expected, "input order must not matter");
  });
}

test("dependencyOrder: a cycle throws naming the nodes involved", () => {
  const nodes = [node("a", 1, ["b"], "table a"), node("b", 1, ["a"], "table b"), node("c", 0, [], "schema c")];
  assert.throws(
    () => dependencyOrder(nodes, "throw"),
    (error: unknown) => error instanceof DependencyCycleError && error.members.join() === "table a,table b",
  );
});

test("dependencyOrder: break mode resolves a cycle by taking the smallest node first", () => {
  const nodes = [node("b", 1, ["a"]), node("a", 1, ["b"]), node("c", 1, ["b"]), node("x", 0)];
  assert.deepEqual(keys(dependencyOrder(nodes, "break")), ["x", "a", "b", "c"]);
});
