// `npm run bench -- --scale N`: our backup and restore side by side with pg_dump, psql and pg_restore
// in the same run, on the same server and database, reported as ratios (time and peak memory) against
// issue 14's targets. Each case runs --runs times (default 3), the cases in turn round by round so
// that a machine growing slower or faster shifts them alike; medians are reported, and with --json
// FILE everything is written as JSON too. A case whose tool is missing is skipped, and says so.
// Every case starts with the previous restores' databases dropped and after a CHECKPOINT, so that none
// pays for the one before (autovacuum of its fresh tables, the pages it left dirty).
// For profiling one comparison: --only key,key (those cases, and once each backup they restore) and
// --set name=value (a server setting for the whole run, e.g. autovacuum=off).
// --ours-only measures our plain backup and restores alone. --scale sets the sample database's size (1 ≈ 1.5 MB of table data, then about 0.9 MB a step: 1150 ≈ 1 GB, 4500 ≈ 4 GB), --runtime the
// runtime of our scripts (bun), which run from a bundle as on a worker, their peak memory their own
// process's (tools/wm.ts --bundled --peak). Needs PostgreSQL's server binaries and GNU time; the comparisons need
// Debian's PostgreSQL client of the server's major version. The same backup and restore encrypted (age,
// to an X25519 recipient) and signed (Ed25519) are measured beside the plain ones.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as zlib from "node:zlib";
import { startCluster } from "../test/support/cluster.ts";
import { createFamilyBrainDatabase } from "../test/support/family-brain.ts";
import { mockWindmill } from "../test/support/judge.ts";
import { startS3Server } from "../test/support/s3.ts";
import { generateIdentity, identityToRecipient } from "age-encryption";
import { newSigningKeyPair } from "../f/admin/lib/crypto/signing.ts";

const { values: options } = parseArgs({
  options: {
    scale: { type: "string", default: process.env.BENCH_SCALE ?? "30" },
    runs: { type: "string", default: process.env.BENCH_RUNS ?? "3" },
    runtime: { type: "string", default: process.env.BENCH_RUNTIME ?? "bun" },
    json: { type: "string" },
    "ours-only": { type: "boolean", default: false },
    only: { type: "string" },
    set: { type: "string", multiple: true, default: [] },
  },
});
const scale = Number(options.scale);
const runs = Math.max(1, Number(options.runs));
const runtime = options.runtime;
const PEAK_TARGET_MB = 200;
const only = options.only === undefined ? undefined : new Set(options.only.split(",").map((k) => k.trim()));
/** --set name=value: a server setting for the whole run (ALTER SYSTEM), e.g. autovacuum=off to take its work out of the profile. */
const serverSettings = options.set.map((pair) => {
  const at = pair.indexOf("=");
  if (at <= 0 || !/^[a-z_.]+$/.test(pair.slice(0, at))) throw new Error(`--set ${pair}: expected name=value, e.g. autovacuum=off`);
  return { name: pair.slice(0, at), value: pair.slice(at + 1) };
});

/** One run of one case (also the shape of each run in --json's output). */
export interface Measure {
  seconds: number;
  peakMb: number;
  /** CPU seconds of the command and the processes it waited for (our runner's included). */
  clientCpu: number;
  /** CPU seconds the database server spent meanwhile (every backend and helper process). */
  serverCpu: number;
  /** CPU seconds the S3 server (s3rver, on the same cores) spent meanwhile. */
  storeCpu: number;
}

interface Case {
  name: string;
  command: string;
  /** Resets what the command needs (a fresh target database), outside the measurement. */
  before?: () => Promise<void>;
  /** Another environment (the encrypted cases' mocked resources and variables). */
  env?: NodeJS.ProcessEnv;
  /** Measured in the first round only: a backup run under --only for the restores that read it. */
  once?: boolean;
  runs: Measure[];
}

const onPath = (tool: string) => spawnSync("bash", ["-c", `command -v ${tool}`]).status === 0;
if (!existsSync("/usr/bin/time")) throw new Error("the benchmark needs GNU time: apt-get install time");

