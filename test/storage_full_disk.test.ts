// A full disk in the middle of a backup: the backup fails with a message that says so, and leaves
// nothing behind (no archive under a final name, no temp file), and the next run works again.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { createFamilyBrainDatabase } from "./support/family-brain.ts";
import { mockWindmill } from "./support/judge.ts";

let cluster: Cluster;
let dir: string;
let disk: string;
let mounted = false;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "wpb-full-"));
  disk = join(dir, "disk");
  spawnSync("mkdir", ["-p", disk]);
  // A 256 KiB file system: the sample database's archive (about 550 KiB) cannot fit.
  mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", disk]).status === 0;
  if (!mounted) return;
  cluster = await startCluster();
  await cluster.createDatabase("family_brain");
  const client = await cluster.connect("family_brain");
  await createFamilyBrainDatabase(client);
  await client.end();
});

after(async () => {
  await cluster?.stop();
  if (mounted) spawnSync("umount", [disk]);
  rmSync(dir, { recursive: true, force: true });
});

test("a backup that fills the disk fails clearly and leaves no partial file", async (t) => {
  if (!mounted) return t.skip("cannot mount a small tmpfs here (needs root)");
  mockWindmill(dir, { "f/admin/database": cluster.resource("family_brain"), "f/admin/backup_settings": { backup_dir: disk } });
  await assert.rejects(backupDatabase("manual", false, true, false), /ran out of space while writing family_brain_manual_.*nothing was kept/);
  assert.deepEqual(readdirSync(disk), [], "nothing left on the disk");
  // The connection and the lock were released: a dry run on the same database works at once.
  const dry = await backupDatabase("manual", false, true, true);
  assert.equal(dry.status, "dry_run");
});
