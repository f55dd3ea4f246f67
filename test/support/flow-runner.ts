// Runs a flow.yaml the way Windmill runs it, for tests: each step is a job of the Bun worker
// (bun-worker.ts: the cached bundle in a fresh directory, the real windmill-client against the API
// stand-in), its arguments evaluated from the step's input transforms in QuickJS with Windmill's
// rules (windmill-expr.ts), a suspend step resumed or not by the test under the approval rules of
// the edition, and the failure module run with the error when a step fails.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { parseMainSignature } from "../../tools/windmill-parser.ts";
import { runScriptJob, type JobOutcome } from "./bun-worker.ts";
import type { WindmillApi } from "./windmill-api.ts";
import { evaluateExpression } from "./windmill-expr.ts";

type Transform = { type: "static"; value?: unknown } | { type: "javascript"; expr: string };
interface Suspend {
  required_events?: number;
  timeout?: number;
  user_auth_required?: boolean;
  self_approval_disabled?: boolean;
  user_groups_required?: { value?: string[] };
}
interface FlowModule {
  id: string;
  suspend?: Suspend;
  value: { type: string; path: string; input_transforms: Record<string, Transform> };
}
interface Flow {
  value: { modules: FlowModule[]; failure_module?: FlowModule };
}

export type Edition = "ce" | "ee";

/** Who answers an approval: a person logged in to Windmill (the UI's button), or anyone holding the resume link. */
export interface Approver {
  loggedIn: boolean;
  email?: string;
  groups?: string[];
}

export interface FlowRun {
  success: boolean;
  results: Record<string, unknown>;
  /** The error of the failed step, as Windmill hands it to the failure module. */
  error?: { message: string; name: string; step_id: string; extra?: Record<string, unknown> };
  failure?: unknown;
  /** The failure module's own error, when it failed too (its report is then lost). */
  failureError?: { message: string; name: string };
  /** Step ids whose suspend (approval) was reached, in order. */
  suspended: string[];
  /** What the server answered to resume attempts it refused. */
  refusedApprovals: string[];
  /** The flow's result: the last step's, or the failure module's. */
  result: unknown;
  /** Each job's log (stdout and stderr), steps then the failure module, as the Runs page shows them. */
  logs: string[];
}

export interface FlowHooks {
  edition?: Edition;
  /** Answers a suspend (approval) step: an approver resumes it, false refuses (cancels the flow). */
  approve?: (stepId: string, results: Record<string, unknown>) => Approver | false;
  /** Called after each step, e.g. to change the world between two steps. */
  afterStep?: (stepId: string, results: Record<string, unknown>) => Promise<void>;
  /** The schedule that started the flow, if any. */
  schedulePath?: string;
}

const repoRoot = resolve(import.meta.dirname, "..", "..");
const TRIGGERED_BY = "admin@family.example";

/**
 * backend/windmill-api/src/jobs.rs, `conditionally_require_authed_user`: a resume of a step with
 * `user_auth_required` is refused by every Community Edition build; Enterprise requires a logged-in
 * user, not the one who started the flow when self-approval is off, in one of the required groups.
 */
export function resumeRefusal(edition: Edition, suspend: Suspend, approver: Approver): string | undefined {
  if (!suspend.user_auth_required) return undefined;
  if (edition === "ce") return "Approvals for logged in users is an enterprise only feature";
  if (!approver.loggedIn) return "Only logged in users can approve this flow step";
  if (suspend.self_approval_disabled && approver.email === TRIGGERED_BY) return "Self-approval is disabled for this flow step";
  const groups = suspend.user_groups_required?.value ?? [];
  if (groups.length > 0 && !groups.some((g) => approver.groups?.includes(g))) {
    return "You are not in any of the groups allowed to approve this flow step";
  }
  return undefined;
}

function stepError(outcome: Extract<JobOutcome, { success: false }>, stepId: string): NonNullable<FlowRun["error"]> {
  return { ...outcome.error, message: outcome.error.message ?? "", name: outcome.error.name ?? "Error", step_id: stepId };
}

