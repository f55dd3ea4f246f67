// A restore runs only what was backed up. Attacks tried here, each against a real server, a real
// S3 protocol server and psql: a database whose names, comments, values and settings try to leave
// their quotes (through every restore path and through `gunzip | psql`); archives edited by someone
// who can write the backup storage but not recompute the manifest (every path: full from disk and
// from S3, selective from disk and from S3, preview); foreign files handed to pg_dump_archive;
// backups that would leave the database empty. After each: no file created by COPY … TO PROGRAM,
// no role promoted, no sequence moved, the database exactly as it was.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gzipSync } from "node:zlib";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { forgeMember } from "./support/archive-edit.ts";
import { catalogOf, compareCatalogs } from "./support/catalog-judge.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { createHostileDatabase, hostileNames, type Canary } from "./support/hostile.ts";
import { dataFingerprint, mockWindmill } from "./support/judge.ts";
import { startS3Server, type S3Server } from "./support/s3.ts";

const HOSTILE = "hostile";
const PREFIX = "hostile/";
let cluster: Cluster;
let s3: S3Server;
let dir: string;
let backupDir: string;
const canary: Canary = { file: `/tmp/wpb-${randomBytes(4).toString("hex")}`, role: "wpb_evil" };
const names = hostileNames(canary);

type Restored = Extract<Awaited<ReturnType<typeof restoreDatabase>>, { status: string }>;
interface RestoreArgs {
  source?: "local" | "s3";
  target?: string;
  dryRun?: boolean;
  tables?: string[];
  preRestore?: boolean;
  pgDump?: boolean;
  createRoles?: boolean;
  allowEmpty?: boolean;
  skipForeignKeyCheck?: boolean;
}
/** restore_database by argument name (its main takes them in this order). */
const restore = (name: string, a: RestoreArgs = {}) =>
  restoreDatabase({
    backup_filename: name,
    backup_source: a.source ?? "local",
    confirm_restore: true,
    create_pre_restore_backup: a.preRestore ?? false,
    target_database: a.target ?? "",
    dry_run: a.dryRun ?? false,
    tables: a.tables ?? [],
    skip_foreign_key_check: a.skipForeignKeyCheck ?? false,
    pg_dump_archive: a.pgDump ?? false,
    create_roles: a.createRoles ?? false,
    allow_empty_result: a.allowEmpty ?? false,
  }) as Promise<Restored>;

const configure = (settings: Record<string, unknown> = {}) =>
  mockWindmill(dir, {
    "f/admin/database": cluster.resource(HOSTILE),
    "f/admin/backup_settings": { backup_dir: backupDir, ...settings },
    "f/admin/s3_backup_config": s3.resource({ prefix: PREFIX }),
  });

async function backup(upload = false): Promise<string> {
  const result = (await backupDatabase("manual", upload, false, false)) as { filename: string };
  return result.filename;
}

/** Nothing an injected statement would do has happened. */
async function assertHarmless(): Promise<void> {
  assert.equal(existsSync(canary.file), false, `COPY … TO PROGRAM ran: ${canary.file} exists`);
  const role = await cluster.query("postgres", "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = $1", [canary.role]);
  assert.deepEqual(role.rows, [{ rolsuper: false, rolcreaterole: false }], `${canary.role} was changed`);
}

async function sameDatabase(expected: string, actual: string): Promise<void> {
  assert.deepEqual(compareCatalogs(await catalogOf(cluster, expected), await catalogOf(cluster, actual)), [],
    `${actual} differs from ${expected}`);
  assert.deepEqual(await dataFingerprint(cluster, actual), await dataFingerprint(cluster, expected));
}

const manifestPath = (name: string) => join(backupDir, name.replace(/\.sql\.gz$/, ".manifest.json"));
const readManifest = (name: string) => JSON.parse(readFileSync(manifestPath(name), "utf8"));

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase(HOSTILE);
  const client = await cluster.connect(HOSTILE);
  try {
    await createHostileDatabase(client, canary);
  } finally {
    await client.end();
  }
  s3 = await startS3Server();
  dir = mkdtempSync(join(tmpdir(), "wpb-security-"));
  backupDir = join(dir, "backups");
  configure({ dump: { roles: true, database_settings: true } });
});

after(async () => {
  await cluster?.stop();
  await s3?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  rmSync(canary.file, { force: true });
});

