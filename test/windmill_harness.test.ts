// The rules the test harness takes from Windmill's source, each checked on its own (table-driven, no
// server): how a flow's input transform is rewritten and evaluated (backend/windmill-worker/src/
// js_eval.rs, js_eval_quickjs.rs), which approvals each edition accepts (backend/windmill-api/src/
// jobs.rs), which error-handler paths start a job (backend/windmill-common/src/jobs.rs), which
// workspace dependencies a script gets (backend/windmill-common/src/workspace_dependencies.rs) and
// what `//nobundling` means (annotations.rs, bun_executor.rs).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { hasNoBundling, workspaceDependencies } from "./support/bun-worker.ts";
import { resumeRefusal } from "./support/flow-runner.ts";
import { handlerTarget } from "./support/schedule-runner.ts";
import { addsReturn, evaluateExpression, quickJsProgram, rewriteResultAccess } from "./support/windmill-expr.ts";

test("every results.x becomes (await results.x), wherever it stands", () => {
  assert.equal(rewriteResultAccess("results.a.b"), "(await results.a).b");
  assert.equal(rewriteResultAccess('results["a"].length'), '(await results["a"]).length');
  assert.equal(rewriteResultAccess("(() => results.a)()"), "(() => (await results.a))()");
});

const returnRule: Array<[string, boolean]> = [
  // js_eval_quickjs.rs, test_should_add_return_quickjs, and the strings rule.
  ["5", true],
  ["x + y", true],
  ["foo()", true],
  ["'a;b'", true],
  ["`a;${b}`", true],
  ["return 5", false],
  ["const x = 5", false],
  ["let y = 10", false],
  ["if (x > 5) { return x; }", false],
  ["let x = 5; x + 1", false],
  ["(() => { const a = 1; return a; })()", false],
];
for (const [expr, expected] of returnRule) {
  test(`return is ${expected ? "" : "not "}added to: ${expr}`, () => assert.equal(addsReturn(expr), expected));
}

test("the program QuickJS runs wraps the expression in an async function", () => {
  assert.equal(quickJsProgram("results.a.b"), "(async function() { return (await results.a).b; })()");
  assert.equal(quickJsProgram("const a = 1; a"), "(async function() { const a = 1; a })()");
});

const scope = {
  flowInput: { given: "yes", nothing: null },
  previousResult: [{ name: "x" }],
  previousId: "newest",
  results: { newest: [{ name: "x" }], restore: { target_database: "drill_1" } },
};

test("an await inserted inside a function that is not async is a SyntaxError (the drill's old transform)", async () => {
  await assert.rejects(evaluateExpression("(() => { const good = results.newest[0]; return good.name; })()", scope), /SyntaxError/);
});

test("an expression with a ; outside strings gets no return: it evaluates to null", async () => {
  assert.equal(await evaluateExpression("(() => { const a = 1; return a; })()", scope), null);
});

test("flow_input: a given input as is, an input the caller left out as null", async () => {
  assert.equal(await evaluateExpression("flow_input.given", scope), "yes");
  assert.equal(await evaluateExpression("flow_input.left_out", scope), null);
  assert.equal(await evaluateExpression("flow_input.left_out ?? 'local'", scope), "local");
});

test("results: a plain results.x of a step that never ran is null; inside an expression it throws Not found", async () => {
  assert.deepEqual(await evaluateExpression("results.restore", scope), { target_database: "drill_1" });
  assert.equal(await evaluateExpression("results.restore.target_database", scope), "drill_1");
  assert.equal(await evaluateExpression("results.verify", scope), null);
  await assert.rejects(evaluateExpression("results.verify || {}", scope), /Not found/);
  await assert.rejects(evaluateExpression("(typeof results !== 'undefined' && results.verify) || {}", scope), /Not found/);
});

test("results of steps that ran, and of the previous step, inside expressions", async () => {
  assert.equal(await evaluateExpression("results.newest.find((row) => row.name === 'x')?.name ?? null", scope), "x");
  assert.equal(await evaluateExpression("results.restore.target_database.toUpperCase()", scope), "DRILL_1");
});

