// What a backup covers, from backup_settings.dump: the rows of chosen tables left out (their
// definitions kept), owners and privileges carried over, objects the engine cannot reproduce
// skipped only when asked and then named in the result and the manifest.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { mockWindmill } from "./support/judge.ts";

let cluster: Cluster;
let dir: string;

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("app");
  await cluster.query("app", `
    CREATE ROLE app_reader;
    CREATE TABLE public.notes (id int PRIMARY KEY, body text);
    CREATE TABLE public.error_logs (id int PRIMARY KEY, message text);
    INSERT INTO public.notes VALUES (1, 'keep me'), (2, 'me too');
    INSERT INTO public.error_logs SELECT g, 'noise ' || g FROM generate_series(1, 500) g;
    GRANT SELECT ON public.notes TO app_reader;
    GRANT SELECT (id) ON public.error_logs TO app_reader;`);
  dir = mkdtempSync(join(tmpdir(), "wpb-scope-"));
});

after(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const settings = (dump: Record<string, unknown>) =>
  mockWindmill(dir, { "f/admin/database": cluster.resource("app"), "f/admin/backup_settings": { backup_dir: join(dir, "backups"), dump } });

const grants = async (db: string) =>
  (await cluster.query(db, `SELECT table_name, privilege_type FROM information_schema.role_table_grants WHERE grantee = 'app_reader'
     UNION ALL SELECT table_name || '.' || column_name, privilege_type FROM information_schema.column_privileges WHERE grantee = 'app_reader' ORDER BY 1, 2`))
    .rows;

test("by default: everything, with owners and privileges, and the result says so", async () => {
  settings({});
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string; table_details: Record<string, number>;
    scope: { covers: string; with: string } };
  assert.deepEqual(backup.scope, { covers: "the whole database", with: "privileges", skipped_objects: [] });
  assert.deepEqual(backup.table_details, { notes: 2, error_logs: 500 });
  await restoreDatabase({ backup_filename: backup.filename, confirm_restore: true, target_database: "copy_default" });
  const counts = await cluster.query("copy_default",
    "SELECT (SELECT count(*) FROM public.notes)::int AS notes, (SELECT count(*) FROM public.error_logs)::int AS logs");
  assert.deepEqual(counts.rows[0], { notes: 2, logs: 500 });
  assert.deepEqual(await grants("copy_default"), await grants("app"));
  assert.ok((await grants("app")).length >= 2);
});

test("privileges: false leaves owners and grants out, and the result says so", async () => {
  settings({ privileges: false });
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string; scope: { covers: string; with: string } };
  assert.equal(backup.scope.with, "no owners, privileges, roles or database settings");
  await restoreDatabase({ backup_filename: backup.filename, confirm_restore: true, target_database: "copy_no_privileges" });
  assert.deepEqual(await grants("copy_no_privileges"), []);
});

test("exclude_table_data keeps a table's definition but not its rows; privileges come back when asked", async () => {
  settings({ exclude_table_data: ["public.error_logs"], privileges: true });
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string; table_details: Record<string, number>;
    scope: { covers: string; with: string } };
  assert.match(backup.scope.covers, /exclude_table_data: public\.error_logs/);
  assert.equal(backup.scope.with, "privileges");
  const manifest = JSON.parse(readFileSync(join(dir, "backups", backup.filename.replace(/\.sql\.gz$/, ".manifest.json")), "utf8"));
  assert.deepEqual(manifest.scope.exclude_table_data, ["public.error_logs"]);
  const restored = await restoreDatabase({ backup_filename: backup.filename, confirm_restore: true, target_database: "copy_scoped" });
  assert.equal(restored.verification.passed, true);
  const counts = await cluster.query("copy_scoped",
    "SELECT (SELECT count(*) FROM public.notes)::int AS notes, (SELECT count(*) FROM public.error_logs)::int AS logs");
  assert.deepEqual(counts.rows[0], { notes: 2, logs: 0 });
  assert.deepEqual(await grants("copy_scoped"), await grants("app"));
  assert.ok((await grants("app")).length >= 2);
});

test("an object the engine cannot reproduce is refused, or with skip_unsupported left out and named", async () => {
  await cluster.query("app",
    "CREATE SUBSCRIPTION dummy_subscription CONNECTION 'dbname=nowhere' PUBLICATION p WITH (connect = false, slot_name = NONE, enabled = false)");
  try {
    settings({});
    await assert.rejects(backupDatabase("manual", false, false, false), /cannot reproduce.*dummy_subscription/);
    settings({ skip_unsupported: true });
    const backup = (await backupDatabase("manual", false, false, false)) as { filename: string; scope: { skipped_objects: string[] } };
    assert.ok(backup.scope.skipped_objects.some((o) => o.includes("dummy_subscription")), backup.scope.skipped_objects.join("; "));
    const manifest = JSON.parse(readFileSync(join(dir, "backups", backup.filename.replace(/\.sql\.gz$/, ".manifest.json")), "utf8"));
    assert.ok(manifest.skipped.some((o: string) => o.includes("dummy_subscription")));
  } finally {
    await cluster.query("app", "DROP SUBSCRIPTION dummy_subscription");
  }
});
