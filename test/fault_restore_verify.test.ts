// Faults during a restore, and what the user still has afterwards: a selective restore that fails
// at COMMIT (sequences included), a row the server rejects, an S3 download cut halfway, a manifest
// edited by hand, rows that are not the backup's (the verification itself made to fail). Each:
// no crash, an error that says what failed, the database exactly as it was (sequences too), a
// database the restore created dropped again.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { listBackups } from "./support/listing.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { rewriteMemberHonestly } from "./support/archive-edit.ts";
import { catalogOf, compareCatalogs } from "./support/catalog-judge.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { dataFingerprint, mockWindmill } from "./support/judge.ts";
import { startS3Proxy, startS3Server, type S3Proxy, type S3Server } from "./support/s3.ts";

const DB = "faults";
const PREFIX = "faults/";
let cluster: Cluster;
let s3: S3Server;
let proxy: S3Proxy;
let dir: string;
let backupDir: string;

type Restored = Extract<Awaited<ReturnType<typeof restoreDatabase>>, { status: string }>;
const restore = (name: string, a: { source?: "local" | "s3"; target?: string; tables?: string[]; skipForeignKeyCheck?: boolean } = {}) =>
  restoreDatabase({ backup_filename: name, backup_source: a.source ?? "local", confirm_restore: true, create_pre_restore_backup: false,
    target_database: a.target ?? "", tables: a.tables ?? [], skip_foreign_key_check: a.skipForeignKeyCheck ?? false }) as Promise<Restored>;
const backup = async (upload = false) => ((await backupDatabase("manual", upload, false, false)) as { filename: string }).filename;
const manifestPath = (name: string) => join(backupDir, name.replace(/\.sql\.gz$/, ".manifest.json"));

/** Everything a user could notice: every object with its definition and privileges, every sequence's value, every row. */
async function state(dbname = DB): Promise<{ catalog: Map<string, string>; data: Record<string, string> }> {
  return { catalog: await catalogOf(cluster, dbname), data: await dataFingerprint(cluster, dbname) };
}
async function assertUnchanged(before: Awaited<ReturnType<typeof state>>): Promise<void> {
  const now = await state();
  assert.deepEqual(compareCatalogs(before.catalog, now.catalog), [], "objects, privileges and sequence values as they were");
  assert.deepEqual(now.data, before.data, "rows as they were");
}
const databaseExists = async (name: string) =>
  (await cluster.query("postgres", "SELECT count(*)::int AS n FROM pg_database WHERE datname = $1", [name])).rows[0].n === 1;

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase(DB);
  await cluster.query(DB, `
    CREATE TABLE public.parent (id int PRIMARY KEY, name text);
    CREATE TABLE public.child (id serial PRIMARY KEY, parent_id int REFERENCES public.parent (id) DEFERRABLE, note text);
    CREATE TABLE public.big (id int PRIMARY KEY, payload text);
    INSERT INTO public.parent SELECT i, 'p' || i FROM generate_series(1, 10) i;
    INSERT INTO public.child (parent_id, note) SELECT 1 + i % 10, md5(i::text) FROM generate_series(1, 500) i;
    INSERT INTO public.big SELECT i, repeat(md5(i::text), 20) FROM generate_series(1, 3000) i;
  `);
  s3 = await startS3Server();
  proxy = await startS3Proxy(s3);
  dir = mkdtempSync(join(tmpdir(), "wpb-faults-restore-"));
  backupDir = join(dir, "backups");
  mockWindmill(dir, {
    "f/admin/database": cluster.resource(DB),
    "f/admin/backup_settings": { backup_dir: backupDir },
    "f/admin/s3_backup_config": proxy.resource({ prefix: PREFIX }),
  });
});

