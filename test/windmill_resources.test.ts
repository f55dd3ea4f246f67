// Configuration at the border: resources read through the mock file (an absent optional one gives
// the defaults, a wrong field is named), templates and schedules that cannot drift from the code,
// and secrets that never reach an error or a result.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse } from "yaml";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { BackupSettings, DatabaseResource, DEFAULT_BACKUP_DIR } from "../f/admin/lib/settings.ts";
import { loadDatabase, loadSettings } from "../f/admin/lib/windmill/resources.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { mockWindmill } from "./support/judge.ts";

let dir: string;
let cluster: Cluster;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "wpb-resources-"));
  cluster = await startCluster();
});

after(async () => {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("an absent settings resource gives the documented defaults", async () => {
  mockWindmill(dir, { "f/admin/database": { host: "h", user: "u", dbname: "d" } });
  const settings = await loadSettings();
  assert.equal(settings.backup_dir, DEFAULT_BACKUP_DIR);
  assert.equal(settings.prefix, undefined, "new backups take the database's name");
  assert.equal(settings.time_zone, "America/Toronto");
  assert.deepEqual(settings.retention, { daily_days: 7, weekly_weeks: 4, monthly_months: 12, manual_days: 30 });
  const database = await loadDatabase();
  assert.equal(database.port, 5432);
  assert.equal(database.sslmode, "prefer");
});

test("a wrong field is named, with the resource to fix", async () => {
  mockWindmill(dir, { "f/admin/backup_settings": { time_zone: "Mars/Olympus", retention: { daily_days: 0 } } });
  await assert.rejects(loadSettings(), (error: Error) => {
    assert.match(error.message, /f\/admin\/backup_settings/);
    assert.match(error.message, /time_zone/);
    assert.match(error.message, /retention\.daily_days/);
    return true;
  });
  mockWindmill(dir, { "f/admin/database": { host: "h", port: "not a port", user: "u", dbname: "d" } });
  await assert.rejects(loadDatabase(), /f\/admin\/database is not valid \(port/);
});

test("settings out of range, relative paths and unknown fields are refused up front, naming the field", async () => {
  const refused = async (settings: Record<string, unknown>, field: RegExp) => {
    mockWindmill(dir, { "f/admin/backup_settings": settings });
    await assert.rejects(loadSettings(), (error: Error) => {
      assert.match(error.message, /Resource f\/admin\/backup_settings is not valid/);
      assert.match(error.message, field);
      return true;
    });
  };
  await refused({ lock_wait_seconds: 10_000_000 }, /lock_wait_seconds: at most 86400 s/);
  await refused({ lock_wait_seconds: -1 }, /lock_wait_seconds: at least 0 s/);
  await refused({ lock_timeout_seconds: 0 }, /lock_timeout_seconds: at least 0.001 s/);
  await refused({ lock_timeout_seconds: 1e9 }, /lock_timeout_seconds: at most 3600 s/);
  await refused({ backup_dir: "backups" }, /backup_dir: an absolute path/);
  await refused({ lock_timeout: 5 }, /unknown field "lock_timeout"/);
  await refused({ retention: { daily: 3 } }, /unknown field "retention.daily"/);
  await refused({ dump: { exclude_table: ["public.x"] } }, /unknown field "dump.exclude_table"/);
  // A backup with such settings fails before it connects or writes anything.
  mockWindmill(dir, { "f/admin/database": cluster.resource("postgres"),
    "f/admin/backup_settings": { backup_dir: join(dir, "refused"), compresion_level: 9 } });
  await assert.rejects(backupDatabase(), /unknown field "compresion_level"/);
  assert.deepEqual(readdirSync(join(dir, "refused")), [], "nothing written");
});

test("a missing database resource says so and how to fix it", async () => {
  mockWindmill(dir, {});
  await assert.rejects(loadDatabase(), /Resource f\/admin\/database .*does not exist.*Create it in Windmill/);
  await assert.rejects(loadDatabase("f/admin/other"), /f\/admin\/other/);
});

test("a wrong password fails clearly, and the password appears in no error", async () => {
  const secret = "S3cr3t-p4ssw0rd-never-logged";
  mockWindmill(dir, {
    "f/admin/database": { ...cluster.resource("postgres"), password: secret },
    "f/admin/backup_settings": { backup_dir: join(dir, "backups") },
  });
  await assert.rejects(backupDatabase("manual", false, true, false), (error: Error) => {
    assert.match(error.message, /Cannot connect to PostgreSQL database "postgres" at 127\.0\.0\.1:\d+ as postgres/);
    assert.match(error.message, /password authentication failed/);
    assert.ok(!error.message.includes(secret) && !String(error.stack).includes(secret));
    return true;
  });
});

test("a successful backup's result carries no secret", async () => {
  mockWindmill(dir, { "f/admin/database": cluster.resource("postgres"), "f/admin/backup_settings": { backup_dir: join(dir, "backups") } });
  const result = await backupDatabase("manual", false, false, false);
  assert.equal(result.status, "success");
  const text = JSON.stringify(result);
  assert.ok(!text.includes(cluster.password), "the password is not in the result");
  const files = readdirSync(join(dir, "backups"));
  for (const file of files) {
    assert.ok(!file.includes(cluster.password));
    assert.ok(!readFileSync(join(dir, "backups", file)).includes(cluster.password), `${file} does not contain the password`);
  }
});

test("the resource templates parse with the same schemas as the scripts, and the settings template shows the defaults", () => {
  const template = (name: string) => parse(readFileSync(join("resources", name), "utf8")) as { value: unknown; resource_type: string };
  assert.deepEqual(BackupSettings.parse(template("backup_settings.resource.yaml").value), BackupSettings.parse({}));
  const database = template("database.resource.yaml");
  assert.equal(database.resource_type, "postgresql");
  assert.ok(DatabaseResource.safeParse(database.value).success);
  assert.match(String((database.value as { password: string }).password), /^\$var:/, "the password is a variable reference");
});

test("the schedules are the seed's, in Toronto time, with arguments backup_database accepts", () => {
  const expected: Record<string, string> = { daily: "0 0 2 * * *", weekly: "0 0 3 * * 7", monthly: "0 0 4 1 * *" };
  for (const [type, cron] of Object.entries(expected)) {
    const schedule = parse(readFileSync(join("schedules", `schedule_${type}_backup.schedule.yaml`), "utf8")) as Record<string, unknown>;
    assert.equal(schedule.schedule, cron);
    assert.equal(schedule.timezone, "America/Toronto");
    assert.equal(schedule.cron_version, "v2");
    // backup_database, through the flow whose failure module records a failure on every edition.
    assert.equal(schedule.script_path, "f/admin/scheduled_backup");
    assert.equal(schedule.is_flow, true);
    assert.equal(schedule.enabled, true);
    const args = schedule.args as Record<string, unknown>;
    assert.equal(args.backup_type, type);
    const flow = parse(readFileSync("f/admin/scheduled_backup__flow/flow.yaml", "utf8")) as {
      schema: { properties: Record<string, unknown> };
    };
    const metadata = parse(readFileSync("f/admin/backup_database.script.yaml", "utf8")) as {
      schema: { properties: Record<string, unknown> };
    };
    for (const name of Object.keys(args)) {
      assert.ok(name in flow.schema.properties, `${name} is an input of the scheduled_backup flow`);
      assert.ok(name in metadata.schema.properties, `${name} is an argument of backup_database`);
    }
  }
});
