// In-place restores and extensions: the target keeps every installed extension (a non-superuser
// could not create pgvector again), its objects are never dropped or dumped, and the tables that
// use extension types come back exactly.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { dataFingerprint, mockWindmill, schemaText } from "./support/judge.ts";

let cluster: Cluster;
let dir: string;

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("app");
  await cluster.query("app", `
    CREATE EXTENSION hstore;
    CREATE EXTENSION citext;
    CREATE TABLE public.profiles (id int PRIMARY KEY, email public.citext UNIQUE, attrs public.hstore);
    INSERT INTO public.profiles VALUES (1, 'Ann@Example.com', 'a=>1, "b c"=>"d\\"e"'), (2, 'bob@example.com', NULL);
    CREATE INDEX profiles_attrs ON public.profiles USING gin (attrs);`);
  dir = mkdtempSync(join(tmpdir(), "wpb-ext-"));
  mockWindmill(dir, { "f/admin/database": cluster.resource("app"), "f/admin/backup_settings": { backup_dir: join(dir, "backups") } });
});

after(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const extensions = async (db: string) =>
  (await cluster.query(db, "SELECT extname FROM pg_extension ORDER BY 1")).rows.map((r) => r.extname as string);

test("an in-place restore keeps installed extensions, even one the backup does not have", async () => {
  const original = { data: await dataFingerprint(cluster, "app"), schema: schemaText(cluster, "app") };
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string };
  await cluster.query("app", `
    CREATE EXTENSION pg_trgm;
    INSERT INTO public.profiles VALUES (3, 'later@example.com', 'x=>y');
    CREATE TABLE public.words (w text); CREATE INDEX words_trgm ON public.words USING gin (w public.gin_trgm_ops);`);
  const result = await restoreDatabase({ backup_filename: backup.filename, confirm_restore: true });
  assert.equal(result.verification.passed, true);
  assert.deepEqual(result.dropped_objects, ["table public.words"], "extension objects are not reported as dropped");
  assert.deepEqual(await extensions("app"), ["citext", "hstore", "pg_trgm", "plpgsql"]);
  assert.deepEqual(await dataFingerprint(cluster, "app"), original.data);
  const similarity = await cluster.query("app", "SELECT public.similarity('word', 'words') > 0 AS works");
  assert.equal(similarity.rows[0].works, true, "pg_trgm's functions are still there");
  await cluster.query("app", "DROP EXTENSION pg_trgm");
  if (original.schema !== undefined) assert.equal(schemaText(cluster, "app"), original.schema);
});

test("a restore into a new database creates the extensions the backup needs", async () => {
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string };
  const result = await restoreDatabase({ backup_filename: backup.filename, confirm_restore: true, target_database: "app_copy" });
  assert.equal(result.verification.passed, true);
  assert.deepEqual(await extensions("app_copy"), ["citext", "hstore", "plpgsql"]);
  assert.deepEqual(await dataFingerprint(cluster, "app_copy"), await dataFingerprint(cluster, "app"));
});
