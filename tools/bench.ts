// `npm run bench`: our backup and restore side by side with pg_dump, psql and pg_restore in the same
// run, on the same server and database, reported as ratios (time and peak memory) against issue 14's
// targets. Needs Debian's PostgreSQL client and server of one major version and GNU time.
// BENCH_SCALE sets the sample database's size (1 ≈ 1.5 MB of table data; 700 ≈ 1 GB), BENCH_RUNS how
// many times each command runs (the median is kept), BENCH_RUNTIME the runtime of our scripts (bun).
// The same backup and restore encrypted (age, to an X25519 recipient) and signed (Ed25519) are measured
// beside the plain ones.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster } from "../test/support/cluster.ts";
import { createFamilyBrainDatabase } from "../test/support/family-brain.ts";
import { mockWindmill } from "../test/support/judge.ts";
import { generateIdentity, identityToRecipient } from "age-encryption";
import { newSigningKeyPair } from "../f/admin/lib/crypto/signing.ts";

interface Measure {
  seconds: number;
  peakMb: number;
}

const scale = Number(process.env.BENCH_SCALE ?? 30);
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 1));
const runtime = process.env.BENCH_RUNTIME ?? "bun";
if (!existsSync("/usr/bin/time")) throw new Error("the benchmark needs GNU time: apt-get install time");

/** Wall time and the largest resident set of the command or any child it waited for. */
function measureOnce(command: string, env: NodeJS.ProcessEnv): Measure {
  const out = spawnSync("/usr/bin/time", ["-f", "BENCH %e %M", "bash", "-o", "pipefail", "-c", command], { env, encoding: "utf8",
    maxBuffer: 1 << 28 });
  if (out.status !== 0) throw new Error(`${command} failed:\n${out.stderr.slice(-3000)}`);
  const match = /BENCH ([\d.]+) (\d+)/.exec(out.stderr);
  if (!match) throw new Error(`no measurement for ${command}`);
  return { seconds: Number(match[1]), peakMb: Number(match[2]) / 1024 };
}

