// The three scripts end to end through `main`, on a real PostgreSQL and real files: the sample
// database round-trips with zero difference, and every refusal or failure leaves it as it was.
import assert from "node:assert/strict";
import { copyFileSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { listBackups } from "./support/listing.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { resealManifest, rewriteMemberHonestly } from "./support/archive-edit.ts";
import type { Cluster } from "./support/cluster.ts";
import { dataFingerprint, schemaText } from "./support/judge.ts";
import { startSample, type Sample } from "./support/sample.ts";

let sample: Sample;
let cluster: Cluster;
let backupDir: string;
const SOURCE = "family_brain";

before(async () => {
  sample = await startSample("roundtrip");
  ({ cluster, backupDir } = sample);
});

after(async () => {
  await sample?.stop();
});

/** The state a refused or failed restore must leave untouched. */
async function snapshotOf(dbname: string) {
  return { schema: schemaText(cluster, dbname), data: await dataFingerprint(cluster, dbname) };
}

async function manualBackup(): Promise<string> {
  const result = await backupDatabase("manual", false, false, false);
  assert.equal(result.status, "success");
  return (result as { filename: string }).filename;
}

test("the seed's backup body writes an archive, its manifest and the seed's result shape", async () => {
  const result = (await backupDatabase("manual", undefined, undefined, false)) as Record<string, unknown>;
  assert.equal(result.status, "success");
  assert.match(String(result.filename), /^family_brain_manual_\d{8}_\d{6}(_\d+)?\.sql\.gz$/);
  assert.equal(result.tables_backed_up, 8);
  const details = result.table_details as Record<string, number>;
  const counts = await cluster.query(SOURCE,
    "SELECT (SELECT count(*) FROM public.tenants)::int AS tenants, (SELECT count(*) FROM public.chat_messages)::int AS messages");
  assert.equal(details.tenants, counts.rows[0].tenants);
  assert.equal(details.chat_messages, counts.rows[0].messages);
  assert.equal(result.total_rows, Object.values(details).reduce((a, b) => a + b, 0));
  assert.ok(Number(result.size_mb) > 0);
  const archive = join(backupDir, String(result.filename));
  assert.equal(statSync(archive).mode & 0o777, 0o600);
  const manifest = JSON.parse(readFileSync(archive.replace(/\.sql\.gz$/, ".manifest.json"), "utf8"));
  assert.equal(manifest.archive.size, statSync(archive).size);
  assert.equal(manifest.tables.length, 8);
  assert.ok(!readdirSync(backupDir).some((name) => name.includes(".tmp")), "no temp file left behind");
});

test("a dry run says what it would dump and writes nothing", async () => {
  const before = readdirSync(backupDir).sort();
  const result = (await backupDatabase("daily", false, true, true)) as Record<string, unknown>;
  assert.equal(result.status, "dry_run");
  assert.equal(result.tables_to_back_up, 8);
  assert.ok(Array.isArray(result.cleanup_would_delete));
  assert.deepEqual(readdirSync(backupDir).sort(), before);
});

test("restore into a new database reproduces schema and data exactly", async () => {
  const name = await manualBackup();
  const result = await restoreDatabase({ backup_filename: name, confirm_restore: true, target_database: "restored_copy" });
  assert.equal(result.status, "success");
  assert.equal(result.created_database, true);
  assert.equal(result.verification.passed, true);
  assert.ok(result.verification.tables.every((t) => t.match && t.expected_rows === t.actual_rows));
  const source = await snapshotOf(SOURCE);
  const restored = await snapshotOf("restored_copy");
  assert.deepEqual(restored.data, source.data);
  if (source.schema !== undefined) assert.equal(restored.schema, source.schema);
});

test("a restore without confirm_restore is refused and changes nothing", async () => {
  const name = await manualBackup();
  const files = readdirSync(backupDir).sort();
  const state = await snapshotOf(SOURCE);
  await assert.rejects(restoreDatabase({ backup_filename: name }), /confirm_restore: true/);
  await assert.rejects(restoreDatabase({ backup_filename: name }), /Nothing was changed/);
  assert.deepEqual(await snapshotOf(SOURCE), state);
  assert.deepEqual(readdirSync(backupDir).sort(), files, "no pre-restore backup for a refused restore");
});

test("a corrupted archive is rejected before anything is touched", async () => {
  const name = await manualBackup();
  const path = join(backupDir, name);
  const bytes = readFileSync(path);
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
  writeFileSync(path, bytes);
  const files = readdirSync(backupDir).sort();
  const state = await snapshotOf(SOURCE);
  await assert.rejects(restoreDatabase({ backup_filename: name, confirm_restore: true }), /does not match its manifest/);
  assert.deepEqual(await snapshotOf(SOURCE), state);
  assert.deepEqual(readdirSync(backupDir).sort(), files);
  // Leave the damaged archive's manifest behind: the next backup of the same second must not trip on it.
  rmSync(path);
});

test("a failure in the middle of an in-place restore leaves the database exactly as it was", async () => {
  const name = await manualBackup();
  // A backup whose post-data section fails after every table's rows are loaded, with a manifest
  // that matches it, so the restore gets past its integrity check and fails halfway.
  const manifestPath = join(backupDir, name.replace(/\.sql\.gz$/, ".manifest.json"));
  rewriteMemberHonestly(join(backupDir, name), manifestPath, (m) => m.sections.post_data,
    (text) => text + "SELECT 1 / 0 AS injected_failure;\n");

  // Into a new database: the database it created is dropped again.
  await assert.rejects(restoreDatabase({ backup_filename: name, confirm_restore: true, target_database: "never_created" }),
    /division by zero/);
  const created = await cluster.query("postgres", "SELECT count(*)::int AS n FROM pg_database WHERE datname = 'never_created'");
  assert.equal(created.rows[0].n, 0);

  // In place: the database is exactly as it was, including what the backup does not have.
  await cluster.query(SOURCE, "CREATE TABLE public.added_later (id int PRIMARY KEY, note text)");
  await cluster.query(SOURCE, "INSERT INTO public.added_later VALUES (1, 'kept by the rollback')");
  try {
    const state = await snapshotOf(SOURCE);
    await assert.rejects(restoreDatabase({ backup_filename: name, confirm_restore: true, create_pre_restore_backup: false }),
      /post-data section failed.*division by zero/);
    assert.deepEqual(await snapshotOf(SOURCE), state);
  } finally {
    await cluster.query(SOURCE, "DROP TABLE public.added_later");
  }
});

test("an in-place restore takes a pre-restore backup and drops objects created after the backup", async () => {
  await cluster.query(SOURCE,
    "CREATE FUNCTION public.add_numbers(a integer, b integer) RETURNS integer LANGUAGE sql IMMUTABLE RETURN a + b");
  const original = await snapshotOf(SOURCE);
  const name = await manualBackup();
  await cluster.query(SOURCE, `
    CREATE SCHEMA scratch; CREATE TABLE scratch.notes (id int);
    CREATE TABLE public.added_later (id int); DELETE FROM public.ai_usage WHERE id % 2 = 0;`);
  const result = await restoreDatabase({ backup_filename: name, confirm_restore: true });
  assert.equal(result.verification.passed, true);
  assert.ok(result.pre_restore_backup, "the pre-restore backup is named");
  assert.match(String(result.pre_restore_backup), /^family_brain_pre_restore_/);
  assert.ok(readdirSync(backupDir).includes(String(result.pre_restore_backup)));
  assert.deepEqual(result.rollback_request?.backup_filename, result.pre_restore_backup);
  // Only what the archive does not create again is reported lost (not the function, nor the tables).
  assert.deepEqual([...result.dropped_objects].sort(), ["schema scratch", "table public.added_later"]);
  assert.deepEqual(await snapshotOf(SOURCE), original);

  // The pre-restore backup holds the state before the restore: rolling back brings added_later back.
  const rollback = await restoreDatabase({ backup_filename: String(result.pre_restore_backup), confirm_restore: true,
    create_pre_restore_backup: false, target_database: "rolled_back" });
  assert.equal(rollback.verification.passed, true);
  const tables = await cluster.query("rolled_back",
    "SELECT to_regclass('public.added_later') IS NOT NULL AS here, to_regclass('scratch.notes') IS NOT NULL AS scratch");
  assert.deepEqual(tables.rows[0], { here: true, scratch: true });
});

test("list_backups shows every backup, newest first, with its tables and rows", async () => {
  const newest = await manualBackup();
  const rows = await listBackups(false);
  assert.ok(rows.length >= 3);
  assert.equal(rows[0]!.name, newest);
  const times = rows.map((r) => r.created_at);
  assert.deepEqual(times, [...times].sort().reverse());
  assert.equal(rows[0]!.tables, 8);
  assert.ok(Number(rows[0]!.rows) > 1000);
  const verified = await listBackups(false, "manual", true);
  assert.ok(verified.every((r) => r.type === "manual"));
  assert.match(String(verified[0]!.verified), /^yes/);
});

test("cleanup after a successful backup deletes expired backups only, never foreign files or the newest", async () => {
  const source = await manualBackup();
  const stem = (name: string) => name.replace(/\.sql\.gz$/, "");
  const plant = (name: string, createdAt: string) => {
    copyFileSync(join(backupDir, source), join(backupDir, name));
    copyFileSync(join(backupDir, `${stem(source)}.manifest.json`), join(backupDir, `${stem(name)}.manifest.json`));
    resealManifest(join(backupDir, `${stem(name)}.manifest.json`), (manifest) => {
      manifest.archive.name = name;
      manifest.created_at = createdAt;
      manifest.backup_type = "daily";
    });
  };
  const day = 86_400_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const stamp = (ms: number) => iso(ms).slice(0, 19).replace(/-|:/g, "").replace("T", "_");
  const expired = `family_brain_daily_${stamp(Date.now() - 20 * day)}.sql.gz`;
  const recent = `family_brain_daily_${stamp(Date.now() - 2 * day)}.sql.gz`;
  plant(expired, iso(Date.now() - 20 * day));
  plant(recent, iso(Date.now() - 2 * day));
  writeFileSync(join(backupDir, "family_brain_daily_20200101_020000.dump"), "not ours");
  writeFileSync(join(backupDir, "notes.txt"), "not ours either");

  const result = (await backupDatabase("daily", false, true, false)) as { cleanup: { deleted: string[] }; filename: string };
  assert.deepEqual(result.cleanup.deleted, [expired]);
  const files = readdirSync(backupDir);
  assert.ok(!files.includes(expired) && !files.includes(`${stem(expired)}.manifest.json`));
  for (const kept of [recent, result.filename, "notes.txt", "family_brain_daily_20200101_020000.dump"]) {
    assert.ok(files.includes(kept), `${kept} is kept`);
  }
});

test("runs on one database never overlap: a second one waits, then fails naming the holder", async () => {
  const holder = await cluster.connect(SOURCE);
  await holder.query("SET application_name = 'nightly-migration'");
  await holder.query("SELECT pg_advisory_lock(2003855202, 1)"); // the bundle's lock ("wpgb", 1)
  const files = readdirSync(backupDir).sort();
  sample.configure({ lock_wait_seconds: 1 });
  try {
    const started = Date.now();
    await assert.rejects(backupDatabase("daily", false, true, false),
      /Another backup, restore or cleanup is running on this database \(session \d+ "nightly-migration"/);
    assert.ok(Date.now() - started >= 900, "it waited for the lock first");
    await assert.rejects(restoreDatabase({ backup_filename: files.find((f) => f.endsWith(".sql.gz"))!, confirm_restore: true }),
      /Another backup, restore or cleanup/);
    assert.deepEqual(readdirSync(backupDir).sort(), files, "nothing written, nothing deleted");
  } finally {
    await holder.end();
    sample.configure();
  }
});

test("a restore over a database whose tables the app holds locked gives up, rolls back and says why", async () => {
  const name = await manualBackup();
  sample.configure({ lock_timeout_seconds: 1 });
  const app = await cluster.connect(SOURCE);
  try {
    await app.query("BEGIN");
    await app.query("SELECT count(*) FROM public.chat_messages"); // an open transaction keeps its ACCESS SHARE lock
    const state = await snapshotOf(SOURCE);
    await assert.rejects(restoreDatabase({ backup_filename: name, confirm_restore: true, create_pre_restore_backup: false }),
      /rolled back and changed nothing: another session kept a lock.*stop the app/);
    assert.deepEqual(await snapshotOf(SOURCE), state);
  } finally {
    await app.end();
    sample.configure();
  }
});

test("fail_if_busy: an interactive backup or restore is told at once that another run holds the database", async () => {
  const holder = await cluster.connect(SOURCE);
  await holder.query("SET application_name = 'weekly backup'");
  await holder.query("SELECT pg_advisory_lock(2003855202, 1)");
  try {
    const started = Date.now();
    await assert.rejects(
      backupDatabase("manual", false, false, false, undefined, undefined, undefined, true),
      /Another backup, restore or cleanup is running on this database \(session \d+ "weekly backup"/,
    );
    assert.ok(Date.now() - started < 5000, "without waiting the default 600 s");
    const archive = readdirSync(backupDir).find((f) => f.startsWith("family_brain_manual_") && f.endsWith(".sql.gz"))!;
    await assert.rejects(
      restoreDatabase({ backup_filename: archive, confirm_restore: true, fail_if_busy: true }),
      /Another backup, restore or cleanup is running/,
    );
    assert.ok(Date.now() - started < 10000, "the restore did not wait either");
  } finally {
    await holder.end();
  }
});
