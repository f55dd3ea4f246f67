// Flow input transforms of type `javascript`, evaluated the way Windmill's worker evaluates them:
// the shortcuts first, then QuickJS with Windmill's rewriting of the expression. Each rule below names
// the file of windmill-labs/windmill it comes from; the code is ours.
import { getQuickJS, type QuickJSContext, type QuickJSHandle } from "quickjs-emscripten";

export interface ExpressionScope {
  /** The flow's input as the caller sent it: an optional input left out is absent, not undefined. */
  flowInput: Record<string, unknown>;
  /** The previous step's result; for the failure module, `{error: …}` of the step that failed. */
  previousResult: unknown;
  /** Id of the previous step (`results.<id>` of it is served from previousResult). */
  previousId?: string;
  /** Results of the steps that completed, by id. A step that never ran is absent. */
  results: Record<string, unknown>;
}

// backend/windmill-worker/src/js_eval.rs, `try_exact_property_access`: `flow_input.x` (or
// `flow_input["x"]`) when x is a key of the input returns it without JavaScript. A missing key falls
// through to QuickJS, where it reads as undefined and comes back as null.
function exactFlowInput(expr: string, flowInput: Record<string, unknown>): { value: unknown } | undefined {
  if (!expr.startsWith("flow_input")) return undefined;
  const rest = expr.slice("flow_input".length);
  let key: string | undefined;
  if (rest.startsWith(".")) key = rest.slice(1);
  else if (rest.startsWith('["') && rest.endsWith('"]') && rest.length > 4) key = rest.slice(2, -2);
  return key !== undefined && Object.hasOwn(flowInput, key) ? { value: flowInput[key] } : undefined;
}

// backend/windmill-worker/src/js_eval.rs, RE_FULL and `handle_full_regex`: a plain
// `results.step`, `results.step[0]` or `results.step.a.b` is fetched from the server by step id and
// JSON path, and a step (or path) that does not exist gives null instead of an error.
const PLAIN_RESULT = /^results\??\.([A-Za-z_0-9]+)(?:\[(\d+)\])?((?:\.[A-Za-z_0-9]+)+)?$/;

function plainResult(expr: string, scope: ExpressionScope): { value: unknown } | undefined {
  const match = PLAIN_RESULT.exec(expr);
  if (!match) return undefined;
  const [, step, index, rest] = match;
  let value: unknown = Object.hasOwn(scope.results, step!) ? scope.results[step!] : null;
  const path = [...(index !== undefined ? [index] : []), ...(rest ? rest.slice(1).split(".") : [])];
  for (const key of path) {
    value = value !== null && typeof value === "object" && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : null;
  }
  return { value: value ?? null };
}

// backend/windmill-worker/src/js_eval.rs, `replace_with_await_result` and its RE: every
// `results.x`, `results?.x` or `results["x"]` becomes `(await results.x)`, wherever it stands, even
// inside a function that is not async (where QuickJS then rejects the `await`).
const RESULT_ACCESS = /(?:results|flow_env)\??(?:\.[A-Za-z_0-9]+|\[".*?"\])/g;

export function rewriteResultAccess(expr: string): string {
  return expr.replace(RESULT_ACCESS, (access) => `(await ${access})`);
}

// backend/windmill-worker/src/js_eval_quickjs.rs, `should_add_return_quickjs` and
// `contains_semicolon_outside_strings`: `return` is put in front of the expression unless it starts
// with a statement keyword or holds a `;` outside quotes (a backslash before a quote escapes it).
const STATEMENT_STARTS = ["const ", "let ", "var ", "if ", "if(", "for ", "for(", "while ", "while(", "switch ", "switch(", "try ", "try{",
  "throw ", "function ", "class ", "async ", "await "];

export function addsReturn(expr: string): boolean {
  const text = expr.trim();
  if (text === "") return true;
  if (text === "return" || text.startsWith("return ") || text.startsWith("return;")) return false;
  if (STATEMENT_STARTS.some((start) => text.startsWith(start))) return false;
  let quote: string | undefined;
  let previous = "";
  for (const ch of text) {
    if ((ch === "'" || ch === '"' || ch === "`") && previous !== "\\") {
      if (quote === undefined) quote = ch;
      else if (quote === ch) quote = undefined;
    } else if (ch === ";" && quote === undefined) {
      return false;
    }
    previous = ch;
  }
  return true;
}

/** The program QuickJS runs for an expression (after the shortcuts did not apply). */
export function quickJsProgram(expr: string): string {
  const rewritten = rewriteResultAccess(expr.trim());
  return addsReturn(rewritten) ? `(async function() { return ${rewritten}; })()` : `(async function() { ${rewritten} })()`;
}