/** The median of `runs` runs; `before` resets what the command needs (a fresh target database). */
async function measure(command: string, env: NodeJS.ProcessEnv, before: () => Promise<void> = async () => undefined): Promise<Measure> {
  const all: Measure[] = [];
  for (let i = 0; i < runs; i += 1) {
    await before();
    all.push(measureOnce(command, env));
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
  return { seconds: median(all.map((m) => m.seconds)), peakMb: median(all.map((m) => m.peakMb)) };
}

const fmt = (m: Measure) => `${m.seconds.toFixed(2).padStart(8)} s  ${m.peakMb.toFixed(0).padStart(5)} MB peak`;

const dir = mkdtempSync(join(tmpdir(), "wpb-bench-"));
const cluster = await startCluster();
try {
  if (!cluster.clientBin) {
    throw new Error(
      `no pg_dump/psql for PostgreSQL ${cluster.majorVersion} on this machine: install postgresql-client-${cluster.majorVersion}`,
    );
  }
  await cluster.createDatabase("family_brain");
  const client = await cluster.connect("family_brain");
  await createFamilyBrainDatabase(client, { scale });
  const size = await client.query(
    "SELECT pg_size_pretty(sum(pg_table_size(relid))) AS size, sum(n_live_tup)::bigint AS rows, count(*)::int AS tables FROM pg_stat_user_tables",
  );
  await client.end();
  const backups = join(dir, "backups");
  const mock = mockWindmill(dir, { "f/admin/database": cluster.resource("family_brain"),
    "f/admin/backup_settings": { backup_dir: backups } });
  const env = { ...cluster.libpqEnv(), WM_MOCKED_API_FILE: mock };
  const bin = cluster.clientBin;
  const wm = (script: string, args: unknown) =>
    `node --import tsx tools/wm.ts --runtime ${runtime} ${script} '${JSON.stringify(args)}' > /dev/null`;
  /** A fresh, empty database for a restore to go into. */
  const fresh = (name: string) => async () => {
    await cluster.query("postgres", `DROP DATABASE IF EXISTS ${name}`);
    await cluster.query("postgres", `CREATE DATABASE ${name} TEMPLATE template0`);
  };
  const dropped = (name: string) => async () => void (await cluster.query("postgres", `DROP DATABASE IF EXISTS ${name}`));
  const mb = (file: string) => (statSync(file).size / 1048576).toFixed(1);

  console.log(
    `PostgreSQL ${cluster.majorVersion}, sample database at scale ${scale}: ${size.rows[0].size} of table data, ${
      size.rows[0].rows
    } rows in ` +
      `${size.rows[0].tables} tables; our scripts under ${runtime}; median of ${runs} run(s)\n`,
  );
  const pgDumpPlain = await measure(`${bin}/pg_dump -d family_brain | gzip -6 > ${dir}/pg_dump.sql.gz`, env);
  const pgDumpDir = await measure(`rm -rf ${dir}/pg_dump.d && ${bin}/pg_dump -Fd -j2 -d family_brain -f ${dir}/pg_dump.d`, env);
  const ours = await measure(wm("f/admin/backup_database", { backup_type: "manual", cleanup_old: false }), env, async () => {
    rmSync(backups, { recursive: true, force: true });
    mkdirSync(backups);
  });
  const archive = readdirSync(backups).find((f) => f.endsWith(".sql.gz"))!;
  console.log(`backup   pg_dump | gzip -6          ${fmt(pgDumpPlain)}  ${mb(`${dir}/pg_dump.sql.gz`)} MB`);
  console.log(`backup   pg_dump -Fd -j2            ${fmt(pgDumpDir)}`);
  console.log(`backup   backup_database            ${fmt(ours)}  ${mb(join(backups, archive))} MB`);

  const psql = await measure(`gunzip -c ${dir}/pg_dump.sql.gz | ${bin}/psql -X -q -1 -v ON_ERROR_STOP=1 -d psql_target > /dev/null`, env,
    fresh("psql_target"));
  const pgRestore = await measure(`${bin}/pg_restore -j2 -d pg_restore_target ${dir}/pg_dump.d`, env, fresh("pg_restore_target"));
  const newDatabase = await measure(
    wm("f/admin/restore_database", { backup_filename: archive, confirm_restore: true, target_database: "ours_target" }),
    env,
    dropped("ours_target"),
  );
  const inPlace = await measure(
    wm("f/admin/restore_database", { backup_filename: archive, confirm_restore: true, create_pre_restore_backup: false }),
    env,
  );
  console.log(`restore  gunzip | psql -1 (new db)  ${fmt(psql)}`);
  console.log(`restore  pg_restore -j2 (new db)    ${fmt(pgRestore)}`);
  console.log(`restore  restore_database (new db)  ${fmt(newDatabase)}  (verification included)`);
  console.log(`restore  restore_database in place  ${fmt(inPlace)}  (one transaction, verification included)`);

  // Encrypted and signed: the same backup and restore, the keys in secret variables as on Windmill.
  const identity = await generateIdentity();
  const signing = newSigningKeyPair();
  const sealedBackups = join(dir, "sealed");
  mkdirSync(join(dir, "sealed-mock"));
  const sealedMock = mockWindmill(join(dir, "sealed-mock"), {
    "f/admin/database": cluster.resource("family_brain"),
    "f/admin/backup_settings": {
      backup_dir: sealedBackups,
      encryption: { recipients: [await identityToRecipient(identity)], identities_variable: "f/admin/age_identity" },
      signing: { private_key_variable: "f/admin/signing_key", public_keys: [signing.publicKey] },
    },
  });
  writeFileSync(sealedMock,
    JSON.stringify({ ...JSON.parse(readFileSync(sealedMock, "utf8")),
      variables: { "f/admin/age_identity": identity, "f/admin/signing_key": signing.privateKey } }));
  const sealedEnv = { ...env, WM_MOCKED_API_FILE: sealedMock };
  const sealed = await measure(wm("f/admin/backup_database", { backup_type: "manual", cleanup_old: false }), sealedEnv, async () => {
    rmSync(sealedBackups, { recursive: true, force: true });
    mkdirSync(sealedBackups);
  });
  const sealedArchive = readdirSync(sealedBackups).find((f) => f.endsWith(".sql.gz.age"))!;
  const sealedRestore = await measure(
    wm("f/admin/restore_database", { backup_filename: sealedArchive, confirm_restore: true, target_database: "sealed_target" }),
    sealedEnv,
    dropped("sealed_target"),
  );
  console.log(`\nbackup   backup_database            ${fmt(ours)}  ${mb(join(backups, archive))} MB  (plain)`);
  console.log(
    `backup   backup_database, age+sign  ${fmt(sealed)}  ${mb(join(sealedBackups, sealedArchive))} MB  (×${
      (sealed.seconds / ours.seconds).toFixed(2)
    } of plain)`,
  );
  console.log(`restore  restore_database (new db)  ${fmt(newDatabase)}  (plain)`);
  console.log(
    `restore  same, encrypted and signed ${fmt(sealedRestore)}  (×${(sealedRestore.seconds / newDatabase.seconds).toFixed(2)} of plain)`,
  );

  const targets: Array<[string, Measure, Measure, number]> = [
    ["restore into a new database vs gunzip | psql", newDatabase, psql, 0.6],
    ["restore into a new database vs pg_restore -j2", newDatabase, pgRestore, 0.8],
    ["in-place restore vs gunzip | psql -1", inPlace, psql, 1.0],
    ["backup vs pg_dump | gzip -6", ours, pgDumpPlain, 0.4],
    ["backup vs pg_dump -Fd -j2", ours, pgDumpDir, 0.8],
  ];
  console.log("\nissue 14's targets (time ratios; lower is faster):");
  for (const [label, a, b, target] of targets) {
    const value = a.seconds / b.seconds;
    console.log(
      `  ${label.padEnd(48)} ×${value.toFixed(2)}  target ≤ ×${target.toFixed(1)}  ${value <= target ? "met" : "not met"}  (memory ${
        a.peakMb.toFixed(0)
      } MB vs ${b.peakMb.toFixed(0)} MB)`,
    );
  }
} finally {
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
