// `npm run bench`: our backup and restore side by side with pg_dump and psql in the same run, on
// the same server and database, reported as ratios (time and peak memory). Needs Debian's
// PostgreSQL client and server of one major version and GNU time (/usr/bin/time).
// BENCH_SCALE sets the sample database's size (1 ≈ 10 MB of table data); BENCH_RUNTIME the runtime.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster } from "../test/support/cluster.ts";
import { createFamilyBrainDatabase } from "../test/support/family-brain.ts";
import { mockWindmill } from "../test/support/judge.ts";

interface Measure { seconds: number; peakMb: number }

const scale = Number(process.env.BENCH_SCALE ?? 30);
const runtime = process.env.BENCH_RUNTIME ?? "bun";
if (!existsSync("/usr/bin/time")) throw new Error("the benchmark needs GNU time: apt-get install time");

/** Wall time and the largest resident set of the command or any child it waited for. */
function measure(command: string, env: NodeJS.ProcessEnv): Measure {
  const out = spawnSync("/usr/bin/time", ["-f", "BENCH %e %M", "bash", "-o", "pipefail", "-c", command], { env, encoding: "utf8", maxBuffer: 1 << 28 });
  if (out.status !== 0) throw new Error(`${command} failed:\n${out.stderr.slice(-3000)}`);
  const match = /BENCH ([\d.]+) (\d+)/.exec(out.stderr);
  if (!match) throw new Error(`no measurement for ${command}`);
  return { seconds: Number(match[1]), peakMb: Number(match[2]) / 1024 };
}

const fmt = (m: Measure) => `${m.seconds.toFixed(2).padStart(7)} s  ${m.peakMb.toFixed(0).padStart(5)} MB peak`;
const ratio = (ours: Measure, theirs: Measure) =>
  `time ×${(ours.seconds / theirs.seconds).toFixed(2)}, memory ×${(ours.peakMb / theirs.peakMb).toFixed(2)}`;

const dir = mkdtempSync(join(tmpdir(), "wpb-bench-"));
const cluster = await startCluster();
try {
  if (!cluster.clientBin) throw new Error(`no pg_dump/psql for PostgreSQL ${cluster.majorVersion} on this machine: install postgresql-client-${cluster.majorVersion}`);
  await cluster.createDatabase("family_brain");
  const client = await cluster.connect("family_brain");
  await createFamilyBrainDatabase(client, { scale });
  const size = await client.query("SELECT pg_size_pretty(pg_database_size(current_database())) AS size, (SELECT sum(n_live_tup) FROM pg_stat_user_tables)::bigint AS rows");
  await client.end();
  const backups = join(dir, "backups");
  const mock = mockWindmill(dir, { "f/admin/database": cluster.resource("family_brain"), "f/admin/backup_settings": { backup_dir: backups } });
  const env = { ...cluster.libpqEnv(), WM_MOCKED_API_FILE: mock };
  const bin = cluster.clientBin;
  const wm = (script: string, args: unknown) => `node --import tsx tools/wm.ts --runtime ${runtime} ${script} '${JSON.stringify(args)}' > /dev/null`;

  console.log(`PostgreSQL ${cluster.majorVersion}, sample database at scale ${scale}: ${size.rows[0].size}, ${size.rows[0].rows} rows; our scripts under ${runtime}\n`);
  const pgDumpPlain = measure(`${bin}/pg_dump -d family_brain | gzip -6 > ${dir}/pg_dump.sql.gz`, env);
  const pgDumpCustom = measure(`${bin}/pg_dump -Fc -d family_brain -f ${dir}/pg_dump.dump`, env);
  const ours = measure(wm("f/admin/backup_database", { backup_type: "manual", cleanup_old: false }), env);
  const archive = readdirSync(backups).find((f) => f.endsWith(".sql.gz"))!;
  const mb = (file: string) => (statSync(file).size / 1048576).toFixed(1);
  console.log(`backup   pg_dump | gzip -6       ${fmt(pgDumpPlain)}  ${mb(`${dir}/pg_dump.sql.gz`)} MB`);
  console.log(`backup   pg_dump -Fc             ${fmt(pgDumpCustom)}  ${mb(`${dir}/pg_dump.dump`)} MB`);
  console.log(`backup   backup_database         ${fmt(ours)}  ${mb(join(backups, archive))} MB  (${ratio(ours, pgDumpPlain)} vs pg_dump | gzip)`);

  await cluster.createDatabase("psql_target");
  const psql = measure(`gunzip -c ${dir}/pg_dump.sql.gz | ${bin}/psql -X -q -1 -v ON_ERROR_STOP=1 -d psql_target > /dev/null`, env);
  const restore = measure(wm("f/admin/restore_database", { backup_filename: archive, confirm_restore: true, target_database: "ours_target" }), env);
  console.log(`restore  gunzip | psql -1        ${fmt(psql)}`);
  console.log(`restore  restore_database        ${fmt(restore)}  (${ratio(restore, psql)} vs gunzip | psql; ours also verifies every row before committing)`);
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