/** Wall time and the largest resident set of the command or any child it waited for. */
const TICKS_PER_SECOND = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): state is [0], utime [11]. */
function procStat(pid: string): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds the server listening on `port` has spent: the postmaster's own and its reaped
 * children's (every backend that has ended: utime, stime, cutime, cstime), and its live children's.
 */
function serverCpuSeconds(port: number): number {
  const pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  const postmaster = pids.find((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return argv[0]!.endsWith("/postgres") && argv.includes(String(port)) && procStat(pid)?.[1] !== undefined;
    } catch {
      return false;
    }
  });
  const stat = postmaster === undefined ? undefined : procStat(postmaster);
  if (postmaster === undefined || stat === undefined) return Number.NaN;
  let ticks = Number(stat[11]) + Number(stat[12]) + Number(stat[13]) + Number(stat[14]);
  for (const pid of pids) {
    const child = procStat(pid);
    if (child?.[1] === postmaster) ticks += Number(child[11]) + Number(child[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/** CPU seconds one process has spent (utime and stime); 0 once it has gone. */
function processCpuSeconds(pid: number | undefined): number {
  const stat = pid === undefined ? undefined : procStat(String(pid));
  return stat === undefined ? 0 : (Number(stat[11]) + Number(stat[12])) / TICKS_PER_SECOND;
}

function measureOnce(command: string, env: NodeJS.ProcessEnv): Measure {
  const serverBefore = serverCpuSeconds(serverPort);
  const storeBefore = processCpuSeconds(storePid);
  const out = spawnSync("/usr/bin/time", ["-f", "BENCH %e %M %U %S", "bash", "-o", "pipefail", "-c", command], {
    env,
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (out.status !== 0) throw new Error(`${command} failed:\n${out.stderr.slice(-3000)}`);
  const match = /BENCH ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(out.stderr);
  if (!match) throw new Error(`no measurement for ${command}`);
  // Our scripts report their own process's peak (the runner's `--peak`): a worker runs no runner.
  const script = /script_peak_kb=(\d+)/.exec(out.stderr);
  return {
    seconds: Number(match[1]),
    peakMb: Number(script?.[1] ?? match[2]) / 1024,
    clientCpu: Number(match[3]) + Number(match[4]),
    serverCpu: serverCpuSeconds(serverPort) - serverBefore,
    storeCpu: processCpuSeconds(storePid) - storeBefore,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)]!;
const summary = (c: Case) => ({
  seconds: median(c.runs.map((m) => m.seconds)),
  peakMb: median(c.runs.map((m) => m.peakMb)),
  clientCpu: median(c.runs.map((m) => m.clientCpu)),
  serverCpu: median(c.runs.map((m) => m.serverCpu)),
  storeCpu: median(c.runs.map((m) => m.storeCpu)),
});

/** Every case `runs` times, round by round. */
/** The restore cases that read each backup case's archive (what --only must still make). */
const READ_BY: Record<string, string[]> = {
  pgDumpGzip: ["psql", "psqlSingle"],
  pgDumpDir: ["pgRestore"],
  ours: ["oursThroughPsql", "newDatabase", "inPlace", "inPlaceEmpty"],
  zstd: ["zstdThroughPsql", "zstdNewDatabase", "zstdNewDatabaseNode"],
  sealed: ["sealedNewDatabase"],
};

/** The databases the restore cases create (each case's own `before` makes the empty ones it needs). */
const RESTORE_TARGETS = ["psql_target", "pg_restore_target", "ours_target", "zstd_target", "sealed_target", "empty_target"];

async function measureAll(cases: Case[], env: NodeJS.ProcessEnv): Promise<void> {
  for (let round = 0; round < runs; round++) {
    for (const c of cases) {
      if (c.once && round > 0) continue;
      // No case pays for the one before: the databases earlier restores made are dropped first (their
      // freshly loaded tables would otherwise be autovacuumed during this case), and the server's
      // buffers are written out (the pages a case leaves dirty would be written by the next one; a
      // new database's DROP/CREATE checkpoints anyway, an in-place restore's live target does not).
      for (const target of RESTORE_TARGETS) await cluster.query("postgres", `DROP DATABASE IF EXISTS ${target}`);
      await c.before?.();
      await cluster.query("postgres", "CHECKPOINT");
      c.runs.push(measureOnce(c.command, c.env ?? env));
    }
  }
}

const dir = mkdtempSync(join(tmpdir(), "wpb-bench-"));
const cluster = await startCluster();
const serverPort = cluster.port;
let storePid: number | undefined;
const skipped: string[] = [];
let stopS3 = async () => undefined as unknown;
try {
  for (const { name, value } of serverSettings) {
    await cluster.query("postgres", `ALTER SYSTEM SET ${name} = '${value.replaceAll("'", "''")}'`);
  }
  if (serverSettings.length > 0) await cluster.restart();
  await cluster.createDatabase("family_brain");
  const client = await cluster.connect("family_brain");
  await createFamilyBrainDatabase(client, { scale });
  const size = await client.query<{ size: string; bytes: string; rows: string; tables: number }>(
    "SELECT pg_size_pretty(sum(pg_table_size(relid))) AS size, sum(pg_table_size(relid))::bigint AS bytes, sum(n_live_tup)::bigint AS rows, count(*)::int AS tables FROM pg_stat_user_tables",
  );
  const tables = (await client.query<{ name: string }>(
    "SELECT format('%I.%I', schemaname, relname) AS name FROM pg_stat_user_tables ORDER BY 1",
  )).rows.map((r) => r.name);
  await client.end();
  const backups = join(dir, "backups");
  mkdirSync(backups);
  const mock = mockWindmill(dir, {
    "f/admin/database": cluster.resource("family_brain"),
    "f/admin/backup_settings": { backup_dir: backups },
  });
  // Our scripts run from bundles built once, as a worker's cache keeps them (tools/wm.ts --bundled).
  mkdirSync(join(dir, "bundles"));
  const env = { ...cluster.libpqEnv(), WM_MOCKED_API_FILE: mock, WM_BUNDLE_CACHE: join(dir, "bundles") };
  const bin = cluster.clientBin;
  const wm = (script: string, args: unknown, under = runtime) =>
    `node --import tsx tools/wm.ts --runtime ${under}${under === "deno" ? "" : " --bundled"} --peak ${script} '${
      JSON.stringify(args)
    }' > /dev/null`;
  const fresh = (name: string) => async () => {
    await cluster.query("postgres", `DROP DATABASE IF EXISTS ${name}`);
    await cluster.query("postgres", `CREATE DATABASE ${name} TEMPLATE template0`);
  };
  const dropped = (name: string) => async () => void (await cluster.query("postgres", `DROP DATABASE IF EXISTS ${name}`));
  const emptyBackups = async () => {
    rmSync(backups, { recursive: true, force: true });
    mkdirSync(backups);
  };
  const have = (tool: string, why: string) => {
    if (onPath(tool)) return true;
    skipped.push(`${why}: ${tool} is not on this machine`);
    return false;
  };
  const haveClient = (why: string) => {
    if (bin) return true;
    skipped.push(
      `${why}: no pg_dump/psql/pg_restore ${cluster.majorVersion} here (apt-get install postgresql-client-${cluster.majorVersion})`,
    );
    return false;
  };

  console.log(
    `PostgreSQL ${cluster.majorVersion}, sample database at scale ${scale}: ${size.rows[0]!.size} of table data, ${
      size.rows[0]!.rows
    } rows in ${size.rows[0]!.tables} tables; our scripts under ${runtime} through the local runner; median of ${runs} runs${
      serverSettings.length > 0 ? `; server settings: ${options.set.join(", ")}` : ""
    }\n`,
  );

  const backupCases: Record<string, Case> = {};
  const add = (
    into: Record<string, Case>,
    key: string,
    name: string,
    command: string,
    before?: () => Promise<void>,
    caseEnv?: NodeJS.ProcessEnv,
  ) => {
    // --ours-only: our plain backup and restores alone (a memory check on a large database, say).
    if (options["ours-only"] && !["startup", "ours", "newDatabase", "inPlace"].includes(key)) {
      skipped.push(`${name}: left out (--ours-only)`);
      return;
    }
    // --only a,b: these cases alone (a profile of one comparison); a backup that a chosen restore
    // reads runs once, to make its archive.
    const once = only !== undefined && !only.has(key) && key !== "startup";
    if (once && !READ_BY[key]?.some((restore) => only!.has(restore))) {
      skipped.push(`${name}: left out (--only)`);
      return;
    }
    into[key] = { name, command, ...(before ? { before } : {}), ...(caseEnv ? { env: caseEnv } : {}), ...(once ? { once } : {}), runs: [] };
  };

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
  writeFileSync(
    sealedMock,
    JSON.stringify({
      ...JSON.parse(readFileSync(sealedMock, "utf8")),
      variables: { "f/admin/age_identity": identity, "f/admin/signing_key": signing.privateKey },
    }),
  );
  const sealedEnv = { ...env, WM_MOCKED_API_FILE: sealedMock };
  if (haveClient("pg_dump cases") && have("gzip", "pg_dump | gzip")) {
    add(backupCases, "pgDumpGzip", "pg_dump -Fp | gzip -6", `${bin}/pg_dump -d family_brain | gzip -6 > ${dir}/pg_dump.sql.gz`);
  }
  if (bin) {
    add(backupCases, "pgDumpDir", "pg_dump -Fd -j2",
      `rm -rf ${dir}/pg_dump.d && ${bin}/pg_dump -Fd -j2 -d family_brain -f ${dir}/pg_dump.d`);
    add(
      backupCases,
      "rawCopy",
      "raw COPY of every table to /dev/null",
      tables.map((t) => `${bin}/psql -X -q -d family_brain -c 'COPY ${t} TO STDOUT' > /dev/null`).join(" && "),
    );
  }
  add(backupCases, "startup", "our runner and runtime starting (list_backups)", wm("f/admin/list_backups", { include_s3: false }));
  add(backupCases, "ours", "backup_database (gzip)", wm("f/admin/backup_database", { backup_type: "manual", cleanup_old: false }),
    emptyBackups);
  add(
    backupCases,
    "sealed",
    "backup_database, encrypted and signed",
    wm("f/admin/backup_database", { backup_type: "manual", cleanup_old: false }),
    async () => {
      rmSync(sealedBackups, { recursive: true, force: true });
      mkdirSync(sealedBackups);
    },
    sealedEnv,
  );
  // S3 only (local_copy: false): the same backup streamed to s3rver (its own process, on loopback)
  // as a multipart upload while the dump runs, against the same backup written to local disk.
  const s3 = await startS3Server();
  stopS3 = () => s3.stop();
  storePid = s3.pid;
  const streamMock = join(dir, "s3-mock");
  mkdirSync(streamMock);
  const streamEnv = { ...env, WM_MOCKED_API_FILE: mockWindmill(streamMock, {
    "f/admin/database": cluster.resource("family_brain"),
    "f/admin/backup_settings": { local_copy: false },
    "f/admin/s3_backup_config": s3.resource({ prefix: "bench" }),
  }) };
  let streamRound = 0;
  add(backupCases, "s3Stream", "backup_database streamed to S3 (no local copy)",
    wm("f/admin/backup_database", { backup_type: "manual", cleanup_old: false }), async () => {
    // A fresh prefix each round, so that every run writes into an empty folder as the local case does.
    writeFileSync(streamEnv.WM_MOCKED_API_FILE,
      readFileSync(streamEnv.WM_MOCKED_API_FILE, "utf8").replace(/"bench[^"]*\/?"/, `"bench-${++streamRound}/"`));
  }, streamEnv);
  // zstd: the same backup with compression: "zstd", into its own directory (Node 20 cannot write zstd).
  const zstdBackups = join(dir, "zstd");
  mkdirSync(join(dir, "zstd-mock"));
  const zstdEnv = { ...env, WM_MOCKED_API_FILE: mockWindmill(join(dir, "zstd-mock"), {
    "f/admin/database": cluster.resource("family_brain"),
    "f/admin/backup_settings": { backup_dir: zstdBackups, compression: "zstd" },
  }) };
  if (runtime === "node" && typeof zlib.zstdCompress !== "function") {
    skipped.push(
      `backup_database with compression: "zstd": this Node (${process.version}) has no zstd in node:zlib; run with --runtime bun`,
    );
  } else {
    add(backupCases, "zstd", 'backup_database, compression: "zstd"',
      wm("f/admin/backup_database", { backup_type: "manual", cleanup_old: false }), async () => {
      rmSync(zstdBackups, { recursive: true, force: true });
      mkdirSync(zstdBackups);
    }, zstdEnv);
  }
  await measureAll(Object.values(backupCases), env);
  const archive = readdirSync(backups).find((f) => f.endsWith(".sql.gz"))!;
  const zstdArchive = backupCases.zstd ? readdirSync(zstdBackups).find((f) => f.endsWith(".sql.zst")) : undefined;
  const mb = (file: string) => `${(statSync(file).size / 1048576).toFixed(1)} MB`;

  const restoreCases: Record<string, Case> = {};
  const gunzip = bin !== undefined && have("gunzip", "gunzip | psql");
  if (backupCases.pgDumpGzip && gunzip) {
    add(restoreCases, "psql", "gunzip | psql (new database)",
      `gunzip -c ${dir}/pg_dump.sql.gz | ${bin}/psql -X -q -v ON_ERROR_STOP=1 -d psql_target > /dev/null`, fresh("psql_target"));
    add(restoreCases, "psqlSingle", "gunzip | psql -1 (empty database)",
      `gunzip -c ${dir}/pg_dump.sql.gz | ${bin}/psql -X -q -1 -v ON_ERROR_STOP=1 -d psql_target > /dev/null`, fresh("psql_target"));
  }
  if (backupCases.ours && gunzip) {
    add(restoreCases, "oursThroughPsql", "our archive through gunzip | psql -1",
      `gunzip -c ${join(backups, archive)} | ${bin}/psql -X -q -1 -v ON_ERROR_STOP=1 -d psql_target > /dev/null`, fresh("psql_target"));
  }
  if (zstdArchive && bin && have("zstd", "our zstd archive through zstd -dc | psql")) {
    add(restoreCases, "zstdThroughPsql", "our zstd archive through zstd -dc | psql -1",
      `zstd -dc ${join(zstdBackups, zstdArchive)} | ${bin}/psql -X -q -1 -v ON_ERROR_STOP=1 -d psql_target > /dev/null`,
      fresh("psql_target"));
  }
  if (zstdArchive) {
    add(restoreCases, "zstdNewDatabase", "restore_database of the zstd backup into a new database",
      wm("f/admin/restore_database", { backup_filename: zstdArchive, confirm_restore: true, target_database: "zstd_target" }),
      dropped("zstd_target"), zstdEnv);
    // Node without zstd in node:zlib (Node 20) reads the archive with fzstd, pure JavaScript.
    if (runtime !== "node" && typeof zlib.zstdDecompress !== "function") {
      add(restoreCases, "zstdNewDatabaseNode", `the same under Node ${process.version} (fzstd)`,
        wm("f/admin/restore_database", { backup_filename: zstdArchive, confirm_restore: true, target_database: "zstd_target" }, "node"),
        dropped("zstd_target"), zstdEnv);
    }
  }
  if (backupCases.pgDumpDir) {
    add(restoreCases, "pgRestore", "pg_restore -j2 (new database)", `${bin}/pg_restore -j2 -d pg_restore_target ${dir}/pg_dump.d`,
      fresh("pg_restore_target"));
  }
  add(
    restoreCases,
    "newDatabase",
    "restore_database into a new database",
    wm("f/admin/restore_database", { backup_filename: archive, confirm_restore: true, target_database: "ours_target" }),
    dropped("ours_target"),
  );
  add(
    restoreCases,
    "inPlace",
    "restore_database in place (one transaction)",
    wm("f/admin/restore_database", { backup_filename: archive, confirm_restore: true, create_pre_restore_backup: false }),
  );
  // The same one-transaction path into an existing empty database: against "in place", what replacing
  // a populated database costs; against psql -1, what our engine costs.
  add(
    restoreCases,
    "inPlaceEmpty",
    "restore_database into an empty database (one transaction)",
    wm("f/admin/restore_database", { backup_filename: archive, confirm_restore: true, target_database: "empty_target",
      create_pre_restore_backup: false }),
    fresh("empty_target"),
  );
  const sealedArchive = backupCases.sealed ? readdirSync(sealedBackups).find((f) => f.endsWith(".sql.gz.age"))! : "";
  if (sealedArchive) {
    add(
      restoreCases,
      "sealedNewDatabase",
      "restore_database into a new database, encrypted and signed",
      wm("f/admin/restore_database", { backup_filename: sealedArchive, confirm_restore: true, target_database: "sealed_target" }),
      dropped("sealed_target"),
      sealedEnv,
    );
  }
  await measureAll(Object.values(restoreCases), env);

  const all = { ...backupCases, ...restoreCases };
  const fmt = (m: Measure) =>
    `${m.seconds.toFixed(2).padStart(8)} s  ${m.peakMb.toFixed(0).padStart(5)} MB peak  CPU ${m.clientCpu.toFixed(1).padStart(5)} s ours, ${
      m.serverCpu.toFixed(1).padStart(5)
    } s server${m.storeCpu >= 0.05 ? `, ${m.storeCpu.toFixed(1)} s s3rver` : ""}`;
  for (const [key, c] of Object.entries(all)) {
    const size = key === "ours"
      ? `  ${mb(join(backups, archive))}`
      : key === "pgDumpGzip"
      ? `  ${mb(`${dir}/pg_dump.sql.gz`)}`
      : key === "zstd" && zstdArchive
      ? `  ${mb(join(zstdBackups, zstdArchive))}`
      : "";
    console.log(`${c.name.padEnd(46)} ${fmt(summary(c))}${size}  (runs: ${c.runs.map((r) => r.seconds.toFixed(2)).join(", ")})`);
  }

  const targets: Array<[string, string, string, number]> = [
    ["restore into a new database vs gunzip | psql", "newDatabase", "psql", 0.6],
    ["restore into a new database vs pg_restore -j2", "newDatabase", "pgRestore", 0.8],
    ["in-place restore vs gunzip | psql -1", "inPlace", "psqlSingle", 1.0],
    ["backup vs pg_dump -Fp | gzip -6", "ours", "pgDumpGzip", 0.4],
    ["backup vs pg_dump -Fd -j2", "ours", "pgDumpDir", 0.8],
    ["backup streamed to S3 vs the same to local disk", "s3Stream", "ours", 1.1],
    ['backup with compression: "zstd" vs raw COPY', "zstd", "rawCopy", 1.5],
  ];
  const results = targets.flatMap(([label, a, b, target]) => {
    if (!all[a] || !all[b]) {
      skipped.push(`${label}: not measured (a case it needs was skipped)`);
      return [];
    }
    const value = summary(all[a]).seconds / summary(all[b]).seconds;
    return [{ label, ratio: Number(value.toFixed(3)), target, met: value <= target }];
  });
  console.log("\nissue 14's targets (time ratios of medians; lower is faster):");
  for (const r of results) {
    console.log(`  ${r.label.padEnd(48)} ×${r.ratio.toFixed(2)}  target ≤ ×${r.target.toFixed(1)}  ${r.met ? "met" : "not met"}`);
  }
  for (const [a, b] of [["sealed", "ours"], ["sealedNewDatabase", "newDatabase"], ["zstd", "ours"], ["zstdNewDatabase", "newDatabase"], [
    "zstdNewDatabaseNode",
    "newDatabase",
  ]] as const) {
    if (!all[a] || !all[b]) continue;
    console.log(`  ${all[a]!.name.padEnd(62)} ×${(summary(all[a]!).seconds / summary(all[b]!).seconds).toFixed(2)} of plain`);
  }
  // What the cores allow: a case that needs C CPU-seconds (the client's and the server's) cannot end in less
  // than C / cores seconds, however it is scheduled. Against a comparison's wall time, that is the
  // best ratio this machine can give; a target below it cannot be met here by any client.
  const cores = availableParallelism();
  console.log(
    `\nwhat ${cores} cores allow (CPU-seconds of the case, ours and the server's, over ${cores}; ratio to the comparison's wall time):`,
  );
  const floors = results.flatMap((r) => {
    const [, a, b] = targets.find(([label]) => label === r.label)!;
    if (b === "ours") return []; // ours against ours: both carry the same runner and server
    const mine = summary(all[a]!);
    // Less the runner's own CPU (the startup case: Node, tsx and Windmill's parser), which no worker spends.
    const runner = ["ours", "zstd", "newDatabase", "inPlace"].includes(a) ? summary(all.startup!).clientCpu : 0;
    const cpu = mine.clientCpu - runner + mine.serverCpu;
    const floor = cpu / cores / summary(all[b]!).seconds;
    console.log(
      `  ${r.label.padEnd(48)} ${cpu.toFixed(1)} CPU-s (${mine.serverCpu.toFixed(1)} of them the server's): no faster than ×${
        floor.toFixed(2)
      }  target ≤ ×${r.target.toFixed(1)}${floor > r.target ? "  out of reach on this machine" : ""}`,
    );
    return [{ label: r.label, cpuSeconds: Number(cpu.toFixed(2)), serverCpuSeconds: Number(mine.serverCpu.toFixed(2)),
      floor: Number(floor.toFixed(3)) }];
  });
  // S3 streamed against local disk: both CPU-bound on the same cores, so their wall times follow their
  // CPU-seconds; s3rver's share is work a remote S3 does on its own machines.
  let s3Work: { cpuSeconds: number; storeCpuSeconds: number; localCpuSeconds: number; withoutStore: number } | undefined;
  if (all.s3Stream && all.ours) {
    const s3Case = summary(all.s3Stream);
    const local = summary(all.ours);
    const total = s3Case.clientCpu + s3Case.serverCpu + s3Case.storeCpu;
    const localTotal = local.clientCpu + local.serverCpu;
    s3Work = { cpuSeconds: Number(total.toFixed(2)), storeCpuSeconds: Number(s3Case.storeCpu.toFixed(2)),
      localCpuSeconds: Number(localTotal.toFixed(2)), withoutStore: Number(((total - s3Case.storeCpu) / localTotal).toFixed(3)) };
    console.log(
      `  backup streamed to S3 vs the same to local disk     ${total.toFixed(1)} CPU-s against ${localTotal.toFixed(1)} (×${
        (total / localTotal).toFixed(2)
      }); ${s3Case.storeCpu.toFixed(1)} of them s3rver's on these cores; without them ×${s3Work.withoutStore.toFixed(2)}`,
    );
  }
  const peaks = ["ours", "zstd", "s3Stream", "newDatabase", "inPlace"].filter((k) => all[k]).map((k) => ({ case: all[k]!.name,
    peakMb: summary(all[k]!).peakMb })
  );
  for (const p of peaks) {
    console.log(
      `  peak memory of ${p.case.padEnd(40)} ${p.peakMb.toFixed(0)} MB  target ≤ ${PEAK_TARGET_MB} MB  ${
        p.peakMb <= PEAK_TARGET_MB ? "met" : "not met"
      }`,
    );
  }
  for (const s of skipped) console.log(`skipped: ${s}`);
  if (options.json) {
    writeFileSync(
      options.json,
      JSON.stringify(
        {
          postgres: cluster.majorVersion,
          scale,
          table_data: size.rows[0],
          runtime,
          runs,
          cases: Object.fromEntries(Object.entries(all).map(([k, c]) => [k, { name: c.name, ...summary(c), runs: c.runs }])),
          targets: results,
          cores,
          floors,
          ...(s3Work ? { s3Work } : {}),
          peaks,
          skipped,
        },
        null,
        2,
      ) + "\n",
    );
    console.log(`\nJSON written to ${options.json}`);
  }
} finally {
  await stopS3();
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
}
