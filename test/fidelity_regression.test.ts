// PostgreSQL's own regression database (the one pg_upgrade's test dumps and restores), made by
// PostgreSQL 15's `make installcheck` suite against a throwaway server, backed up and restored
// through the scripts' `main`. pg_dump | psql is the yardstick: pg_dump --schema-only and every
// table's rows of our restore may differ from the source only where pg_dump's own round trip does.
// The suite comes from tools/pg-regress-build.sh (CI runs it); without it the test skips, except in CI.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { dataFingerprint, mockWindmill } from "./support/judge.ts";

const BIN = "/usr/lib/postgresql/15/bin";
const PG_REGRESS = "/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress";
const SUITE = "/usr/share/postgresql/15/regress";
const RESOURCE = "regression/pg15";

/** Why the test cannot run here, or undefined. */
function missing(): string | undefined {
  for (const path of [join(BIN, "postgres"), join(BIN, "pg_dump"), join(BIN, "psql"), PG_REGRESS]) {
    if (!existsSync(path)) return `${path} is missing: install Debian's postgresql-15 and postgresql-client-15`;
  }
  if (!existsSync(join(SUITE, "regress.so"))) return `no regression suite in ${SUITE}: run tools/pg-regress-build.sh`;
  return undefined;
}

const why = missing();
let cluster: Cluster;
let dir: string;

before(async () => {
  if (why) return;
  cluster = await startCluster({ bin: BIN });
  dir = mkdtempSync(join(tmpdir(), "wpb-regression-"));
  mockWindmill(dir, {
    "f/admin/backup_settings": { backup_dir: join(dir, "backups"), dump: { privileges: true } },
    [RESOURCE]: cluster.resource("regression"),
  });
});

after(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * A client program against the cluster. Never spawnSync: the test's server writes its log through
 * this process, and a blocked event loop would leave it stuck on a full pipe.
 */
async function run(
  command: string,
  args: string[],
  options: { input?: Buffer; cwd?: string } = {},
): Promise<{ status: number | null; stdout: Buffer; stderr: string }> {
  const child = spawn(command, args, { env: cluster.libpqEnv(), cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  child.stdin.end(options.input);
  const status = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  return { status, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString("utf8") };
}

/** pg_dump --schema-only with owners and grants, without the lines that differ between any two dumps. */
async function schema(dbname: string): Promise<string> {
  const out = await run(join(BIN, "pg_dump"), ["--schema-only", "-d", dbname]);
  assert.equal(out.status, 0, out.stderr);
  return out.stdout.toString("utf8").split("\n").filter((line) => !/^\\(un)?restrict /.test(line)).join("\n") + "\n";
}

/** The lines `diff` reports between two texts, each with its side (`< ` only in a, `> ` only in b). */
function changedLines(a: string, b: string): string[] {
  const [fileA, fileB] = [join(dir, "a.sql"), join(dir, "b.sql")];
  writeFileSync(fileA, a);
  writeFileSync(fileB, b);
  const out = spawnSync("diff", [fileA, fileB], { encoding: "utf8", maxBuffer: 512 * 1024 * 1024 });
  assert.ok(out.status === 0 || out.status === 1, out.stderr);
  return out.stdout.split("\n").filter((line) => line.startsWith("< ") || line.startsWith("> ") || line === "<" || line === ">");
}

async function differingTables(a: string, b: string): Promise<string[]> {
  const [x, y] = [await dataFingerprint(cluster, a), await dataFingerprint(cluster, b)];
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((t) => x[t] !== y[t]).sort();
}

test("PostgreSQL's regression database round-trips through the scripts, differing from its source no more than pg_dump | psql does", async (t) => {
  if (why) {
    if (process.env.CI === "true") assert.fail(`CI must run this test: ${why}`);
    return t.skip(why);
  }
  const results = join(dir, "regress");
  mkdirSync(join(results, "results"), { recursive: true });
  // The server (another user when we are root) writes some files of the suite's COPY … TO there.
  chmodSync(results, 0o777);
  chmodSync(join(results, "results"), 0o777);
  const regress = await run(PG_REGRESS, [
    `--inputdir=${SUITE}`,
    `--outputdir=${results}`,
    `--bindir=${BIN}`,
    `--dlpath=${SUITE}`,
    `--schedule=${join(SUITE, "parallel_schedule")}`,
    `--host=${cluster.host}`,
    `--port=${cluster.port}`,
    `--user=${cluster.user}`,
    "--max-connections=8",
  ], { cwd: results });
  const report = regress.stdout.toString("utf8");
  // Some of the suite's tests fail on any server but the one built with it (locale, paths): the database is what counts.
  t.diagnostic(report.split("\n").filter((line) => /tests (passed|failed)/.test(line)).join(" ").trim());
  const made = await cluster.query("postgres", "SELECT 1 FROM pg_database WHERE datname = 'regression'");
  assert.equal(made.rowCount, 1, `pg_regress made no regression database:\n${regress.stderr}\n${report.slice(-3000)}`);

  // The yardstick: pg_dump | psql into a new database, as pg_upgrade's test does (errors do not stop psql).
  await cluster.createDatabase("regression_pg_dump");
  const dump = await run(join(BIN, "pg_dump"), ["-d", "regression"]);
  assert.equal(dump.status, 0, dump.stderr);
  const psql = await run(join(BIN, "psql"), ["-X", "-q", "-d", "regression_pg_dump"], { input: dump.stdout });
  assert.equal(psql.status, 0, psql.stderr);

  const backup = await backupDatabase("manual", false, false, false, RESOURCE);
  assert.equal(backup.status, "success");
  const restore = await restoreDatabase({ backup_filename: (backup as { filename: string }).filename, confirm_restore: true,
    create_pre_restore_backup: false, target_database: "regression_restored", database_resource: RESOURCE });
  assert.equal(restore.verification.passed, true);

  const source = await schema("regression");
  const theirs = changedLines(source, await schema("regression_pg_dump"));
  const ours = changedLines(source, await schema("regression_restored"));
  const theirTables = await differingTables("regression", "regression_pg_dump");
  const ourTables = await differingTables("regression", "regression_restored");
  t.diagnostic(
    `pg_dump --schema-only differs from the source in ${theirs.length} lines after pg_dump | psql, in ${ours.length} after our backup and restore; ` +
      `tables whose rows differ: ${theirTables.length} and ${ourTables.length} (${ourTables.join(", ")})`,
  );

  t.diagnostic(`ours:\n${ours.slice(0, 40).join("\n")}\npg_dump's:\n${theirs.slice(0, 40).join("\n")}`);
  assert.deepEqual(ours.filter((line) => !theirs.includes(line)), [], "schema differences beyond pg_dump's own");
  assert.deepEqual(ourTables.filter((table) => !theirTables.includes(table)), [], "tables whose rows differ beyond pg_dump's own");
});
