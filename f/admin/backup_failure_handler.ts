// The schedules' error handler: Windmill calls it when a scheduled backup fails (throws). It writes
// the failure to the job log and to the app's system_logs, so a missed backup never goes unnoticed.
import { z } from "zod";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { recordAudit } from "./lib/windmill/audit.ts";
import { loadDatabase } from "./lib/windmill/resources.ts";

const Args = z.object({
  path: z.string(),
  schedule_path: z.string(),
  error: z.unknown(),
  failed_times: z.number().int().nonnegative(),
  started_at: z.string(),
  database_resource: z.string().min(1),
});

/** The message of a Windmill job error (`{message, name, stack}`), or whatever was given. */
function errorMessage(error: unknown): string {
  if (typeof error === "string") return error;
  if (error && typeof error === "object" && "message" in error) return String((error as { message: unknown }).message);
  return JSON.stringify(error) ?? "unknown error";
}

export async function main(
  path: string,
  schedule_path: string,
  error: object,
  failed_times: number = 1,
  started_at: string = "",
  database_resource: string = "f/admin/database",
) {
  const args = parseScriptArgs(Args, { path, schedule_path, error, failed_times, started_at, database_resource });
  const message = `Scheduled run of ${args.path} (${args.schedule_path}) failed ${args.failed_times} time(s) in a row, ` +
    `latest started at ${args.started_at || "unknown time"}: ${errorMessage(args.error)}`;
  console.error(message);
  const audit = await loadDatabase(args.database_resource).then(
    (database) => recordAudit(database, { action: "scheduled run", outcome: "failure", message, details: { script: args.path, schedule: args.schedule_path, started_at: args.started_at, failed_times: args.failed_times, error: errorMessage(args.error) } }),
    (loadError: Error) => `not written: ${loadError.message}`,
  );
  return { status: "failure recorded", message, audit };
}
