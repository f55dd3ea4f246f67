// Last step of the backup drill flow (and its failure module): drops the throwaway database the drill
// restored into, records the drill in system_logs, tells the people of f/admin/backup_alerts when a
// drill fails (and once when drills pass again), and reports. Only ever drops databases named
// drill_…: this script is never a way to drop the real one.
// package_json: windmill_pg_backup

import { z } from "zod";
import { BackupError } from "./lib/errors.ts";
import { DRILL_DATABASE, dropDrillDatabase } from "./lib/operations/drill.ts";
import { DEFAULT_BACKUP_DIR } from "./lib/settings.ts";
import { alertPeople, DEFAULT_ALERTS_RESOURCE } from "./lib/windmill/alerts.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { recordAudit } from "./lib/windmill/audit.ts";
import { loadDatabase, loadSettings } from "./lib/windmill/resources.ts";

const Restore = z.object({
  restored_from: z.string(),
  rows_restored: z.number(),
  tables_restored: z.number(),
  duration_seconds: z.number(),
  verification: z.object({ passed: z.boolean(), tables: z.array(z.object({ table: z.string(), match: z.boolean() })) }),
}).partial();

/** The arguments, with main's defaults (test/windmill_arguments.test.ts keeps the two equal). */
export const Args = z.object({
  drill_database: z.string().regex(DRILL_DATABASE, "a drill database is named drill_<lowercase letters, digits, _>").or(z.literal(""))
    .default(""),
  restore: Restore.default({}),
  error: z.object({ message: z.string().optional(), step_id: z.string().optional() }).passthrough().default({}),
  database_resource: z.string().min(1).default("f/admin/database"),
  settings_resource: z.string().min(1).default("f/admin/backup_settings"),
  alerts_resource: z.string().min(1).default(DEFAULT_ALERTS_RESOURCE),
});

/** Windmill's entry point: the form's (or the flow's) values, forwarded by name. */
export async function main(
  drill_database: string = "",
  restore: object = {},
  error: object = {},
  database_resource: string = "f/admin/database",
  settings_resource: string = "f/admin/backup_settings",
  alerts_resource: string = "f/admin/backup_alerts",
) {
  // Objects as Windmill hands them over, of any shape until run checks them against Args.
  return await run({ drill_database, restore, error, database_resource, settings_resource, alerts_resource } as z.input<typeof Args>);
}

/** The script as a library call, for other scripts and flows: `input` is checked against Args, its defaults filled in. */
export async function run(input: z.input<typeof Args>) {
  const args = parseScriptArgs(Args, input);
  const database = await loadDatabase(args.database_resource);
  let dropped = false;
  if (args.drill_database) {
    await dropDrillDatabase(database, args.drill_database);
    dropped = true;
  }
  const failed = args.error.message !== undefined || args.restore.verification?.passed !== true;
  const mismatched = (args.restore.verification?.tables ?? []).filter((t) => !t.match).map((t) => t.table);
  const message = args.error.message
    ? `Backup drill failed at step ${args.error.step_id ?? "?"}: ${args.error.message}`
    : failed
    ? `Backup drill of ${args.restore.restored_from} FAILED verification: ${mismatched.join(", ") || "no verification result"}`
    : `Backup drill passed: ${args.restore.restored_from} restored into a throwaway database in ${args.restore.duration_seconds} s, ` +
      `${args.restore.tables_restored} tables and ${args.restore.rows_restored} rows verified`;
  const audit = await recordAudit(database, {
    action: "drill",
    outcome: failed ? "failure" : "success",
    message,
    details: { backup: args.restore.restored_from ?? null, drill_database: args.drill_database || null, dropped, mismatched },
  });
  // A drill that fails is the incident drill:failed until one passes; a passing drill also answers an overdue one.
  const settings = await loadSettings(args.settings_resource).catch(() => undefined);
  const notifications = await alertPeople(args.alerts_resource, {
    stateDirectory: settings?.backup_dir ?? DEFAULT_BACKUP_DIR,
    database: database.dbname,
    problems: failed ? [{ key: "drill:failed", severity: "critical", message }] : [],
    evaluated: (key) => key === "drill:failed" || key === "drill:stale",
    now: new Date(),
  });
  const report = { status: failed ? "failed" : "passed", message, backup: args.restore.restored_from ?? null,
    drill_database_dropped: dropped, audit, notifications };
  // A drill that did not prove the backup must fail the job, so the flow (and its alerts) fail too.
  if (failed && !args.error.message) {
    throw new BackupError(`${message}. The backup may not be restorable: take a new backup and investigate.`);
  }
  return report;
}
