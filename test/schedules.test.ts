// The schedules of seed 001 as Windmill runs them: valid schedule files, next fire times computed
// with croner's semantics (what cron_version v2 uses) in Toronto across both DST changes, the two
// runs that meet on the spring Sunday both succeeding, and the failure handler's audit row.
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

interface ScheduleFile { schedule: string; timezone: string; script_path: string; is_flow: boolean; on_failure?: string; args: Record<string, unknown> }
const schedule = (name: string) => parse(readFileSync(join("schedules", `${name}.schedule.yaml`), "utf8")) as ScheduleFile;

/** Next fire times after `from`, as local wall-clock strings of the schedule's zone. */
function nextRuns(name: string, from: string, count: number): string[] {
  const spec = schedule(name);
  const job = new Cron(spec.schedule, { timezone: spec.timezone, paused: true });
  return job.nextRuns(count, new Date(from)).map((d) =>
    d.toLocaleString("sv-SE", { timeZone: spec.timezone, hour12: false }).replace(" ", "T"));
}

test("every schedule file passes Windmill's validator and names scripts that exist", () => {
  const validator = new WindmillYamlValidator();
  const files = readdirSync("schedules").filter((f) => f.endsWith(".schedule.yaml"));
  assert.equal(files.length, 4);
  for (const file of files) {
    const { errors } = validator.validate(readFileSync(join("schedules", file), "utf8"), { type: "schedule" });
    assert.deepEqual(errors, [], file);
    const spec = parse(readFileSync(join("schedules", file), "utf8")) as ScheduleFile;
    const flowOrScript = (path: string | undefined, isFlow: boolean) =>
      path !== undefined && readdirSync("f/admin").includes(path.replace("f/admin/", "") + (isFlow ? "__flow" : ".ts"));
    assert.ok(flowOrScript(spec.script_path, spec.is_flow), `${file}: ${spec.script_path} exists`);
    assert.ok(flowOrScript(spec.on_failure, false), `${file}: ${spec.on_failure} exists`);
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

before(async () => {
  sample = await startSample("schedules");
  ({ cluster } = sample);
});

after(async () => {
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
  const result = await backupFailureHandler("f/admin/backup_database", "f/admin/schedule_daily_backup",
    { message: "Cannot connect to PostgreSQL", name: "BackupError" }, 2, "2026-11-22T07:00:00Z");
  assert.equal(result.audit, "written");
  assert.match(result.message, /failed 2 time\(s\) in a row.*Cannot connect to PostgreSQL/);
  const { rows } = await cluster.query("family_brain", "SELECT source, level, message, details FROM public.system_logs WHERE source = 'backup' ORDER BY id DESC LIMIT 1");
  assert.equal(rows[0].level, "error");
  assert.match(rows[0].message, /schedule_daily_backup/);
  assert.equal(rows[0].details.action, "scheduled run");
  assert.equal(rows[0].details.error, "Cannot connect to PostgreSQL");

  sample.configure({}, { "f/admin/database": { ...cluster.resource("family_brain"), port: 1 } });
  const unreachable = await backupFailureHandler("f/admin/backup_database", "f/admin/schedule_daily_backup", { message: "boom" }, 1, "");
  assert.match(unreachable.audit, /^not written: Cannot connect/);
  sample.configure();
});