test("hostile names: the archive keeps every name inside its quotes, and gunzip | psql of it reproduces the database and runs nothing", async (t) => {
  configure({ dump: { roles: true, database_settings: true } });
  const name = await backup();
  const text = spawnSync("gunzip", ["-c", join(backupDir, name)], { maxBuffer: 1 << 28 }).stdout.toString("utf8");
  // The comment naming a table's rows is one line whatever the name holds.
  for (const line of text.split("\n").filter((l) => l.startsWith("-- Data for "))) assert.doesNotMatch(line, /\r/);
  const quotedSchema = `"${names.quotes.replaceAll('"', '""')}"`.replaceAll("\\", "\\\\");
  assert.ok(text.includes(`-- Data for ${quotedSchema}."t\\nCOPY (SELECT 1) TO PROGRAM`), "the newline is escaped in the comment");
  if (!cluster.clientBin) return t.skip("needs psql of the server's version");
  await cluster.createDatabase("hostile_psql");
  // The README's runbook, exactly.
  const replay = spawnSync("sh", ["-c", `gunzip -c "$1" | "$2/psql" -X -1 -v ON_ERROR_STOP=1 -d hostile_psql`, "sh", join(backupDir, name),
    cluster.clientBin], {
    env: cluster.libpqEnv(),
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  assert.equal(replay.status, 0, replay.stderr);
  await assertHarmless();
  await sameDatabase(HOSTILE, "hostile_psql");
});

test("hostile names: restored exactly into a new database, in place, from S3 and table by table, and none of it runs", async () => {
  configure({ dump: { roles: true, database_settings: true } });
  const name = await backup(true);
  const fresh = await restore(name, { target: "hostile_copy" });
  assert.equal(fresh.verification.passed, true);
  await assertHarmless();
  await sameDatabase(HOSTILE, "hostile_copy");
  // The role setting whose value carries a dollar-quote breakout came back as a value.
  const setting = await cluster.query("postgres",
    `SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE d.datname = 'hostile_copy'`);
  assert.deepEqual(setting.rows, [{ setconfig: [`application_name=${names.setting}`] }]);

  const before = await catalogOf(cluster, HOSTILE);
  const beforeData = await dataFingerprint(cluster, HOSTILE);
  await restore(name, { preRestore: true });
  await assertHarmless();
  assert.deepEqual(compareCatalogs(before, await catalogOf(cluster, HOSTILE)), []);
  assert.deepEqual(await dataFingerprint(cluster, HOSTILE), beforeData);

  await restore(name, { source: "s3", target: "hostile_from_s3" });
  await assertHarmless();
  await sameDatabase(HOSTILE, "hostile_from_s3");

  // Table by table: two hostile tables (one references the other; one has a trigger that would
  // rewrite every row on the way in), changed since the backup, restored from disk and from S3.
  const [schema, t1, t2] = [names.quotes, names.newline, names.carriageReturn];
  const tables = [`${schema}.${t1}`, `${schema}.${t2}`];
  for (const source of ["local", "s3"] as const) {
    const id = (s: string) => `"${s.replaceAll('"', '""')}"`;
    await cluster.query(HOSTILE, `DELETE FROM ${id(schema)}.${id(t2)}; UPDATE ${id(schema)}.${id(t1)} SET ${id(t1)} = 'changed'`);
    const result = await restore(name, { source, tables });
    assert.equal(result.verification.passed, true);
    assert.deepEqual(result.verification.tables.map((c) => c.table).sort(), [...tables].sort());
    await assertHarmless();
    assert.deepEqual(await dataFingerprint(cluster, HOSTILE), beforeData, `selective restore from ${source}`);
  }
  // The trigger is back as it was (enabled).
  const trigger = await cluster.query(HOSTILE, "SELECT tgenabled::text AS mode FROM pg_trigger WHERE tgname = $1", [names.nonAscii]);
  assert.deepEqual(trigger.rows, [{ mode: "O" }]);

  const preview = (await restore(name, { dryRun: true })) as unknown as { render_all: [unknown, unknown, { json: { changed: string } }] };
  assert.equal(preview.render_all[2].json.changed, "nothing");
  await assertHarmless();

  // The same database written by pg_dump, restored as a pg_dump archive.
  if (!cluster.clientBin) return;
  const dump = spawnSync(join(cluster.clientBin, "pg_dump"), ["-d", HOSTILE], { env: cluster.libpqEnv(), maxBuffer: 1 << 28 });
  assert.equal(dump.status, 0, dump.stderr?.toString());
  writeFileSync(join(backupDir, "hostile-pg_dump.sql.gz"), gzipSync(dump.stdout));
  await restore("hostile-pg_dump.sql.gz", { pgDump: true, target: "hostile_pg_dump" });
  await assertHarmless();
  await sameDatabase(HOSTILE, "hostile_pg_dump");
});

test("a version 1 backup (before member digests) still restores, checked whole first; an edited one is refused", async () => {
  // What version 1 wrote: no member digests, no roles or privileges fields, no seal; comments with
  // the names as they are (so this backup is of a database whose table names have no newline).
  await cluster.createDatabase("plain_v1");
  await cluster.query("plain_v1",
    "CREATE TABLE public.items (id int PRIMARY KEY, label text); INSERT INTO public.items SELECT i, md5(i::text) FROM generate_series(1, 2000) i");
  mockWindmill(dir, { "f/admin/database": cluster.resource("plain_v1"),
    "f/admin/backup_settings": { backup_dir: backupDir, dump: { privileges: false } } });
  const v1 = await backup();
  const path = manifestPath(v1);
  const manifest = readManifest(v1);
  for (const range of [manifest.sections.pre_data, manifest.sections.sequences, manifest.sections.post_data,
    ...manifest.tables.map((t: any) => t.range)]) delete range.sha256;
  for (const key of ["roles", "privileges", "manifest_sha256"]) delete manifest[key];
  manifest.format_version = 1;
  writeFileSync(path, JSON.stringify(manifest, null, 2));
  await cluster.query("plain_v1", "UPDATE public.items SET label = 'changed'");
  const restored = await restore(v1);
  assert.equal(restored.verification.passed, true);
  assert.equal((await cluster.query("plain_v1", "SELECT count(*)::int AS n FROM public.items WHERE label = 'changed'")).rows[0].n, 0);
  await cluster.query("plain_v1", "UPDATE public.items SET label = 'changed again' WHERE id = 1");
  assert.equal((await restore(v1, { tables: ["public.items"] })).verification.passed, true);

  forgeMember(join(backupDir, v1), manifest.tables[0].range, `\n-- Data for x\n\n${PAYLOAD()}`);
  const before = await dataFingerprint(cluster, "plain_v1");
  for (const args of [{}, { tables: ["public.items"] }] as RestoreArgs[]) {
    await assert.rejects(restore(v1, args), /does not match its manifest/);
  }
  await assertHarmless();
  assert.deepEqual(await dataFingerprint(cluster, "plain_v1"), before);
  configure();
});

/** The statement an attacker slips into a member: it would leave a file and move a sequence. */
const PAYLOAD = () => `COPY (SELECT 1) TO PROGRAM 'touch ${canary.file}';\nSELECT pg_catalog.nextval('public.canary_seq');\n`;

test("an archive edited after the backup, with its manifest untouched, is refused before anything of it runs, on every path", async () => {
  configure({ dump: { roles: true } });
  await cluster.query(HOSTILE, "CREATE SEQUENCE IF NOT EXISTS public.canary_seq");
  const canaryValue = async () => (await cluster.query(HOSTILE, "SELECT last_value::int AS v, is_called FROM public.canary_seq")).rows[0];
  const tableName = `${names.quotes}.${names.newline}`;
  const bothTables = [tableName, `${names.quotes}.${names.carriageReturn}`];
  const cases: Array<{ label: string; member: (m: any) => any; content: () => string; args: RestoreArgs }> = [
    { label: "full restore from disk, pre-data rewritten", member: (m) => m.sections.pre_data, content: PAYLOAD,
      args: { preRestore: true } },
    { label: "full restore from S3, pre-data rewritten", member: (m) => m.sections.pre_data, content: PAYLOAD,
      args: { source: "s3", preRestore: true } },
    {
      label: "full restore from S3, a table's member made to run its own COPY",
      args: { source: "s3" },
      member: (m) => m.tables.find((t: any) => `${t.schema}.${t.name}` === tableName).range,
      content: () => `\n-- Data for x\n\n${PAYLOAD()}COPY public.canary_seq FROM stdin;\n\\.\n\n`,
    },
    {
      label: "selective restore from disk, the table's rows changed behind an exact header",
      args: { tables: bothTables },
      member: (m) => m.tables.find((t: any) => `${t.schema}.${t.name}` === tableName).range,
      content: () => "",
    },
    {
      label: "selective restore from S3, the sequence values rewritten",
      args: { source: "s3", tables: bothTables },
      member: (m) => m.sections.sequences,
      content: () => `SELECT pg_catalog.setval('"public"."canary_seq"', 999, true);\n${PAYLOAD()}`,
    },
    { label: "preview from disk, post-data rewritten", member: (m) => m.sections.post_data, content: PAYLOAD, args: { dryRun: true } },
    { label: "preview from S3, pre-data rewritten", member: (m) => m.sections.pre_data, content: PAYLOAD,
      args: { source: "s3", dryRun: true } },
  ];
  for (const c of cases) {
    const name = await backup(true);
    const manifest = readManifest(name);
    const range = c.member(manifest);
    let content = c.content();
    if (content === "") {
      // The exact header the restore expects, then rows that are not the backup's: they may only ever travel as COPY data.
      const table = manifest.tables.find((t: any) => `${t.schema}.${t.name}` === tableName);
      const quoted = `"${table.schema.replaceAll('"', '""')}"."${table.name.replaceAll('"', '""')}"`;
      content = `\n-- Data for ${quoted.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll("\r", "\\r")}\n\nCOPY ${quoted} (${
        table.columns.join(", ")
      }) FROM stdin;\n999\tforged\t${names.quotes}\t1\n\\.\n\n`;
    }
    const local = join(backupDir, name);
    const remote = s3.objectPath(PREFIX + name);
    forgeMember(c.args.source === "s3" ? remote : local, range, content);
    const before = await dataFingerprint(cluster, HOSTILE);
    const sequenceBefore = await canaryValue();
    const files = (await import("node:fs")).readdirSync(backupDir).sort();
    await assert.rejects(restore(name, c.args), /was changed after the backup|does not match its manifest/, c.label);
    await assertHarmless();
    assert.deepEqual(await canaryValue(), sequenceBefore, `${c.label}: a sequence moved`);
    assert.deepEqual(await dataFingerprint(cluster, HOSTILE), before, `${c.label}: the database changed`);
    if (c.args.preRestore !== true) {
      assert.deepEqual((await import("node:fs")).readdirSync(backupDir).sort(), files, `${c.label}: files appeared`);
    }
  }
});

test("pg_dump_archive refuses a file pg_dump did not write, and one that would leave the database empty unless asked", async () => {
  configure();
  const before = await dataFingerprint(cluster, HOSTILE);
  const catalogBefore = await catalogOf(cluster, HOSTILE);
  writeFileSync(join(backupDir, "foreign.sql"), "-- foreign sql\n");
  await assert.rejects(restore("foreign.sql", { pgDump: true, preRestore: true }), /is not an archive made by pg_dump in plain format/);
  writeFileSync(join(backupDir, "foreign.sql.gz"), gzipSync(`SELECT 1;\n${PAYLOAD()}`));
  await assert.rejects(restore("foreign.sql.gz", { pgDump: true }), /is not an archive made by pg_dump in plain format/);
  const empty = "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\nSELECT 1;\n";
  writeFileSync(join(backupDir, "empty.sql"), empty);
  await assert.rejects(restore("empty.sql", { pgDump: true }), (error: Error) => {
    assert.match(error.message,
      /creates no table and no object, so restoring it would leave database "hostile" empty, dropping \d+ object\(s\): .*table/);
    assert.match(error.message, /allow_empty_result: true/);
    return true;
  });
  await assertHarmless();
  assert.deepEqual(await dataFingerprint(cluster, HOSTILE), before);
  assert.deepEqual(compareCatalogs(catalogBefore, await catalogOf(cluster, HOSTILE)), []);

  // Asked for: into a scratch database, which ends up empty.
  await cluster.createDatabase("scratch_empty");
  await cluster.query("scratch_empty", "CREATE TABLE public.doomed (id int)");
  const result = await restore("empty.sql", { pgDump: true, target: "scratch_empty", allowEmpty: true });
  assert.deepEqual(result.dropped_objects, ["table public.doomed"]);
});

test("a backup of an empty database is not restored over a full one unless asked", async () => {
  await cluster.createDatabase("empty_source");
  mockWindmill(dir, { "f/admin/database": cluster.resource("empty_source"), "f/admin/backup_settings": { backup_dir: backupDir } });
  const name = await backup();
  mockWindmill(dir, { "f/admin/database": cluster.resource(HOSTILE), "f/admin/backup_settings": { backup_dir: backupDir } });
  const before = await dataFingerprint(cluster, HOSTILE);
  const files = (await import("node:fs")).readdirSync(backupDir).sort();
  await assert.rejects(restore(name, { preRestore: true }),
    /creates no table and no object, so restoring it would leave database "hostile" empty/);
  assert.deepEqual(await dataFingerprint(cluster, HOSTILE), before);
  assert.deepEqual((await import("node:fs")).readdirSync(backupDir).sort(), files, "no pre-restore backup was taken");
});
