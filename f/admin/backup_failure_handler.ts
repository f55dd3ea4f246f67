// Records a failed backup (or health check): in the job log and in the app's system_logs, and tells
// the people of f/admin/backup_alerts, so a missed backup never goes unnoticed. Two callers: the
// failure module of the scheduled flows (f/admin/scheduled_backup, f/admin/scheduled_health_check run
// it on every edition, Community included), and, on Enterprise, a schedule's or the workspace's error
// handler (`script/f/admin/backup_failure_handler`), which Windmill calls with the failed job's path,
// is_flow, error, schedule_path and failed_times (windmill-labs/windmill backend/windmill-queue/src/
// jobs.rs: `apply_schedule_handlers` is `#[cfg(feature = "enterprise")]`, `push_error_handler` builds
// those arguments; test/support/schedule-runner.ts runs them so).
// package_json: windmill_pg_backup

import { z } from "zod";
import { DEFAULT_BACKUP_DIR } from "./lib/settings.ts";
import { alertPeople, DEFAULT_ALERTS_RESOURCE } from "./lib/windmill/alerts.ts";
import { BackupTypeArg, parseScriptArgs } from "./lib/windmill/args.ts";
import { recordAudit } from "./lib/windmill/audit.ts";
import { loadDatabase, loadSettings } from "./lib/windmill/resources.ts";

/** Flows whose failure module already records their failure: an Enterprise handler called for them after it must not record it twice. */
export const FLOWS_THAT_RECORD_FAILURES = ["f/admin/scheduled_backup", "f/admin/backup_drill", "f/admin/scheduled_health_check"];

/** The error the health check throws when asked to fail on findings it has already sent to people. */
const UNHEALTHY = "UnhealthyBackupsError";

/** The arguments, with main's defaults (test/windmill_arguments.test.ts keeps the two equal). */
export const Args = z.object({
  path: z.string().default(""),
  schedule_path: z.string().default(""),
  error: z.unknown().default({}),
  failed_times: z.number().int().nonnegative().default(1),
  started_at: z.string().default(""),
  is_flow: z.boolean().default(false),
  /** The scheduled backup's type (the flow passes it): its failure is the incident `failed:TYPE` until a backup of that type succeeds. */
  backup_type: z.string().default(""),
  database_resource: z.string().min(1).default("f/admin/database"),
  settings_resource: z.string().min(1).default("f/admin/backup_settings"),
  alerts_resource: z.string().min(1).default(DEFAULT_ALERTS_RESOURCE),
});

/** The incident a failure is: one a later check can see clear, or a one-off (another script's job). */
function incidentOf(path: string, backupType: string): { key: string; remember: boolean } {
  if (BackupTypeArg.safeParse(backupType).success && (path === "f/admin/scheduled_backup" || path === "f/admin/backup_database")) {
    return { key: `failed:${backupType}`, remember: true };
  }
  if (path === "f/admin/scheduled_health_check" || path === "f/admin/backup_health") return { key: "health-check-failed", remember: true };
  return { key: `job-failed:${path || "unknown"}`, remember: false };
}

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
  backup_type: string = "",
  database_resource: string = "f/admin/database",
  settings_resource: string = "f/admin/backup_settings",
  alerts_resource: string = "f/admin/backup_alerts",
) {
  return await run({ path, schedule_path, error, failed_times, started_at, is_flow, backup_type, database_resource, settings_resource,
    alerts_resource });
}

/** The script as a library call, for other scripts and flows: `input` is checked against Args, its defaults filled in. */
export async function run(input: z.input<typeof Args>) {
  const args = parseScriptArgs(Args, input);
  const what = args.path || process.env.WM_FLOW_PATH || "a backup job";
  const schedule = args.schedule_path || process.env.WM_SCHEDULE_PATH || "";
  if (args.is_flow && FLOWS_THAT_RECORD_FAILURES.includes(args.path)) {
    const message = `${args.path} failed; its failure module has recorded it in system_logs and told people.`;
    console.log(message);
    return { status: "already recorded", message, audit: "not written: recorded by the flow's failure module" };
  }
  const error = args.error as { name?: unknown; message?: unknown } | null;
  if (error && typeof error === "object" && error.name === UNHEALTHY) {
    const message = `The health check found problems and has told people itself: ${errorMessage(args.error)}`;
    console.log(message);
    return { status: "already reported by the health check", message, audit: "not written: the health check's findings are not a failure" };
  }
  const message = `Run of ${what}${schedule ? ` (${schedule})` : ""} failed` +
    (args.failed_times > 1 ? ` ${args.failed_times} times in a row` : "") +
    (args.started_at ? `, latest started at ${args.started_at}` : "") + `: ${errorMessage(args.error)}`;
  console.error(message);
  const audit = await loadDatabase(args.database_resource).then(
    (database) =>
      recordAudit(database, { action: "scheduled run", outcome: "failure", message,
        details: { script: what, schedule, started_at: args.started_at, failed_times: args.failed_times, error: errorMessage(args.error),
          backup_type: args.backup_type || null } }),
    (loadError: Error) => `not written: ${loadError.message}`,
  );
  const notifications = await notifyFailure(args, what, message);
  return { status: "failure recorded", message, audit, notifications };
}

/** Tell people: the state of alerts lives beside the backups, which the settings name (the default directory if they cannot be read). */
async function notifyFailure(args: z.infer<typeof Args>, what: string, message: string) {
  const settings = await loadSettings(args.settings_resource).catch(() => undefined);
  const database = await loadDatabase(args.database_resource).then((d) => d.dbname, () => "(database resource unreadable)");
  const incident = incidentOf(args.path || what, args.backup_type);
  return await alertPeople(args.alerts_resource, {
    stateDirectory: settings?.backup_dir ?? DEFAULT_BACKUP_DIR,
    database,
    problems: [{ key: incident.key, severity: "critical", message }],
    evaluated: () => false,
    now: new Date(),
    remember: incident.remember,
  });
}