test("a failure module's error is previous_result.error", async () => {
  const failure = { ...scope, previousResult: { error: { message: "boom", step_id: "restore" } }, previousId: "restore" };
  assert.deepEqual(await evaluateExpression("previous_result.error ?? previous_result", failure), { message: "boom", step_id: "restore" });
  assert.equal(await evaluateExpression("error.message", failure), "boom");
});

test("every transform of every flow is an expression QuickJS accepts (no SyntaxError)", async () => {
  for (const dir of readdirSync("f/admin").filter((f) => f.endsWith("__flow"))) {
    const flow = parse(readFileSync(join("f/admin", dir, "flow.yaml"), "utf8")) as {
      value: { modules: Array<{ value: { input_transforms: Record<string, { type: string; expr?: string }> } }>;
        failure_module?: { value: { input_transforms: Record<string, { type: string; expr?: string }> } } };
    };
    for (const module of [...flow.value.modules, ...(flow.value.failure_module ? [flow.value.failure_module] : [])]) {
      for (const [name, transform] of Object.entries(module.value.input_transforms)) {
        if (transform.type !== "javascript") continue;
        const result = await evaluateExpression(transform.expr!, { flowInput: {}, previousResult: { error: { message: "x" } },
          results: {} }).catch((error: Error) => error);
        assert.ok(!(result instanceof Error && /SyntaxError/.test(result.message)), `${dir} ${name}: ${String(result)}`);
      }
    }
  }
});

test("approvals: user_auth_required is refused on every CE resume; EE wants a logged-in approver", () => {
  const anonymous = { loggedIn: false };
  const admin = { loggedIn: true, email: "approver@family.example" };
  assert.equal(resumeRefusal("ce", { user_auth_required: true }, admin), "Approvals for logged in users is an enterprise only feature");
  assert.equal(resumeRefusal("ce", {}, anonymous), undefined);
  assert.equal(resumeRefusal("ee", { user_auth_required: true }, anonymous), "Only logged in users can approve this flow step");
  assert.equal(resumeRefusal("ee", { user_auth_required: true }, admin), undefined);
  assert.match(resumeRefusal("ee", { user_auth_required: true, user_groups_required: { value: ["admins"] } }, admin) ?? "", /groups/);
});

test("error handler paths carry their kind", () => {
  assert.deepEqual(handlerTarget("script/f/admin/backup_failure_handler"), { kind: "script", path: "f/admin/backup_failure_handler" });
  assert.deepEqual(handlerTarget("flow/f/admin/x"), { kind: "flow", path: "f/admin/x" });
  assert.throws(() => handlerTarget("f/admin/backup_failure_handler"),
    /path must start with script\/ or flow\/ \(got f\/admin\/backup_failure_handler\)/);
});

test("workspace dependencies: a named file for annotated scripts; an unnamed one would take every other script", () => {
  const files = ["dependencies/windmill_pg_backup.package.json"];
  assert.deepEqual(workspaceDependencies("// x\n// package_json: windmill_pg_backup\n\nimport { z } from 'zod';", files), { kind: "named",
    name: "windmill_pg_backup", file: "dependencies/windmill_pg_backup.package.json" });
  // A script of the user's, without the annotation: its imports are inferred as before.
  assert.deepEqual(workspaceDependencies("import axios from 'axios';\nexport async function main() {}", files), { kind: "inferred" });
  assert.deepEqual(workspaceDependencies("import axios from 'axios';", ["dependencies/package.json"]), { kind: "default",
    file: "dependencies/package.json" });
  assert.throws(() => workspaceDependencies("// package_json: windmill_pg_backup\n// more comment\nimport x from 'y';", files),
    /inline workspace dependencies/);
  assert.throws(() => workspaceDependencies("// package_json: other\n\nimport x from 'y';", files), /not found/);
});

test("//nobundling counts only in the leading comment block, on a line of its own", () => {
  assert.equal(hasNoBundling("// restore\n// nobundling\n\nimport x from 'y';"), true);
  assert.equal(hasNoBundling("// we do not use nobundling here\nimport x from 'y';"), false);
  assert.equal(hasNoBundling("import x from 'y';\n// nobundling"), false);
});
