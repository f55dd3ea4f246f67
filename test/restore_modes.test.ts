// restore_database's modes through `main`, on a real PostgreSQL (and s3rver): the preview changes
// nothing, a selective restore touches no other table and reads only its tables' bytes, an archive
// made by pg_dump (the corpus's pagila) restores and verifies, and a database the app holds locked
// gives a message naming the sessions, or is freed on request.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gzipSync } from "node:zlib";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { createFamilyBrainDatabase } from "./support/family-brain.ts";
import { dataFingerprint, mockWindmill, schemaText } from "./support/judge.ts";
import { startS3Proxy, startS3Server, type S3Proxy, type S3Server } from "./support/s3.ts";

const SOURCE = "family_brain";
const CORPUS = join(import.meta.dirname, "..", "..", "shared", "corpus");
let cluster: Cluster;
let s3: S3Server;
let proxy: S3Proxy;
let dir: string;
let backupDir: string;

const resources = (settings: Record<string, unknown> = {}) =>
  mockWindmill(dir, {
    "f/admin/database": cluster.resource(SOURCE),
    "f/admin/backup_settings": { backup_dir: backupDir, ...settings },
    "f/admin/s3_backup_config": proxy.resource({ prefix: "modes/" }),
  });

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase(SOURCE);
  const client = await cluster.connect(SOURCE);
  await createFamilyBrainDatabase(client);
  await client.end();
  s3 = await startS3Server();
  proxy = await startS3Proxy(s3);
  dir = mkdtempSync(join(tmpdir(), "wpb-modes-"));
  backupDir = join(dir, "backups");
  resources();
});

