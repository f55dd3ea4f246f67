// The audit trail in the app's system_logs: who and which job, what, outcome, size and location, for
// backups, cleanups and restores (into the restored database, after the restore), columns found by
// name, and never a failed job or a silent skip because of it.
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { auditInsert, readAuditRows } from "../f/admin/lib/engine/audit-log.ts";
import { auditEvent } from "../f/admin/lib/operations/health.ts";
import { auditValues } from "../f/admin/lib/windmill/audit.ts";
import type { Cluster } from "./support/cluster.ts";
import { mockWindmill } from "./support/judge.ts";
import { startSample, type Sample } from "./support/sample.ts";

let sample: Sample;
let cluster: Cluster;
let dir: string;
const saved = { ...process.env };

before(async () => {
  sample = await startSample("audit");
  ({ cluster, dir } = sample);
  Object.assign(process.env, { WM_USERNAME: "alice", WM_EMAIL: "alice@family.example", WM_JOB_ID: "0193-job-1" });
});

after(async () => {
  for (const key of ["WM_USERNAME", "WM_EMAIL", "WM_JOB_ID"]) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  await sample?.stop();
});

const auditRows = async (db: string) =>
  (await cluster.query(db, "SELECT level, message, details FROM public.system_logs WHERE source = 'backup' ORDER BY id")).rows as Array<
    { level: string; message: string; details: Record<string, unknown> }
  >;

test("a backup and its cleanup each write a row: who, which job, what, outcome, size, location", async () => {
  const before = (await auditRows("family_brain")).length;
  const result = (await backupDatabase("manual", false, true, false)) as { filename: string; audit: string; cleanup_audit: string };
  assert.equal(result.audit, "written");
  assert.equal(result.cleanup_audit, "written");
  const rows = (await auditRows("family_brain")).slice(before);
  assert.equal(rows.length, 2);
  const [backup, cleanup] = rows;
  assert.equal(backup!.level, "info");
  assert.match(backup!.message, new RegExp(`manual backup ${result.filename}: 8 tables, \\d+ rows`));
  assert.equal(backup!.details.action, "backup");
  assert.equal(backup!.details.outcome, "success");
  assert.equal(backup!.details.email, "alice@family.example");
  assert.equal(backup!.details.job_id, "0193-job-1");
  assert.equal(backup!.details.filename, result.filename);
  assert.equal(backup!.details.location, "local");
  assert.ok(Number(backup!.details.size_mb) > 0);
  // What the health check reads back: the type, the exact size, how long it took, when.
  assert.equal(backup!.details.backup_type, "manual");
  assert.equal(backup!.details.size_bytes, statSync(join(sample.backupDir, result.filename)).size);
  assert.ok(typeof backup!.details.duration_seconds === "number" && backup!.details.duration_seconds >= 0);
  assert.ok(!Number.isNaN(Date.parse(String(backup!.details.at))));
  assert.equal(cleanup!.details.action, "cleanup");
});

test("the health check reads the audit rows back as events: action, outcome, type, backup, time", async () => {
  const started = Date.now();
  const result = (await backupDatabase("weekly", false, false, false)) as { filename: string };
  const ended = Date.now();
  const client = await cluster.connect("family_brain");
  let rows;
  try {
    rows = await readAuditRows(client, 5);
  } finally {
    await client.end();
  }
  assert.ok(Array.isArray(rows), String(rows));
  const events = rows.map(auditEvent).filter((e) => e !== undefined);
  const event = events.find((e) => e.backup === result.filename);
  assert.ok(event, JSON.stringify(events));
  assert.equal(event.action, "backup");
  assert.equal(event.outcome, "success");
  assert.equal(event.backupType, "weekly");
  assert.ok(event.at.getTime() >= started && event.at.getTime() <= ended, "dated when the backup ran");
});

test("a restore writes its row after the restore, into the restored database", async () => {
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string };
  const sourceRows = (await auditRows("family_brain")).length;
  const result = await restoreDatabase({ backup_filename: backup.filename, confirm_restore: true, target_database: "family_brain_copy" });
  assert.equal(result.audit, "written");
  const rows = await auditRows("family_brain_copy");
  const last = rows.at(-1)!;
  assert.equal(last.details.action, "restore");
  assert.match(last.message, new RegExp(`restored ${backup.filename} into family_brain_copy: 8 tables, verification passed`));
  assert.equal((await auditRows("family_brain")).length, sourceRows, "the source is never touched");
});

test("a failed backup writes a failure row and still fails", async () => {
  const holder = await cluster.connect("family_brain");
  await holder.query("SELECT pg_advisory_lock(2003855202, 1)");
  sample.configure({ lock_wait_seconds: 0 });
  try {
    await assert.rejects(backupDatabase("daily", false, true, false), /Another backup, restore or cleanup is running/);
  } finally {
    await holder.end();
    sample.configure();
  }
  const last = (await auditRows("family_brain")).at(-1)!;
  assert.equal(last.level, "error");
  assert.equal(last.details.outcome, "failure");
  assert.match(last.message, /^backup failed: Another backup/);
  assert.equal(last.details.backup_type, "daily", "a failed run says which type failed: the health check's failed-run finding needs it");
});

test("without a system_logs table, or with one it cannot fill, the job succeeds and says why", async () => {
  await cluster.createDatabase("no_logs");
  await cluster.query("no_logs", "CREATE TABLE public.notes (id int PRIMARY KEY)");
  mockWindmill(dir, { "f/admin/database": cluster.resource("no_logs"), "f/admin/backup_settings": { backup_dir: join(dir, "backups") } });
  let result = (await backupDatabase("manual", false, false, false)) as { status: string; audit: string };
  assert.equal(result.status, "success");
  assert.equal(result.audit, 'not written: database "no_logs" has no system_logs table');

  await cluster.query("no_logs", "CREATE TABLE public.system_logs (id serial, tenant_id int NOT NULL, message text)");
  result = (await backupDatabase("manual", false, false, false)) as { status: string; audit: string };
  assert.equal(result.status, "success");
  assert.equal(result.audit, "not written: system_logs requires column(s) tenant_id that the audit cannot fill");
  sample.configure();
});

test("columns are filled by name and type; JSON goes to json columns", () => {
  const values = auditValues({ action: "backup", outcome: "success", message: "m", details: { size_mb: 1 } }, { user: "bob", email: null,
    job_id: "j" });
  const insert = auditInsert('"app"."system_logs"', [
    { name: "id", type: "bigint", required: false },
    { name: "event_type", type: "text", required: true },
    { name: "actor", type: "character varying(100)", required: false },
    { name: "payload", type: "jsonb", required: false },
    { name: "msg", type: "text", required: false },
  ], values);
  assert.ok(typeof insert !== "string");
  assert.equal(insert.sql,
    'INSERT INTO "app"."system_logs" ("event_type", "actor", "payload", "msg") VALUES ($1::text, $2::character varying(100), $3::jsonb, $4::text)');
  assert.deepEqual(insert.params.slice(0, 2), ["backup", "bob"]);
  assert.equal(JSON.parse(String(insert.params[2])).size_mb, 1);
  assert.equal(insert.params[3], "m");
  assert.equal(auditInsert("t", [{ name: "id", type: "int", required: false }], values),
    "system_logs has no message or details column to write to");
});
