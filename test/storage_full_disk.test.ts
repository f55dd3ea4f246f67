// A full disk: a backup that cannot fit is refused before it starts, with the numbers; one that the
// estimate lets through and that fills the disk halfway fails with a message that says so, and
// leaves nothing behind (no archive under a final name, no temp file); the next run works again.
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

test("a backup the free space cannot hold is refused before it starts, naming the directory, the free bytes and the estimate", async (t) => {
  if (!mounted) return t.skip("cannot mount a small tmpfs here (needs root)");
  mockWindmill(dir, { "f/admin/database": cluster.resource("family_brain"), "f/admin/backup_settings": { backup_dir: disk } });
  await assert.rejects(backupDatabase("manual", false, true, false), (error: Error) => {
    assert.match(error.message, new RegExp(
      `Not enough free space in ${disk}: [\\d.]+ MB free \\((\\d+) bytes\\), but the backup is estimated at [\\d.]+ MB \\((\\d+) bytes`,
    ));
    const [, free, estimate] = /\((\d+) bytes\), but .*?\((\d+) bytes/.exec(error.message)!;
    assert.ok(Number(free) <= 256 * 1024 && Number(estimate) > Number(free));
    assert.match(error.message, /Nothing was written/);
    return true;
  });
  assert.deepEqual(readdirSync(disk), [], "nothing written");
  const dry = (await backupDatabase("manual", false, true, true)) as unknown as Record<string, number>;
  assert.ok(dry.estimated_archive_mb! > dry.free_space_mb!, "the dry run shows the same numbers");
});

test("a backup that fills the disk fails clearly and leaves no partial file", async (t) => {
  if (!mounted) return t.skip("cannot mount a small tmpfs here (needs root)");
  // A ratio far below the real one (about 0.47 here) lets the backup start on a disk it cannot fit.
  mockWindmill(dir, { "f/admin/database": cluster.resource("family_brain"),
    "f/admin/backup_settings": { backup_dir: disk, archive_size_ratio: 0.05 } });
  await assert.rejects(backupDatabase("manual", false, true, false),
    /ran out of space while writing family_brain_manual_.*nothing was kept/);
  assert.deepEqual(readdirSync(disk), [], "nothing left on the disk");
  // The connection and the lock were released: a dry run on the same database works at once.
  const dry = await backupDatabase("manual", false, true, true);
  assert.equal(dry.status, "dry_run");
});
