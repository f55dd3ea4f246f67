// `npm run demo`: the whole product on embedded defaults, on a machine with only Node. Starts a
// throwaway PostgreSQL, fills a sample Family Second Brain database, then backs it up, lists the
// backups, restores into a new database and shows the verification, all through the scripts' main.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { type ListingRow, main as listBackups } from "../f/admin/list_backups.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { startCluster } from "../test/support/cluster.ts";
import { createFamilyBrainDatabase } from "../test/support/family-brain.ts";
import { mockWindmill } from "../test/support/judge.ts";

const say = (line: string) => process.stdout.write(line + "\n");

/** The scripts log progress for Windmill's job log; the demo shows its own summary instead. */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const log = console.log;
  console.log = () => undefined;
  try {
    return await work();
  } finally {
    console.log = log;
  }
}

const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), "wpb-demo-"));
say("Starting a throwaway PostgreSQL server…");
const cluster = await startCluster();
try {
  say(`PostgreSQL ${cluster.majorVersion} on 127.0.0.1:${cluster.port} (binaries: ${cluster.bin})`);
  await cluster.createDatabase("family_brain");
  const client = await cluster.connect("family_brain");
  const counts = await createFamilyBrainDatabase(client);
  await client.end();
  say(
    `Sample database family_brain: ${Object.values(counts).reduce((a, b) => a + b, 0)} rows in ${
      Object.keys(counts).length
    } tables, with embeddings.`,
  );

  const backupDir = join(dir, "backups");
  mockWindmill(dir, {
    "f/admin/database": cluster.resource("family_brain"),
    "f/admin/backup_settings": { backup_dir: backupDir },
  });

  const backup = await quietly(() => backupDatabase("manual", false, true, false)) as Record<string, unknown>;
  say(`\nbackup_database {"backup_type": "manual"} → ${backup.status}: ${backup.filename}, ${backup.size_mb} MB, ` +
    `${backup.tables_backed_up} tables, ${backup.total_rows} rows in ${backup.duration_seconds} s`);

  const rows = (await quietly(() => listBackups(false))) as ListingRow[];
  say(`\nlist_backups → ${rows.length} backup(s):`);
  for (const row of rows) say(`  ${row.name}  ${row.type}  ${row.created_at}  ${row.size_mb} MB  ${row.tables} tables  ${row.rows} rows`);

  const restore = await quietly(() =>
    restoreDatabase({ backup_filename: String(backup.filename), confirm_restore: true, target_database: "family_brain_restored" })
  );
  const matched = restore.verification.tables.filter((t) => t.match).length;
  say(`\nrestore_database into family_brain_restored → ${restore.status} in ${restore.duration_seconds} s: ` +
    `${restore.rows_restored} rows, verification ${restore.verification.passed ? "PASSED" : "FAILED"} ` +
    `(${matched}/${restore.verification.tables.length} tables match row counts and content digests)`);
  for (const t of restore.verification.tables) {
    say(
      `  ${t.table.padEnd(24)} expected ${String(t.expected_rows).padStart(5)}  found ${String(t.actual_rows).padStart(5)}  ${
        t.match ? "match" : "MISMATCH"
      }`,
    );
  }
  say(`\nDemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s; the server and files are removed.`);
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
