// Each script's zod schema carries the same defaults as its `main` signature (as Windmill's parser
// reads them): a flow passes null for an input its caller left out, and null then means the schema's
// default (f/admin/lib/windmill/args.ts), which must be the default the UI shows. And `main` takes
// exactly the schema's arguments, in its order, to forward them by name to `run`.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { z } from "zod";
import { deployPlan } from "../tools/deploy.ts";
import { parseMainSignature } from "../tools/windmill-parser.ts";

for (const script of deployPlan(false).scripts.filter((s) => !s.startsWith("f/admin/lib/"))) {
  test(`${script}: the schema's defaults are main's defaults`, async () => {
    const signature = await parseMainSignature(readFileSync(`${script}.ts`, "utf8"));
    const { Args, run } = (await import(`../${script}.ts`)) as { Args: z.ZodObject; run: unknown };
    assert.equal(typeof run, "function", "run, which main forwards to and other scripts call by name");
    assert.deepEqual((signature.args ?? []).map((arg) => arg.name), Object.keys(Args.shape),
      "main's parameters are the schema's, in order");
    for (const arg of signature.args ?? []) {
      const field = Args.shape[arg.name] as z.ZodType | undefined;
      assert.ok(field, `${arg.name} is in the schema`);
      const parsed = field.safeParse(undefined);
      if (arg.has_default) assert.deepEqual(parsed.success ? parsed.data : "(required)", arg.default, arg.name);
      else assert.equal(parsed.success, false, `${arg.name} has no default in main, so none in the schema`);
    }
  });
}
