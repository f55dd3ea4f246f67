// The schedules of seed 001 as Windmill runs them: valid schedule files, next fire times computed
// with croner's semantics (what cron_version v2 uses) in Toronto across both DST changes, the two
// runs that meet on the spring Sunday both succeeding, and a failed run reaching system_logs on
// both editions (test/support/schedule-runner.ts: the flow's failure module on Community Edition,
// the schedule's error handler too on Enterprise, which must not record it twice).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Cron } from "croner";
import { WindmillYamlValidator } from "windmill-yaml-validator";
import { parse } from "yaml";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { main as backupFailureHandler } from "../f/admin/backup_failure_handler.ts";
import type { Cluster } from "./support/cluster.ts";
import { startSample, type Sample } from "./support/sample.ts";
import { handlerTarget, runSchedule } from "./support/schedule-runner.ts";
import type { WindmillApi } from "./support/windmill-api.ts";
import { startWindmill } from "./support/windmill.ts";

interface ScheduleFile {
  schedule: string;
  timezone: string;
  script_path: string;
  is_flow: boolean;
  on_failure?: string;
  no_flow_overlap?: boolean;
  args: Record<string, unknown>;
}
const schedule = (name: string) => parse(readFileSync(join("schedules", `${name}.schedule.yaml`), "utf8")) as ScheduleFile;

/** Next fire times after `from`, as local wall-clock strings of the schedule's zone. */
function nextRuns(name: string, from: string, count: number): string[] {
  const spec = schedule(name);
  const job = new Cron(spec.schedule, { timezone: spec.timezone, paused: true });
  return job.nextRuns(count, new Date(from)).map((d) =>
    d.toLocaleString("sv-SE", { timeZone: spec.timezone, hour12: false }).replace(" ", "T")
  );
}

test("every schedule file passes Windmill's validator and names scripts that exist", () => {
  const validator = new WindmillYamlValidator();
  const files = readdirSync("schedules").filter((f) => f.endsWith(".schedule.yaml"));
  assert.equal(files.length, 5);
  for (const file of files) {
    const { errors } = validator.validate(readFileSync(join("schedules", file), "utf8"), { type: "schedule" });
    assert.deepEqual(errors, [], file);
    const spec = parse(readFileSync(join("schedules", file), "utf8")) as ScheduleFile;
    const flowOrScript = (path: string | undefined, isFlow: boolean) =>
      path !== undefined && readdirSync("f/admin").includes(path.replace("f/admin/", "") + (isFlow ? "__flow" : ".ts"));
    assert.ok(flowOrScript(spec.script_path, spec.is_flow), `${file}: ${spec.script_path} exists`);
    // backend/windmill-common/src/jobs.rs: a handler path carries its kind, script/ or flow/.
    const handler = handlerTarget(spec.on_failure ?? "");
    assert.equal(handler.kind, "script", file);
    assert.ok(flowOrScript(handler.path, false), `${file}: ${spec.on_failure} exists`);
    // Every schedule runs a flow with a failure module: on Community Edition it is the only code that runs on failure.
    assert.equal(spec.is_flow, true, `${file} runs a flow`);
    assert.match(readFileSync(join("f/admin", `${spec.script_path.replace("f/admin/", "")}__flow`, "flow.yaml"), "utf8"),
      /\n  failure_module:/);
  }
});

const table: Array<[string, string, string[]]> = [
  // An ordinary week in November (EST).
  ["schedule_daily_backup", "2026-11-22T12:00:00Z", ["2026-11-23T02:00:00", "2026-11-24T02:00:00"]],
  ["schedule_weekly_backup", "2026-11-22T12:00:00Z", ["2026-11-29T03:00:00", "2026-12-06T03:00:00"]],
  ["schedule_monthly_backup", "2026-11-22T12:00:00Z", ["2026-12-01T04:00:00", "2027-01-01T04:00:00", "2027-02-01T04:00:00"]],
  // Spring forward, Sunday 8 March 2026: 02:00 does not exist, the daily run fires at 03:00, with the weekly.
  ["schedule_daily_backup", "2026-03-07T12:00:00Z", ["2026-03-08T03:00:00", "2026-03-09T02:00:00"]],
  ["schedule_weekly_backup", "2026-03-07T12:00:00Z", ["2026-03-08T03:00:00", "2026-03-15T03:00:00"]],
  // Fall back, Sunday 1 November 2026: 01:00–02:00 happens twice, 02:00 once; every run fires once.
  ["schedule_daily_backup", "2026-10-31T12:00:00Z", ["2026-11-01T02:00:00", "2026-11-02T02:00:00"]],
  ["schedule_weekly_backup", "2026-10-31T12:00:00Z", ["2026-11-01T03:00:00", "2026-11-08T03:00:00"]],
  // The drill runs on Sundays at 05:00, after the weekly backup (03:00), also on the DST Sundays.
  ["schedule_backup_drill", "2026-03-07T12:00:00Z", ["2026-03-08T05:00:00", "2026-03-15T05:00:00"]],
  ["schedule_backup_drill", "2026-10-31T12:00:00Z", ["2026-11-01T05:00:00"]],
  // The health check runs every hour at a quarter past, through both DST changes (twice in the repeated hour).
  ["schedule_health_check", "2026-03-08T06:00:00Z", ["2026-03-08T01:15:00", "2026-03-08T03:15:00", "2026-03-08T04:15:00"]],
  ["schedule_health_check", "2026-11-01T04:30:00Z", ["2026-11-01T01:15:00", "2026-11-01T01:15:00", "2026-11-01T02:15:00",
    "2026-11-01T03:15:00"]],
  // Day-of-week 7 is Sunday under cron v2 (croner), never Saturday.
  ["schedule_weekly_backup", "2027-01-01T00:00:00Z", ["2027-01-03T03:00:00"]],
];