async function stepArgs(module: FlowModule, scope: Parameters<typeof evaluateExpression>[1]): Promise<Record<string, unknown>> {
  if (module.value.type !== "script") throw new Error(`step ${module.id}: only script steps are supported by this runner`);
  const signature = await parseMainSignature(readFileSync(join(repoRoot, `${module.value.path}.ts`), "utf8"));
  const names = (signature.args ?? []).map((a) => a.name);
  const unknown = Object.keys(module.value.input_transforms).filter((n) => !names.includes(n));
  if (unknown.length > 0) throw new Error(`step ${module.id}: ${module.value.path} has no argument(s) ${unknown.join(", ")}`);
  // backend/windmill-worker/src/worker_flow.rs, `transform_input`: every transform's value goes into
  // the job's arguments, null included; a parameter without a transform is not sent at all.
  const args: Record<string, unknown> = {};
  for (const [name, transform] of Object.entries(module.value.input_transforms)) {
    args[name] = transform.type === "static" ? (transform.value ?? null) : await evaluateExpression(transform.expr, scope);
  }
  return args;
}

export async function runFlow(
  api: WindmillApi,
  flowPath: string,
  flowInput: Record<string, unknown>,
  hooks: FlowHooks = {},
): Promise<FlowRun> {
  const edition = hooks.edition ?? "ce";
  const approve = hooks.approve ?? (() => ({ loggedIn: true, email: "approver@family.example" }));
  const flow = parse(readFileSync(join(repoRoot, `${flowPath}__flow`, "flow.yaml"), "utf8")) as Flow;
  const flowJob = { jobId: randomUUID(), path: flowPath };
  const run: FlowRun = { success: true, results: {}, suspended: [], refusedApprovals: [], result: null, logs: [] };
  let previous: unknown = null;
  let previousId: string | undefined;
  let failedStep: string | undefined;
  for (const module of flow.value.modules) {
    let outcome: JobOutcome;
    try {
      const args = await stepArgs(module, { flowInput, previousResult: previous, previousId, results: run.results });
      outcome = await runScriptJob(api, { path: module.value.path, args, flow: { ...flowJob, stepId: module.id },
        schedulePath: hooks.schedulePath });
    } catch (error) {
      // An input transform that does not evaluate fails the step before any job runs.
      outcome = { success: false, error: { message: (error as Error).message, name: "ExecutionErr" }, logs: "", jobId: "" };
    }
    run.logs.push(outcome.logs);
    if (!outcome.success) {
      run.error = stepError(outcome, module.id);
      failedStep = module.id;
      break;
    }
    previous = outcome.result;
    previousId = module.id;
    run.results[module.id] = outcome.result;
    await hooks.afterStep?.(module.id, run.results);
    if (module.suspend) {
      run.suspended.push(module.id);
      const answer = approve(module.id, run.results);
      if (answer === false) {
        run.error = { message: `approval of step ${module.id} was refused: the flow was cancelled`, name: "Canceled", step_id: module.id };
        failedStep = module.id;
        break;
      }
      const refusal = resumeRefusal(edition, module.suspend, answer);
      if (refusal !== undefined) {
        // The resume is refused, no other can succeed: the step waits out its timeout.
        run.refusedApprovals.push(refusal);
        run.error = { message: `Timed out after ${module.suspend.timeout ?? 1800}s waiting for the approval of step ${module.id}`,
          name: "SuspendedTimedOut", step_id: module.id };
        failedStep = module.id;
        break;
      }
    }
  }
  if (failedStep === undefined) {
    run.result = previous;
    return run;
  }
  run.success = false;
  run.result = { error: run.error };
  const failureModule = flow.value.failure_module;
  if (failureModule) {
    let outcome: JobOutcome;
    try {
      const args = await stepArgs(failureModule, { flowInput, previousResult: { error: run.error }, previousId: failedStep,
        results: run.results });
      outcome = await runScriptJob(api, { path: failureModule.value.path, args, flow: { ...flowJob, stepId: failureModule.id },
        schedulePath: hooks.schedulePath });
    } catch (error) {
      outcome = { success: false, error: { message: (error as Error).message, name: "ExecutionErr" }, logs: "", jobId: "" };
    }
    run.logs.push(outcome.logs);
    if (outcome.success) {
      run.failure = outcome.result;
      run.result = outcome.result;
    } else {
      run.failureError = { message: outcome.error.message, name: outcome.error.name };
    }
  }
  return run;
}
