// A new user's mistakes read as mistakes, never as success: a backup directory that is not there
// (a volume not mounted on the worker) fails the backup and the listing, and nothing creates it
// unless create_backup_dir says so; no read-only script creates anything.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { listBackups } from "./support/listing.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { resealManifest } from "./support/archive-edit.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";

let cluster: Cluster;
let dir: string;

/** The mock a user writes: the backup directory exactly as given, nothing made for it. */
function mock(settings: Record<string, unknown>): void {
  const file = join(dir, "mock.json");
  writeFileSync(file,
    JSON.stringify({ resources: { "f/admin/database": cluster.resource("app"), "f/admin/backup_settings": settings }, variables: {} }));
  process.env.WM_MOCKED_API_FILE = file;
}

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("app");
  await cluster.query("app", "CREATE TABLE public.notes (id int PRIMARY KEY, body text); INSERT INTO public.notes VALUES (1, 'first')");
  dir = mkdtempSync(join(tmpdir(), "wpb-first-run-"));
});

after(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("a backup directory that does not exist fails the backup, the listing and a restore, naming the fix; nothing creates it", async () => {
  const missing = join(dir, "volume-not-mounted", "backups");
  mock({ backup_dir: missing });
  const expected = new RegExp(
    `The backup directory ${missing} does not exist\\..*mount the backup volume at this path on every worker.*create_backup_dir: true`,
  );
  await assert.rejects(backupDatabase("manual", false, false, false), expected);
  await assert.rejects(backupDatabase("manual", false, false, true), expected, "a dry run too");
  await assert.rejects(listBackups(false), expected, "the list says so instead of showing no backups");
  await assert.rejects(restoreDatabase({ backup_filename: "app_manual_20261201_000000.sql.gz", dry_run: true }), expected);
  assert.equal(existsSync(join(dir, "volume-not-mounted")), false, "nothing was created");
});

test("create_backup_dir: true creates the directory for a backup; a listing still never creates one", async () => {
  const wanted = join(dir, "made-for-me");
  mock({ backup_dir: wanted, create_backup_dir: true });
  await assert.rejects(listBackups(false), /does not exist/);
  assert.equal(existsSync(wanted), false);
  const backup = (await backupDatabase("manual", false, false, false)) as { status: string; filename: string };
  assert.equal(backup.status, "success");
  assert.ok(readdirSync(wanted).includes(backup.filename));
  assert.equal((await listBackups(false)).length, 1);
});

test("a relative backup_dir is refused before anything connects", async () => {
  mock({ backup_dir: "backups" });
  await assert.rejects(backupDatabase("manual", false, false, false), /backup_dir.*an absolute path/);
});

test("new backups are named after the database; backups named otherwise (an older prefix) are still listed and restored", async () => {
  const backups = join(dir, "named");
  mkdirSync(backups);
  mock({ backup_dir: backups });
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string };
  assert.match(backup.filename, /^app_manual_\d{8}_\d{6}\.sql\.gz$/);
  // The same backup as an earlier version named it (prefix family_brain).
  const older = backup.filename.replace(/^app_/, "family_brain_");
  copyFileSync(join(backups, backup.filename), join(backups, older));
  copyFileSync(join(backups, backup.filename.replace(/\.sql\.gz$/, ".manifest.json")),
    join(backups, older.replace(/\.sql\.gz$/, ".manifest.json")));
  resealManifest(join(backups, older.replace(/\.sql\.gz$/, ".manifest.json")), (m) => {
    m.archive.name = older;
  });
  const listed = await listBackups(false);
  assert.deepEqual(listed.map((r) => r.name).sort(), [backup.filename, older].sort());
  await cluster.query("app", "UPDATE public.notes SET body = 'changed'");
  const restored = await restoreDatabase({ backup_filename: older, confirm_restore: true, create_pre_restore_backup: false });
  assert.equal((restored as { verification: { passed: boolean } }).verification.passed, true);
  assert.equal((await cluster.query("app", "SELECT body FROM public.notes")).rows[0].body, "first");
});