after(async () => {
  await proxy?.stop();
  await s3?.stop();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function snapshotOf(dbname: string) {
  return { schema: schemaText(cluster, dbname), data: await dataFingerprint(cluster, dbname) };
}

async function manualBackup(uploadToS3 = false): Promise<string> {
  return ((await backupDatabase("manual", uploadToS3, false, false)) as { filename: string }).filename;
}

const count = async (dbname: string, sql: string) => Number((await cluster.query(dbname, sql)).rows[0].n);

type Preview = { render_all: [{ markdown: string }, { "table-row-object": unknown[] }, { json: Record<string, any> }] };

test("a preview checks the archive and says what a restore would change, and changes nothing", async () => {
  const name = await manualBackup();
  await cluster.query(SOURCE, "CREATE TABLE public.added_later (id int); CREATE VIEW public.later_view AS SELECT 1 AS one");
  const deleted = await count(SOURCE, "WITH d AS (DELETE FROM public.ai_usage WHERE id % 3 = 0 RETURNING 1) SELECT count(*) AS n FROM d");
  try {
    const files = readdirSync(backupDir).sort();
    const state = await snapshotOf(SOURCE);
    const result = (await restoreDatabase({ backup_filename: name, dry_run: true })) as unknown as Preview;
    const [{ markdown }, { "table-row-object": table }, { json }] = result.render_all;

    assert.deepEqual(await snapshotOf(SOURCE), state, "catalog and data unchanged");
    assert.deepEqual(readdirSync(backupDir).sort(), files, "no file written, no pre-restore backup");
    assert.equal(json.status, "dry_run");
    assert.match(json.archive_check, /^sha256 of the archive and of each member matches the manifest; \d+ gzip members read to the end/);
    assert.match(json.backup_age, /^(less than a minute|\d+ minutes?)$/);
    assert.deepEqual(table[0], ["table", "rows_in_target", "rows_in_backup", "difference", "restore_will"]);
    const row = (t: string) => (table.slice(1) as Array<Record<string, unknown>>).find((r) => r.table === t)!;
    assert.equal(row("public.ai_usage").difference, deleted);
    assert.equal(row("public.ai_usage").restore_will, "replace");
    assert.deepEqual(row("public.added_later"), { table: "public.added_later", rows_in_target: 0, rows_in_backup: null,
      restore_will: "drop", difference: null });
    assert.deepEqual(json.would_drop.map((o: { kind: string; name: string }) => `${o.kind} ${o.name}`).sort(), ["table added_later",
      "view later_view"]);
    assert.deepEqual(json.would_create, []);
    for (const e of json.extensions) assert.equal(e.can_create, "installed");
    assert.match(markdown, /Dropped for good.*table public\.added_later/);
    assert.match(markdown, /Nothing was changed/);
  } finally {
    await cluster.query(SOURCE, "DROP VIEW public.later_view; DROP TABLE public.added_later");
  }
  // A damaged archive fails the preview, naming the problem.
  const path = join(backupDir, name);
  const bytes = readFileSync(path);
  bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
  writeFileSync(path, bytes);
  await assert.rejects(restoreDatabase({ backup_filename: name, dry_run: true }), /cannot be read to the end|does not match its manifest/);
  rmSync(path);
});

test("a selective restore replaces only the chosen tables' rows, refuses what would orphan other tables' rows unless asked, and sets their sequences", async () => {
  const name = await manualBackup();
  const original = await dataFingerprint(cluster, SOURCE);
  await cluster.query(SOURCE, "DELETE FROM public.family_documents WHERE id % 2 = 0");
  await cluster.query(SOURCE,
    "INSERT INTO public.family_documents (tenant_id, title) SELECT tenant_id, 'after the backup' FROM public.family_documents LIMIT 5");
  await cluster.query(SOURCE, "DELETE FROM public.ai_usage WHERE id % 5 = 0");
  const changed = await dataFingerprint(cluster, SOURCE);
  const sequenceAfter = await count(SOURCE, "SELECT last_value AS n FROM public.family_documents_id_seq");

  const tables = ["public.family_documents"];
  const files = readdirSync(backupDir).sort();
  await assert.rejects(
    restoreDatabase({ backup_filename: name, confirm_restore: true, tables: ["public.chat_sessions"] }),
    /the restore empties the chosen tables, and 1 foreign key\(s\) of tables left out point at their rows: public\.chat_messages → public\.chat_sessions .*Add those tables to tables \(public\.chat_messages\), or pass skip_foreign_key_check: true/,
  );
  await assert.rejects(
    restoreDatabase({ backup_filename: name, confirm_restore: true, tables: ["public.tenants"], skip_foreign_key_check: true }),
    /would change .*through ON DELETE actions/,
  );
  assert.deepEqual(await dataFingerprint(cluster, SOURCE), changed, "refusals change nothing");
  assert.deepEqual(readdirSync(backupDir).sort(), files, "and write no pre-restore backup");

  // The documents point at members and tenants, which stay: PostgreSQL checks every restored row, no flag needed.
  const result = await restoreDatabase({ backup_filename: name, confirm_restore: true, tables });
  assert.equal(result.verification.passed, true);
  assert.deepEqual(result.verification.tables.map((t) => t.table), tables);
  assert.deepEqual(result.sequences_set, ["public.family_documents_id_seq"]);
  assert.deepEqual(result.rollback_request && { tables: result.rollback_request.tables, from: result.rollback_request.backup_filename }, {
    tables,
    from: result.pre_restore_backup,
  });
  const now = await dataFingerprint(cluster, SOURCE);
  for (const [table, fingerprint] of Object.entries(now)) {
    assert.equal(fingerprint, table === "public.family_documents" ? original[table] : changed[table], table);
  }
  const sequenceNow = await count(SOURCE, "SELECT last_value AS n FROM public.family_documents_id_seq");
  assert.ok(sequenceNow < sequenceAfter, "the sequence is back at the backup's value");
});

test("a selective restore from S3 reads only the chosen table's member and the sequences, by ranged GETs", async () => {
  const name = await manualBackup(true);
  rmSync(join(backupDir, name));
  await cluster.query(SOURCE, "DELETE FROM public.chat_messages WHERE id % 2 = 0");
  proxy.requests.length = 0;
  const result = await restoreDatabase({ backup_filename: name, backup_source: "s3", confirm_restore: true,
    create_pre_restore_backup: false, tables: ["public.chat_messages"], skip_foreign_key_check: true });
  assert.equal(result.verification.passed, true);
  const archiveGets = proxy.requests.filter((r) => r.method === "GET" && r.url.includes(name));
  assert.equal(archiveGets.length, 2, "one GET for the table's member, one for the sequences member");
  for (const get of archiveGets) assert.match(String(get.headers.range), /^bytes=\d+-\d+$/);
  assert.equal(result.verification.tables[0]!.actual_rows, result.verification.tables[0]!.expected_rows);
});

test("a table whose schema and name have non-ASCII letters restores (the COPY line is sent as UTF-8)", async () => {
  await cluster.query(SOURCE,
    `CREATE SCHEMA "Ünï"; CREATE TABLE "Ünï"."tåble" ("çol" text); INSERT INTO "Ünï"."tåble" VALUES ('é'), ('日本')`);
  try {
    const name = await manualBackup();
    const result = await restoreDatabase({ backup_filename: name, confirm_restore: true, create_pre_restore_backup: false,
      target_database: "unicode_copy" });
    assert.equal(result.verification.passed, true);
    assert.equal(await count("unicode_copy", `SELECT count(*) AS n FROM "Ünï"."tåble" WHERE "çol" IN ('é', '日本')`), 2);
  } finally {
    await cluster.query(SOURCE, `DROP SCHEMA "Ünï" CASCADE`);
  }
});

test("a restore behind the app's lock names the sessions holding it; terminate_sessions ends them and the restore succeeds", async () => {
  const name = await manualBackup();
  resources({ lock_timeout_seconds: 1 });
  const app = await cluster.connect(SOURCE);
  app.on("error", () => undefined);
  try {
    await app.query("SET application_name = 'family-app'");
    const pid = Number((await app.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
    await app.query("BEGIN");
    await app.query("SELECT count(*) FROM public.chat_messages");
    const state = await snapshotOf(SOURCE);
    await assert.rejects(
      restoreDatabase({ backup_filename: name, confirm_restore: true, create_pre_restore_backup: false }),
      new RegExp(
        `sessions holding locks: pid ${pid} \\(application_name "family-app", user postgres, from [^,]+, idle in transaction since [^;]+; holds [^)]*public\\.chat_messages \\(AccessShareLock\\)`,
      ),
    );
    assert.deepEqual(await snapshotOf(SOURCE), state);

    const result = await restoreDatabase({ backup_filename: name, confirm_restore: true, create_pre_restore_backup: false,
      terminate_sessions: true });
    assert.equal(result.verification.passed, true);
    assert.deepEqual(result.terminated_sessions.map((s) => [s.pid, s.application_name]), [[pid, "family-app"]]);
    assert.match(result.reminder, /connection pools/);
    await assert.rejects(app.query("SELECT 1"), "the app's session was ended");
  } finally {
    await app.end().catch(() => undefined);
    resources();
  }
});

const pgDump = (dbname: string, args: string[] = []) => {
  const out = spawnSync(join(cluster.clientBin!, "pg_dump"), [...args, "-d", dbname], { env: cluster.libpqEnv(), maxBuffer: 1 << 30 });
  assert.equal(out.status, 0, String(out.stderr));
  return out.stdout as Buffer;
};

test("an archive made by pg_dump (the corpus's pagila, gzipped by an old cron job) restores in place and verifies", async (t) => {
  if (!cluster.clientBin || !existsSync(join(CORPUS, "load.sh"))) {
    return t.skip("needs pg_dump and psql of the server's version and ../shared/corpus");
  }
  const load = spawnSync(join(CORPUS, "load.sh"), ["pagila", "pagila_src"], { env: { ...cluster.libpqEnv(), PGBIN: cluster.clientBin },
    encoding: "utf8" });
  assert.equal(load.status, 0, load.stderr);
  const archive = "nightly-pagila.sql.gz";
  writeFileSync(join(backupDir, archive), gzipSync(pgDump("pagila_src")));
  await cluster.createDatabase("pagila_target");
  await cluster.query("pagila_target", "CREATE TABLE public.leftover (id int); INSERT INTO public.leftover VALUES (1)");

  const started = Date.now();
  const result = await restoreDatabase({ backup_filename: archive, confirm_restore: true, target_database: "pagila_target",
    pg_dump_archive: true });
  t.diagnostic(`pagila (${result.rows_restored} rows) restored from a pg_dump archive in ${Date.now() - started} ms`);
  assert.equal(result.verification.passed, true);
  assert.equal(result.archive_kind, "pg_dump plain format");
  assert.ok(result.verification.tables.length >= 15);
  assert.ok(result.verification.tables.every((v) => v.match && v.expected_digest === null));
  assert.deepEqual(result.dropped_objects, ["table public.leftover"]);
  assert.ok(result.pre_restore_backup && existsSync(join(backupDir, result.pre_restore_backup)));
  assert.deepEqual(await dataFingerprint(cluster, "pagila_target"), await dataFingerprint(cluster, "pagila_src"));
  assert.equal(schemaText(cluster, "pagila_target"), schemaText(cluster, "pagila_src"));

  // The same archive as plain text, under another name, also works; one made with --create is refused before anything changes.
  writeFileSync(join(backupDir, "old.sql"), pgDump("pagila_src", ["--create"]));
  const state = await dataFingerprint(cluster, "pagila_target");
  await assert.rejects(
    restoreDatabase({ backup_filename: "old.sql", confirm_restore: true, target_database: "pagila_target", pg_dump_archive: true }),
    /switches database at line \d+ \(\\connect .*pg_dump --create/,
  );
  assert.deepEqual(await dataFingerprint(cluster, "pagila_target"), state);
  await assert.rejects(
    restoreDatabase({ backup_filename: "../etc/passwd", confirm_restore: true, target_database: "pagila_target", pg_dump_archive: true }),
    /Invalid backup file name/,
  );
});
