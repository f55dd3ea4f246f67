// An in-place restore never destroys silently what no backup can hold: a backup made with
// skip_unsupported leaves such objects out (and so would the pre-restore backup), so the preview
// lists them in would_drop, the restore refuses before writing anything, and with
// allow_unrecoverable_drops it goes on and names them in dropped_objects.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { RestoreRefusedError } from "../f/admin/lib/errors.ts";
import { createBackup, type BackupOutcome } from "../f/admin/lib/operations/backup.ts";
import { previewRestore } from "../f/admin/lib/operations/preview.ts";
import { restoreBackup } from "../f/admin/lib/operations/restore.ts";
import { LocalStorage } from "../f/admin/lib/storage/local.ts";
import { BackupSettings, DatabaseResource } from "../f/admin/lib/settings.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";

let cluster: Cluster;
let dir: string;
let storage: LocalStorage;
let settings: BackupSettings;
let backup: BackupOutcome;

/** A comment on an array type: no backup of this version holds it, and dropping its type loses it. */
const LOST = { kind: "comment on", schema: "", name: "type public.mood[]" };

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("app");
  await cluster.query("app", `CREATE TYPE public.mood AS ENUM ('ok', 'sad'); COMMENT ON TYPE public.mood[] IS 'only here';
    CREATE TABLE public.notes (id integer PRIMARY KEY, mood public.mood); INSERT INTO public.notes VALUES (1, 'ok'), (2, 'sad')`);
  dir = mkdtempSync(join(tmpdir(), "wpb-unrecoverable-"));
  storage = new LocalStorage(dir);
  settings = BackupSettings.parse({ backup_dir: dir, dump: { skip_unsupported: true } });
  backup = await createBackup({ database: database(), settings, storage, type: "manual" });
});

after(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function database() {
  return DatabaseResource.parse(cluster.resource("app"));
}

const comment = async () =>
  (await cluster.query("app", "SELECT obj_description('public._mood'::regtype, 'pg_type') AS c")).rows[0].c as string | null;

test("the backup leaves the object out and says so", () => {
  assert.deepEqual(backup.manifest.skipped, ["comment on type public.mood[]"]);
});

test("the preview lists it in would_drop", async () => {
  const preview = await previewRestore({ database: database(), source: storage, backupName: backup.name, targetDatabase: "app" });
  assert.deepEqual(preview.would_drop, [LOST]);
});

test("an in-place restore refuses before writing anything, not even the pre-restore backup", async () => {
  const files = readdirSync(dir).sort();
  await assert.rejects(
    restoreBackup({ database: database(), settings, storage, backupName: backup.name, confirm: true, createPreRestoreBackup: true }),
    (error: unknown) => {
      assert.ok(error instanceof RestoreRefusedError, String(error));
      assert.match(error.message, /comment on type public\.mood\[\]/);
      assert.match(error.message, /allow_unrecoverable_drops: true/);
      return true;
    },
  );
  assert.deepEqual(readdirSync(dir).sort(), files);
  assert.equal(await comment(), "only here");
});

test("a restore into another database is not refused: nothing is lost there", async () => {
  const result = await restoreBackup({
    database: database(),
    settings,
    storage,
    backupName: backup.name,
    confirm: true,
    createPreRestoreBackup: false,
    targetDatabase: "app_copy",
  });
  assert.deepEqual(result.dropped_objects, []);
});

test("allowed, it restores and names what it destroyed", async () => {
  const result = await restoreBackup({
    database: database(),
    settings,
    storage,
    backupName: backup.name,
    confirm: true,
    createPreRestoreBackup: false,
    allowUnrecoverableDrops: true,
  });
  assert.equal(result.verification.passed, true);
  assert.deepEqual(result.dropped_objects, [LOST]);
  assert.equal(await comment(), null);
});
