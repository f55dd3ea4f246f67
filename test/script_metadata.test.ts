// The UI form of each script comes from its .script.yaml: it must say what Windmill's own parser
// reads from `main` (names, types, enums, defaults), and carry a summary and a timeout.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse } from "yaml";
import { expectedMetadata, expectedResourceTypes, scriptFiles } from "../tools/metadata.ts";

for (const script of scriptFiles()) {
  test(`${script.split("/").pop()}: metadata matches main's signature`, async () => {
    const { path, current, expected } = await expectedMetadata(script);
    assert.equal(current, expected, `${path} is stale: run npm run metadata`);
    const metadata = parse(current) as { summary?: string; timeout?: number; kind?: string };
    assert.ok(metadata.summary && metadata.summary.length > 5, "a summary");
    assert.ok(typeof metadata.timeout === "number" && metadata.timeout >= 600, "a timeout");
    assert.equal(metadata.kind, "script");
  });
}

test("the custom resource types say what the zod schemas that read the resources accept", () => {
  const types = expectedResourceTypes();
  assert.equal(types.length, 3);
  for (const { path, current, expected } of types) assert.equal(current, expected, `${path} is stale: run npm run metadata`);
});
