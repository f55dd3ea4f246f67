// Records a failed backup or drill: in the job log and in the app's system_logs, so a missed backup
// never goes unnoticed. Two callers: the failure module of the scheduled flows (f/admin/
// scheduled_backup, f/admin/backup_drill run it on every edition, Community included), and, on
// Enterprise, a schedule's or the workspace's error handler (`script/f/admin/backup_failure_handler`),
// which Windmill calls with the failed job's path, is_flow, error, schedule_path and failed_times.
// package_json: windmill_pg_backup

import { z } from "zod";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { recordAudit } from "./lib/windmill/audit.ts";
import { loadDatabase } from "./lib/windmill/resources.ts";

/** Flows whose failure module already records their failure: an Enterprise handler called for them after it must not record it twice. */
export const FLOWS_THAT_RECORD_FAILURES = ["f/admin/scheduled_backup", "f/admin/backup_drill"];

/** The arguments, with main's defaults (test/windmill_arguments.test.ts keeps the two equal). */
export const Args = z.object({
  path: z.string().default(""),
  schedule_path: z.string().default(""),
  error: z.unknown().default({}),
  failed_times: z.number().int().nonnegative().default(1),
  started_at: z.string().default(""),
  is_flow: z.boolean().default(false),
  database_resource: z.string().min(1).default("f/admin/database"),
});

/** The message of a Windmill job error (`{message, name, stack}`), or whatever was given. */
function errorMessage(error: unknown): string {
  if (typeof error === "string") return error;
  if (error && typeof error === "object" && "message" in error) return String((error as { message: unknown }).message);
  return JSON.stringify(error) ?? "unknown error";
}

/** Windmill's entry point: the form's (or the flow's) values, forwarded by name. */
export async function main(
  path: string = "",
  schedule_path: string = "",
  error: object = {},
  failed_times: number = 1,
  started_at: string = "",
  is_flow: boolean = false,
  database_resource: string = "f/admin/database",
) {
  return await run({ path, schedule_path, error, failed_times, started_at, is_flow, database_resource });
}

/** The script as a library call, for other scripts and flows: `input` is checked against Args, its defaults filled in. */
export async function run(input: z.input<typeof Args>) {
  const args = parseScriptArgs(Args, input);
  const what = args.path || process.env.WM_FLOW_PATH || "a backup job";
  const schedule = args.schedule_path || process.env.WM_SCHEDULE_PATH || "";
  if (args.is_flow && FLOWS_THAT_RECORD_FAILURES.includes(args.path)) {
    const message = `${args.path} failed; its failure module has recorded it in system_logs.`;
    console.log(message);
    return { status: "already recorded", message, audit: "not written: recorded by the flow's failure module" };
  }
  const message = `Run of ${what}${schedule ? ` (${schedule})` : ""} failed` +
    (args.failed_times > 1 ? ` ${args.failed_times} times in a row` : "") +
    (args.started_at ? `, latest started at ${args.started_at}` : "") + `: ${errorMessage(args.error)}`;
  console.error(message);
  const audit = await loadDatabase(args.database_resource).then(
    (database) =>
      recordAudit(database, { action: "scheduled run", outcome: "failure", message,
        details: { script: what, schedule, started_at: args.started_at, failed_times: args.failed_times,
          error: errorMessage(args.error) } }),
    (loadError: Error) => `not written: ${loadError.message}`,
  );
  return { status: "failure recorded", message, audit };
}
