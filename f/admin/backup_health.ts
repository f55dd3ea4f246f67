// Is every backup where it should be? Per backup type, the newest complete backup against its
// schedule, failed runs, sizes and row counts against the ones before, local and S3 copies, uploads
// owed, verification and the last drill, free space; the findings as a summary and a table (Windmill's
// render_all), the people of f/admin/backup_alerts told once per problem and once when it clears, and
// with fail_when_unhealthy the job fails so that failure handling fires.
// package_json: windmill_pg_backup

import { resolve } from "node:path";
import { z } from "zod";
import { localTimeLabel } from "./lib/archive/name.ts";
import { BackupError } from "./lib/errors.ts";
import { DEFAULT_THRESHOLDS } from "./lib/health/model.ts";
import { FINDING_COLUMNS, findingRows, healthMarkdown } from "./lib/health/report.ts";
import { SCHEDULES } from "./lib/health/schedule-table.ts";
import { readIncidents } from "./lib/notify/state.ts";
import { checkHealth } from "./lib/operations/health.ts";
import { LocalStorage } from "./lib/storage/local.ts";
import { S3Storage } from "./lib/storage/s3.ts";
import { alertPeople, DEFAULT_ALERTS_RESOURCE } from "./lib/windmill/alerts.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { loadDatabase, loadS3Config, loadSettings } from "./lib/windmill/resources.ts";
import { s3OnlyStorage } from "./lib/windmill/storages.ts";

/** The arguments, with main's defaults (test/windmill_arguments.test.ts keeps the two equal). */
export const Args = z.object({
  include_s3: z.boolean().default(false),
  notify: z.boolean().default(true),
  fail_when_unhealthy: z.boolean().default(false),
  grace_minutes: z.number().int().min(0).max(10_080).default(DEFAULT_THRESHOLDS.graceMinutes),
  size_factor: z.number().min(1.1).max(100).default(DEFAULT_THRESHOLDS.sizeFactor),
  row_drop_percent: z.number().min(0).max(100).default(DEFAULT_THRESHOLDS.rowDropPercent),
  row_drop_min_rows: z.number().int().min(0).default(DEFAULT_THRESHOLDS.rowDropMinRows),
  database_resource: z.string().min(1).default("f/admin/database"),
  settings_resource: z.string().min(1).default("f/admin/backup_settings"),
  s3_resource: z.string().min(1).default("f/admin/s3_backup_config"),
  alerts_resource: z.string().min(1).default(DEFAULT_ALERTS_RESOURCE),
});

/** The health check's failure when asked to fail: its findings were already sent to people (the failure handler knows the name). */
export class UnhealthyBackupsError extends BackupError {}

/** Windmill's entry point: the form's (or the flow's) values, forwarded by name. */
export async function main(
  include_s3: boolean = false,
  notify: boolean = true,
  fail_when_unhealthy: boolean = false,
  grace_minutes: number = 60,
  size_factor: number = 2,
  row_drop_percent: number = 20,
  row_drop_min_rows: number = 10,
  database_resource: string = "f/admin/database",
  settings_resource: string = "f/admin/backup_settings",
  s3_resource: string = "f/admin/s3_backup_config",
  alerts_resource: string = "f/admin/backup_alerts",
) {
  return await run({ include_s3, notify, fail_when_unhealthy, grace_minutes, size_factor, row_drop_percent, row_drop_min_rows,
    database_resource, settings_resource, s3_resource, alerts_resource });
}

/** The script as a library call, for other scripts and flows: `input` is checked against Args, its defaults filled in. */
export async function run(input: z.input<typeof Args>, now = new Date()) {
  const args = parseScriptArgs(Args, input);
  const settings = await loadSettings(args.settings_resource);
  const database = await loadDatabase(args.database_resource);
  // The incidents are kept beside the backups: telling people writes there. With local_copy: false
  // the backups are in S3 alone and backup_dir only keeps the incidents, when the worker has it (a
  // missing one only means that repeated alerts are not suppressed).
  const local = settings.local_copy ? new LocalStorage(settings.backup_dir, { access: args.notify ? "write" : "read" }) : undefined;
  const s3 = !settings.local_copy
    ? await s3OnlyStorage(args.settings_resource, args.s3_resource)
    : args.include_s3
    ? new S3Storage(await loadS3Config(args.s3_resource))
    : undefined;
  const stateDirectory = local?.location ?? resolve(settings.backup_dir);
  const open = await readIncidents(stateDirectory, database.dbname).catch(() => ({}));
  const { report } = await checkHealth({
    database,
    timeZone: settings.time_zone,
    local,
    s3,
    schedules: SCHEDULES,
    thresholds: { ...DEFAULT_THRESHOLDS, graceMinutes: args.grace_minutes, sizeFactor: args.size_factor,
      rowDropPercent: args.row_drop_percent, rowDropMinRows: args.row_drop_min_rows },
    openIncidents: Object.values(open).map((i) => ({ key: i.key, openedAt: new Date(i.opened_at) })),
    now,
  });
  const problems = report.findings.flatMap((f) =>
    f.severity === "critical" || f.severity === "warning" ? [{ key: f.key, severity: f.severity, message: f.message }] : []
  );
  const notifications = args.notify
    ? await alertPeople(args.alerts_resource, { stateDirectory, database: database.dbname, problems, evaluated: report.evaluated, now })
    : { status: "not sent (notify: false)" };
  const checkedAt = localTimeLabel(now, settings.time_zone);
  const markdown = healthMarkdown(report, database.dbname, checkedAt);
  if (!report.healthy && args.fail_when_unhealthy) {
    throw new UnhealthyBackupsError(
      `Backups of ${database.dbname} are unhealthy: ${problems.map((p) => p.message).join(" | ")} (notifications: ${notifications.status})`,
    );
  }
  return {
    render_all: [
      { markdown },
      { "table-row-object": [[...FINDING_COLUMNS], ...findingRows(report.findings)] },
      {
        json: { healthy: report.healthy, database: database.dbname, checked_at: checkedAt, problems: problems.length,
          findings: report.findings, notifications },
      },
    ],
  };
}
