// Runs one firing of a schedule file the way Windmill does, for tests: the script or flow with the
// schedule's arguments, then, when it failed, the error handlers that the edition runs.
// - backend/windmill-queue/src/jobs.rs: `apply_schedule_handlers` (the schedule's on_failure) and
//   the workspace error handler are compiled only into Enterprise builds (`#[cfg(feature =
//   "enterprise")]`); the workspace handler is not called for a flow that has a failure module.
// - backend/windmill-common/src/jobs.rs, `get_payload_tag_from_prefixed_path`: the handler's path
//   must carry its kind, `script/…` or `flow/…`; otherwise the push fails ("path must start with
//   script/ or flow/") and the schedule is disabled with that error.
// - push_error_handler: the handler gets the failed job's result keys (`error`) and schedule_path,
//   path, is_flow, started_at, failed_times, workspace_id, job_id, email.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { runScriptJob, type JobOutcome } from "./bun-worker.ts";
import { runFlow, type Edition, type FlowRun } from "./flow-runner.ts";
import type { WindmillApi } from "./windmill-api.ts";

const repoRoot = resolve(import.meta.dirname, "..", "..");

export interface ScheduleFile {
  schedule: string;
  timezone: string;
  script_path: string;
  is_flow: boolean;
  args: Record<string, unknown>;
  on_failure?: string;
  on_failure_extra_args?: Record<string, unknown>;
  no_flow_overlap?: boolean;
}

export function readSchedule(name: string): ScheduleFile {
  return parse(readFileSync(join(repoRoot, "schedules", `${name}.schedule.yaml`), "utf8")) as ScheduleFile;
}

/** The job a prefixed handler path stands for, or Windmill's refusal. */
export function handlerTarget(path: string): { kind: "script" | "flow"; path: string } {
  if (path.startsWith("script/")) return { kind: "script", path: path.slice("script/".length) };
  if (path.startsWith("flow/")) return { kind: "flow", path: path.slice("flow/".length) };
  throw new Error(`path must start with script/ or flow/ (got ${path})`);
}

export interface ScheduledRun {
  success: boolean;
  /** The flow run (for flows) or the job outcome (for scripts). */
  flow?: FlowRun;
  job?: JobOutcome;
  /** The schedule error handler's job, when the edition ran one. */
  handler?: JobOutcome;
  /** Why the schedule was disabled (a handler that could not be started). */
  disabled?: string;
}

/** One firing of schedules/NAME.schedule.yaml, or of `options.spec` (a schedule a user made) pushed as f/admin/NAME. */
export async function runSchedule(
  api: WindmillApi,
  name: string,
  options: { edition: Edition; spec?: ScheduleFile },
): Promise<ScheduledRun> {
  const spec = options.spec ?? readSchedule(name);
  const schedulePath = `f/admin/${name}`;
  const startedAt = new Date().toISOString();
  let run: ScheduledRun;
  let failedJobResult: Record<string, unknown> = {};
  let jobId = "";
  if (spec.is_flow) {
    const flow = await runFlow(api, spec.script_path, spec.args, { edition: options.edition, schedulePath });
    run = { success: flow.success, flow };
    failedJobResult = (flow.result ?? {}) as Record<string, unknown>;
  } else {
    const job = await runScriptJob(api, { path: spec.script_path, args: spec.args, schedulePath });
    run = { success: job.success, job };
    jobId = job.jobId;
    if (!job.success) failedJobResult = { error: job.error };
  }
  if (run.success || options.edition === "ce" || !spec.on_failure) return run;
  let target;
  try {
    target = handlerTarget(spec.on_failure);
  } catch (error) {
    return { ...run, disabled: `Could not trigger error handler: ${(error as Error).message}` };
  }
  if (target.kind !== "script") throw new Error("this runner starts script handlers only");
  const args = {
    ...failedJobResult,
    schedule_path: schedulePath,
    path: spec.script_path,
    is_flow: spec.is_flow,
    started_at: startedAt,
    failed_times: 1,
    workspace_id: api.workspace,
    job_id: jobId,
    email: "admin@family.example",
    ...spec.on_failure_extra_args,
  };
  return { ...run, handler: await runScriptJob(api, { path: target.path, args }) };
}