for (const [name, from, expected] of table) {
  test(`${name} after ${from} fires at ${expected.join(", ")} Toronto time`, () => {
    assert.deepEqual(nextRuns(name, from, expected.length), expected);
  });
}

let sample: Sample;
let cluster: Cluster;
let api: WindmillApi;

before(async () => {
  sample = await startSample("schedules");
  ({ cluster } = sample);
  api = await startWindmill(sample);
});

after(async () => {
  await api?.stop();
  await sample?.stop();
});

test("the daily and weekly runs that meet on the spring Sunday both succeed: one waits for the other", async () => {
  const runs = await Promise.allSettled([
    backupDatabase(schedule("schedule_daily_backup").args.backup_type as "daily", false, true, false),
    backupDatabase(schedule("schedule_weekly_backup").args.backup_type as "weekly", false, true, false),
  ]);
  const [daily, weekly] = runs.map((run) => {
    if (run.status === "rejected") throw run.reason;
    return run.value as { status: string; filename: string };
  });
  assert.equal(daily!.status, "success");
  assert.equal(weekly!.status, "success");
  assert.match(daily!.filename, /_daily_/);
  assert.match(weekly!.filename, /_weekly_/);
});

test("the failure handler records the failure in system_logs and never fails itself", async () => {
  const result = await backupFailureHandler("f/admin/backup_database", "f/admin/schedule_daily_backup", {
    message: "Cannot connect to PostgreSQL",
    name: "BackupError",
  }, 2, "2026-11-22T07:00:00Z");
  assert.equal(result.audit, "written");
  assert.match(result.message, /failed 2 times in a row.*Cannot connect to PostgreSQL/);
  const { rows } = await cluster.query("family_brain",
    "SELECT source, level, message, details FROM public.system_logs WHERE source = 'backup' ORDER BY id DESC LIMIT 1");
  assert.equal(rows[0].level, "error");
  assert.match(rows[0].message, /schedule_daily_backup/);
  assert.equal(rows[0].details.action, "scheduled run");
  assert.equal(rows[0].details.error, "Cannot connect to PostgreSQL");

  sample.configure({}, { "f/admin/database": { ...cluster.resource("family_brain"), port: 1 } });
  const unreachable = await backupFailureHandler("f/admin/backup_database", "f/admin/schedule_daily_backup", { message: "boom" }, 1, "");
  assert.match(unreachable.audit, /^not written: Cannot connect/);
  sample.configure();
});

const failureRows = async () =>
  (await cluster.query("family_brain", "SELECT message FROM public.system_logs WHERE source = 'backup' AND level = 'error' ORDER BY id"))
    .rows.map((r) => r.message as string);

/** Makes the next scheduled backup fail while the database stays reachable: the backup directory cannot be created. */
function breakBackupDirectory(): () => void {
  const settings = api.resources.get("f/admin/backup_settings");
  api.resources.set("f/admin/backup_settings", { backup_dir: "/proc/version/backups" });
  return () => api.resources.set("f/admin/backup_settings", settings);
}

test("Community Edition: a failed scheduled backup is recorded by the flow's failure module (schedule error handlers do not run)", async () => {
  const before = await failureRows();
  const restore = breakBackupDirectory();
  try {
    const run = await runSchedule(api, "schedule_daily_backup", { edition: "ce" });
    assert.equal(run.success, false, "the run shows as failed in Runs");
    assert.equal(run.handler, undefined, "CE runs no schedule error handler");
    assert.equal(run.flow?.error?.step_id, "backup");
    const failure = run.flow?.failure as { status: string; message: string; audit: string };
    assert.equal(failure.status, "failure recorded");
    assert.equal(failure.audit, "written");
    const rows = (await failureRows()).slice(before.length);
    assert.equal(rows.length, 1);
    assert.match(rows[0]!, /f\/admin\/scheduled_backup.*failed/);
  } finally {
    restore();
  }
});

test("Enterprise Edition: the schedule's error handler starts (script/ path) and does not record the failure twice", async () => {
  const before = await failureRows();
  const restore = breakBackupDirectory();
  try {
    const run = await runSchedule(api, "schedule_weekly_backup", { edition: "ee" });
    assert.equal(run.success, false);
    assert.equal(run.disabled, undefined, "the handler path is one Windmill can start");
    assert.ok(run.handler?.success, JSON.stringify(run.handler));
    assert.equal((run.handler.result as { status: string }).status, "already recorded");
    assert.equal((await failureRows()).length - before.length, 1, "one row for one failure");
  } finally {
    restore();
  }
});

test("a scheduled backup that succeeds runs the flow's backup step with the schedule's arguments", async () => {
  const run = await runSchedule(api, "schedule_monthly_backup", { edition: "ce" });
  assert.equal(run.success, true, JSON.stringify(run.flow?.error));
  assert.match((run.flow?.results.backup as { filename: string }).filename, /_monthly_/);
});

test("no_flow_overlap is set only where the schedule runs a flow (Windmill applies it to flows only)", () => {
  for (const file of readdirSync("schedules").filter((f) => f.endsWith(".schedule.yaml"))) {
    const spec = parse(readFileSync(join("schedules", file), "utf8")) as ScheduleFile;
    if (spec.no_flow_overlap) assert.equal(spec.is_flow, true, file);
  }
});