after(async () => {
  await cluster?.stop();
  await proxy?.stop();
  await s3?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("a selective restore that fails at COMMIT changes nothing, sequences included", async () => {
  const name = await backup();
  // Since the backup: 200 more children (the sequence moved 500 → 700), and parent 10 is gone with its children.
  await cluster.query(DB, `
    INSERT INTO public.child (parent_id, note) SELECT 1 + i % 9, 'later' FROM generate_series(1, 200) i;
    DELETE FROM public.child WHERE parent_id = 10; DELETE FROM public.parent WHERE id = 10;
  `);
  const before = await state();
  assert.match(before.catalog.get("sequence value public.child_id_seq") ?? "", /^last_value 700 is_called t$/);
  // The backup's children point at parent 10 again: the deferred foreign key fails at COMMIT.
  await assert.rejects(restore(name, { tables: ["public.child"], skipForeignKeyCheck: true }),
    /violates foreign key constraint "child_parent_id_fkey"/);
  await assertUnchanged(before);
  const next = await cluster.query(DB, "INSERT INTO public.child (parent_id, note) VALUES (1, 'next') RETURNING id");
  assert.equal(next.rows[0].id, 701, "the app's next insert gets a fresh id");
  await cluster.query(DB, "DELETE FROM public.child WHERE id = 701; SELECT setval('public.child_id_seq', 700)");
});

test("a row the server rejects fails the restore with the table's name, in place and into a new database (dropped again)", async () => {
  const name = await backup();
  rewriteMemberHonestly(join(backupDir, name), manifestPath(name), (m) => m.tables.find((t: { name: string }) => t.name === "parent").range,
    (text) => text.replace("\\.\n", "not-a-number\tbroken\n\\.\n"));
  const before = await state();
  await assert.rejects(restore(name),
    /Loading the rows of "public"\."parent" failed: invalid input syntax for type integer: "not-a-number"/);
  await assertUnchanged(before);
  await assert.rejects(restore(name, { target: "faults_new" }), /Loading the rows of "public"\."parent" failed/);
  assert.equal(await databaseExists("faults_new"), false, "the database the restore created was dropped");
});

test("an S3 download cut in the middle of a table fails the restore cleanly, in place and into a new database", async () => {
  const name = await backup(true);
  const manifest = JSON.parse(readFileSync(manifestPath(name), "utf8"));
  const big = manifest.tables.find((t: { name: string }) => t.name === "big").range;
  // The ranged GET of the big table's member gets half its bytes, then the connection drops.
  proxy.cutAfter = (
    r,
  ) => (r.method === "GET" && r.url.includes(name.replace(/\.sql\.gz$/, "")) &&
      String(r.headers.range ?? "").startsWith(`bytes=${big.start}-`)
    ? Math.floor((big.end - big.start) / 2) :
    undefined);
  try {
    const before = await state();
    await assert.rejects(restore(name, { source: "s3" }), /Loading the rows of "public"\."big" failed/);
    await assertUnchanged(before);
    await assert.rejects(restore(name, { source: "s3", target: "faults_cut" }), /Loading the rows of "public"\."big" failed/);
    assert.equal(await databaseExists("faults_cut"), false);
  } finally {
    proxy.cutAfter = undefined;
  }
});

test("a manifest edited by hand is caught by its own digest: not verified in the list, refused by a restore", async () => {
  const name = await backup();
  const path = manifestPath(name);
  const manifest = JSON.parse(readFileSync(path, "utf8"));
  manifest.tables[0].rows += 1;
  writeFileSync(path, JSON.stringify(manifest, null, 2));
  const rows = await listBackups(false, "manual", true);
  const row = rows.find((r) => r.name === name)!;
  assert.match(String(row.verified), /^no: .*was changed after the backup \(its own sha256 does not match its content\)/);
  const before = await state();
  await assert.rejects(restore(name), /cannot be trusted \(Manifest .* was changed after the backup/);
  await assertUnchanged(before);
});

test("rows that are not the backup's (the archive and its digests rewritten, the rows' digests not) fail verification and roll back", async () => {
  const name = await backup();
  rewriteMemberHonestly(join(backupDir, name), manifestPath(name), (m) => m.tables.find((t: { name: string }) => t.name === "parent").range,
    (text) => text.replace("1\tp1\n", "1\tp1 (changed)\n"));
  const before = await state();
  await assert.rejects(restore(name),
    /Verification failed, so the restore was rolled back and the database is as it was: public\.parent has (\d+) rows \(expected \1\), content differs/);
  await assertUnchanged(before);
  await assert.rejects(restore(name, { target: "faults_unverified" }), /Verification failed/);
  assert.equal(await databaseExists("faults_unverified"), false);
  // And when the rows are the backup's, the result's verification is computed from the checks.
  const good = await backup();
  const result = await restore(good, { target: "faults_verified" });
  assert.equal(result.verification.passed, true);
  assert.ok(
    result.verification.tables.length === 3 && result.verification.tables.every((t) => t.match && t.expected_digest === t.actual_digest),
  );
});
