// Runs a flow.yaml the way Windmill's flow engine does, for tests: steps in order, each script's
// `main` called with arguments by name from the step's input transforms (static values and
// JavaScript expressions over results, flow_input and previous_result), suspend steps resumed or
// cancelled by the test, and the failure module run with the error when a step fails.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse } from "yaml";
import { parseMainSignature } from "../../tools/windmill-parser.ts";

type Transform = { type: "static"; value?: unknown } | { type: "javascript"; expr: string };
interface FlowModule {
  id: string;
  suspend?: { required_events?: number };
  value: { type: string; path: string; input_transforms: Record<string, Transform> };
}
interface Flow { value: { modules: FlowModule[]; failure_module?: FlowModule } }

export interface FlowRun {
  results: Record<string, unknown>;
  /** The error of the failed step, as Windmill hands it to the failure module. */
  error?: { message: string; name: string; step_id: string };
  failure?: unknown;
  /** Step ids whose suspend (approval) was reached, in order. */
  suspended: string[];
}

const repoRoot = resolve(import.meta.dirname, "..", "..");

function evaluate(transform: Transform, scope: { results: Record<string, unknown>; flow_input: unknown; previous_result: unknown }): unknown {
  if (transform.type === "static") return transform.value;
  const expression = new Function("results", "flow_input", "previous_result", `return (${transform.expr});`);
  return expression(scope.results, scope.flow_input, scope.previous_result);
}

async function runStep(module: FlowModule, scope: Parameters<typeof evaluate>[1]): Promise<unknown> {
  if (module.value.type !== "script") throw new Error(`step ${module.id}: only script steps are supported by this runner`);
  const file = join(repoRoot, `${module.value.path}.ts`);
  const signature = await parseMainSignature(readFileSync(file, "utf8"));
  const names = (signature.args ?? []).map((a) => a.name);
  const unknown = Object.keys(module.value.input_transforms).filter((n) => !names.includes(n));
  if (unknown.length > 0) throw new Error(`step ${module.id}: ${module.value.path} has no argument(s) ${unknown.join(", ")}`);
  const args = names.map((name) => {
    const transform = module.value.input_transforms[name];
    return transform === undefined ? undefined : evaluate(transform, scope);
  });
  const script = (await import(pathToFileURL(file).href)) as { main: (...args: unknown[]) => Promise<unknown> };
  // Windmill stores each result as JSON: the next step sees what JSON keeps.
  return JSON.parse(JSON.stringify(await script.main(...args)) ?? "null");
}

export interface FlowHooks {
  /** Answers a suspend (approval) step: true resumes, false cancels the flow. */
  approve?: (stepId: string, results: Record<string, unknown>) => boolean;
  /** Called after each step, e.g. to change the world between two steps. */
  afterStep?: (stepId: string, results: Record<string, unknown>) => Promise<void>;
}

export async function runFlow(flowFile: string, flowInput: Record<string, unknown>, hooks: FlowHooks = {}): Promise<FlowRun> {
  const approve = hooks.approve ?? (() => true);
  const flow = parse(readFileSync(join(repoRoot, flowFile), "utf8")) as Flow;
  const run: FlowRun = { results: {}, suspended: [] };
  let previous: unknown = null;
  for (const module of flow.value.modules) {
    try {
      previous = await runStep(module, { results: run.results, flow_input: flowInput, previous_result: previous });
      run.results[module.id] = previous;
      await hooks.afterStep?.(module.id, run.results);
      if (module.suspend) {
        run.suspended.push(module.id);
        if (!approve(module.id, run.results)) throw new Error(`approval of step ${module.id} was refused: the flow was cancelled`);
      }
    } catch (error) {
      run.error = { message: (error as Error).message, name: (error as Error).name, step_id: module.id };
      if (flow.value.failure_module) {
        run.failure = await runStep(flow.value.failure_module, { results: run.results, flow_input: flowInput, previous_result: { error: run.error } });
      }
      return run;
    }
  }
  return run;
}