// js_eval_quickjs.rs, `setup_results_proxy`: `results` is a Proxy whose every property is a Promise
// of that step's result, fetched from the server; a step that never ran makes the server answer
// "Not found" and the Promise rejects with it. The previous step's result is served locally.
const RESULTS_PROXY = `
const results = new Proxy({}, {
  get(target, name) {
    if (typeof name === "symbol") return undefined;
    if (name === __previous_id && typeof previous_result !== "undefined") return Promise.resolve(previous_result);
    if (Object.prototype.hasOwnProperty.call(__completed, name)) return Promise.resolve(__completed[name]);
    return Promise.reject(new Error("Failed to fetch result for step '" + name + "': Not found: Flow result by id in leaf jobs not found at name " + name));
  }
});`;

// js_eval_quickjs.rs: when the expression mentions `error` and previous_result is set, `error` is
// previous_result.error (the failed step's error, for a failure module).
const ERROR_BINDING = `
let error = previous_result?.error;
if (!error) error = previous_result ? { name: "UnknownError", message: "Could not parse the error", error: previous_result } : { name: "UnknownError", message: "No error found" };`;

function setGlobal(vm: QuickJSContext, name: string, value: unknown): void {
  const handle: QuickJSHandle = vm.unwrapResult(vm.evalCode(`(${JSON.stringify(JSON.stringify(value ?? null))})`));
  const parsed = vm.unwrapResult(vm.evalCode(`JSON.parse`));
  const result = vm.unwrapResult(vm.callFunction(parsed, vm.undefined, handle));
  vm.setProp(vm.global, name, result);
  for (const h of [handle, parsed, result]) h.dispose();
}

function run(vm: QuickJSContext, code: string): void {
  const result = vm.evalCode(code);
  if (result.error) {
    const error = vm.dump(result.error) as { message?: string };
    result.error.dispose();
    throw new Error(`QuickJS evaluation error: ${error.message ?? JSON.stringify(error)}`);
  }
  result.value.dispose();
}

/**
 * The value Windmill gives a `javascript` input transform (JSON: undefined becomes null). Throws as
 * Windmill does: a SyntaxError, an error thrown by the expression, a step that never ran.
 */
export async function evaluateExpression(expression: string, scope: ExpressionScope): Promise<unknown> {
  const expr = expression.trim();
  // js_eval.rs `eval_timeout`: an expression that is exactly a context key (`previous_result`) returns it.
  if (expr === "previous_result" || expr === "result") return scope.previousResult ?? null;
  const exact = exactFlowInput(expr, scope.flowInput);
  if (exact) return exact.value ?? null;
  const previousForms = scope.previousId === undefined ?
    [] :
    [`results.${scope.previousId}`, `results?.${scope.previousId}`, `results["${scope.previousId}"]`, `results?.["${scope.previousId}"]`];
  if (previousForms.includes(expr)) return scope.previousResult ?? null;
  const plain = plainResult(expr, scope);
  if (plain) return plain.value;

  const quickjs = await getQuickJS();
  const vm = quickjs.newContext();
  try {
    // Only the names the expression mentions are set (js_eval_quickjs.rs, `context_keys`).
    const usesPrevious = expr.includes("previous_result") || expr.includes("error") || previousForms.some((form) => expr.includes(form));
    if (usesPrevious) setGlobal(vm, "previous_result", scope.previousResult);
    if (expr.includes("flow_input")) setGlobal(vm, "flow_input", scope.flowInput);
    if (expr.includes("error") && usesPrevious) run(vm, ERROR_BINDING);
    setGlobal(vm, "__previous_id", scope.previousId ?? null);
    setGlobal(vm, "__completed", scope.results);
    run(vm, RESULTS_PROXY);
    const evaluated = vm.evalCode(quickJsProgram(expr));
    if (evaluated.error) {
      const error = vm.dump(evaluated.error) as { name?: string; message?: string };
      evaluated.error.dispose();
      throw new Error(`QuickJS evaluation error: ${error.name ?? "Error"}: ${error.message ?? JSON.stringify(error)}`);
    }
    const settled = vm.resolvePromise(evaluated.value);
    evaluated.value.dispose();
    vm.runtime.executePendingJobs();
    const outcome = await settled;
    if (outcome.error) {
      const error = vm.dump(outcome.error) as { name?: string; message?: string };
      outcome.error.dispose();
      throw new Error(`QuickJS evaluation error: ${error.name ?? "Error"}: ${error.message ?? JSON.stringify(error)}`);
    }
    const value = vm.dump(outcome.value) as unknown;
    outcome.value.dispose();
    return value === undefined ? null : JSON.parse(JSON.stringify(value) ?? "null");
  } finally {
    vm.dispose();
  }
}
