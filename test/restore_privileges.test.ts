// Who may do what is part of the database: a restore brings owners and grants back exactly,
// whatever default privileges the target holds (revoked stays revoked), keeps the changed
// privileges of extension members and pg_catalog objects (pg_init_privs, as pg_dump does), and an
// app that connects as its own role keeps working after a restore with default settings. A server
// that lacks the roles refuses the restore before anything changes, naming them and the way on.
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { catalogOf, compareCatalogs } from "./support/catalog-judge.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { dataFingerprint, mockWindmill } from "./support/judge.ts";

let cluster: Cluster;
let dir: string;
let backupDir: string;

type Restored = Extract<Awaited<ReturnType<typeof restoreDatabase>>, { status: string }>;
type Previewed = { render_all: [{ markdown: string }, unknown, { json: { missing_roles: string[]; privileges: string } }] };

const use = (c: Cluster, dbname: string, settings: Record<string, unknown> = {}) =>
  mockWindmill(dir, { "f/admin/database": c.resource(dbname), "f/admin/backup_settings": { backup_dir: backupDir, ...settings } });
const backup = async () => ((await backupDatabase("manual", false, false, false)) as { filename: string }).filename;
const restore = (name: string, target = "", options: { dryRun?: boolean; createRoles?: boolean; preRestore?: boolean } = {}) =>
  restoreDatabase({ backup_filename: name, confirm_restore: true, create_pre_restore_backup: options.preRestore ?? false,
    target_database: target, dry_run: options.dryRun ?? false, create_roles: options.createRoles ?? false });

/** Privileges as PostgreSQL answers them for a role (has_*_privilege), the judge the issue names. */
async function can(c: Cluster, dbname: string, checks: Array<[what: string, sql: string]>): Promise<Record<string, boolean>> {
  const result: Record<string, boolean> = {};
  for (const [what, sql] of checks) result[what] = (await c.query(dbname, `SELECT (${sql}) AS ok`)).rows[0].ok;
  return result;
}

before(async () => {
  cluster = await startCluster();
  dir = mkdtempSync(join(tmpdir(), "wpb-privileges-"));
  backupDir = join(dir, "backups");
});

after(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const REVOKED = [
  ["r_app on t", "has_table_privilege('r_app', 'public.t', 'SELECT')"],
  ["r_app on f", "has_function_privilege('r_app', 'public.f()', 'EXECUTE')"],
  ["anon on profiles", "has_table_privilege('anon', 'public.profiles', 'SELECT')"],
  ["anon on the definer function", "has_function_privilege('anon', 'public.admin_only()', 'EXECUTE')"],
] as Array<[string, string]>;

test("default privileges on the target never give back what the backup revoked (in place and into a new database)", async () => {
  await cluster.query("postgres", "CREATE ROLE r_app; CREATE ROLE anon; CREATE ROLE r_none");
  await cluster.createDatabase("defaults");
  // The issue's seven lines, then a Supabase-style schema: defaults for anon, access revoked on what is private.
  await cluster.query("defaults", `
    ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO r_app;
    ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO r_app;
    CREATE TABLE t ();
    REVOKE ALL ON t FROM r_app;
    CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
    REVOKE EXECUTE ON FUNCTION f() FROM r_app, PUBLIC;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon;
    CREATE TABLE public.profiles (id int PRIMARY KEY, secret text);
    REVOKE ALL ON public.profiles FROM anon;
    CREATE FUNCTION public.admin_only() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 42';
    REVOKE ALL ON FUNCTION public.admin_only() FROM anon, PUBLIC, r_app;
  `);
  assert.deepEqual(Object.values(await can(cluster, "defaults", REVOKED)), [false, false, false, false]);
  const source = await catalogOf(cluster, "defaults");
  use(cluster, "defaults");
  const name = await backup();

  // After the backup, someone granted more: the in-place restore takes it all back to the backup's state.
  await cluster.query("defaults", `
    GRANT SELECT ON t TO r_none; GRANT USAGE, CREATE ON SCHEMA public TO r_none;
    ALTER DEFAULT PRIVILEGES GRANT SELECT ON SEQUENCES TO r_none;
  `);
  const inPlace = (await restore(name, "", { preRestore: true })) as Restored;
  assert.equal(inPlace.verification.passed, true);
  assert.deepEqual(await can(cluster, "defaults", REVOKED), Object.fromEntries(REVOKED.map(([w]) => [w, false])));
  assert.deepEqual(compareCatalogs(source, await catalogOf(cluster, "defaults")), [],
    "in place: owners, grants and default privileges as in the backup");
  assert.ok(inPlace.dropped_objects.includes("default privileges for role postgres on sequences"), inPlace.dropped_objects.join(", "));

  await restore(name, "defaults_copy");
  assert.deepEqual(await can(cluster, "defaults_copy", REVOKED), Object.fromEntries(REVOKED.map(([w]) => [w, false])));
  assert.deepEqual(compareCatalogs(source, await catalogOf(cluster, "defaults_copy")), [], "new database");
});

const EXTENSION_CHECKS = [
  ["PUBLIC on gen_random_bytes", "has_function_privilege('r_none', 'public.gen_random_bytes(integer)', 'EXECUTE')"],
  ["r_app on gen_random_bytes", "has_function_privilege('r_app', 'public.gen_random_bytes(integer)', 'EXECUTE')"],
  ["r_app on pg_ls_dir", "has_function_privilege('r_app', 'pg_catalog.pg_ls_dir(text)', 'EXECUTE')"],
  ["PUBLIC on pg_catalog.md5", "has_function_privilege('r_none', 'pg_catalog.md5(text)', 'EXECUTE')"],
  ["r_app on pg_authid", "has_table_privilege('r_app', 'pg_catalog.pg_authid', 'SELECT')"],
] as Array<[string, string]>;

test("changed privileges of extension members and pg_catalog objects are backed up and restored, in place too", async (t) => {
  await cluster.createDatabase("ext");
  try {
    await cluster.query("ext", "CREATE EXTENSION pgcrypto");
  } catch (error) {
    return t.skip(`pgcrypto is not available on this server: ${(error as Error).message}`);
  }
  await cluster.query("ext", `
    REVOKE ALL ON FUNCTION public.gen_random_bytes(integer) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION public.gen_random_bytes(integer) TO r_app;
    GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text) TO r_app;
    REVOKE EXECUTE ON FUNCTION pg_catalog.md5(text) FROM PUBLIC;
    GRANT SELECT ON pg_catalog.pg_authid TO r_app;
  `);
  const expected = { "PUBLIC on gen_random_bytes": false, "r_app on gen_random_bytes": true, "r_app on pg_ls_dir": true,
    "PUBLIC on pg_catalog.md5": false, "r_app on pg_authid": true };
  assert.deepEqual(await can(cluster, "ext", EXTENSION_CHECKS), expected);
  use(cluster, "ext");
  const name = await backup();

  await restore(name, "ext_copy");
  assert.deepEqual(await can(cluster, "ext_copy", EXTENSION_CHECKS), expected, "new database");

  // The target drifted the other way: the in-place restore puts every one back.
  await cluster.query("ext", `
    GRANT EXECUTE ON FUNCTION public.gen_random_bytes(integer) TO PUBLIC;
    REVOKE ALL ON FUNCTION public.gen_random_bytes(integer) FROM r_app;
    GRANT EXECUTE ON FUNCTION public.gen_random_bytes(integer) TO r_none;
    REVOKE EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text) FROM r_app;
    GRANT EXECUTE ON FUNCTION pg_catalog.md5(text) TO PUBLIC;
    REVOKE SELECT ON pg_catalog.pg_authid FROM r_app;
    GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_file(text) TO r_none;
  `);
  await restore(name);
  assert.deepEqual(await can(cluster, "ext", EXTENSION_CHECKS), expected, "in place");
  const extra = await can(cluster, "ext", [["r_none on pg_read_file",
    "has_function_privilege('r_none', 'pg_catalog.pg_read_file(text)', 'EXECUTE')"]]);
  assert.deepEqual(extra, { "r_none on pg_read_file": false }, "a grant made after the backup is gone");
});

/** The app of the issue: its own login roles, one owning the tables, one using them. */
const APP = `
  CREATE TABLE public.notes (id bigserial PRIMARY KEY, body text NOT NULL);
  CREATE TABLE public.tags (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note_id bigint REFERENCES public.notes (id), tag text);
  INSERT INTO public.notes (body) VALUES ('first'), ('second');
  ALTER TABLE public.notes OWNER TO app_owner;
  ALTER TABLE public.tags OWNER TO app_owner;
  GRANT USAGE ON SCHEMA public TO app_user;
  GRANT SELECT, INSERT, UPDATE ON public.notes, public.tags TO app_user;
  GRANT USAGE ON SEQUENCE public.notes_id_seq TO app_user;
`;

async function asApp(c: Cluster, dbname: string, role: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ host: c.host, port: c.port, user: role, password: "app-pass", database: dbname });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

test("an app that connects as its own role keeps working after a restore with default settings; a server without its roles refuses first", async () => {
  await cluster.query("postgres", "CREATE ROLE app_owner LOGIN PASSWORD 'app-pass'; CREATE ROLE app_user LOGIN PASSWORD 'app-pass'");
  await cluster.createDatabase("app");
  await cluster.query("app", APP);
  use(cluster, "app");
  const name = await backup();
  await restore(name, "app_at_backup");
  const atBackup = await dataFingerprint(cluster, "app_at_backup");
  await asApp(cluster, "app", "app_user", "INSERT INTO public.notes (body) VALUES ('after the backup')");

  const restored = (await restore(name, "", { preRestore: true })) as Restored;
  assert.equal(restored.verification.passed, true);
  const inserted = await asApp(cluster, "app", "app_user", "INSERT INTO public.notes (body) VALUES ('after the restore') RETURNING id");
  assert.equal(inserted.rows[0].id, "3", "the sequence is the backup's and the app's role may use it");
  assert.equal((await asApp(cluster, "app", "app_user", "SELECT count(*)::int AS n FROM public.notes")).rows[0].n, 3);
  assert.equal((await asApp(cluster, "app", "app_owner", "ALTER TABLE public.tags ADD COLUMN extra int")).command, "ALTER",
    "the owner still owns its table");

  // Another server, without the app's roles: refused before anything changes, the roles named.
  const other = await startCluster();
  const otherDir = mkdtempSync(join(tmpdir(), "wpb-privileges-other-"));
  try {
    cpSync(backupDir, join(otherDir, "backups"), { recursive: true });
    backupDir = join(otherDir, "backups");
    use(other, "postgres");
    const files = readdirSync(backupDir).sort();
    const preview = (await restore(name, "app_elsewhere", { dryRun: true })) as unknown as Previewed;
    assert.deepEqual(preview.render_all[2].json.missing_roles, ["app_owner", "app_user"]);
    assert.match(preview.render_all[0].markdown, /roles app_owner, app_user do not exist on this server/);
    await assert.rejects(restore(name, "app_elsewhere", { preRestore: true }), (error: Error) => {
      assert.match(error.message, /roles this server does not have: app_owner, app_user\. Nothing was changed\./);
      assert.match(error.message, /create_roles: true/);
      return true;
    });
    assert.equal((await other.query("postgres", "SELECT count(*)::int AS n FROM pg_database WHERE datname = 'app_elsewhere'")).rows[0].n, 0,
      "no database was created");
    assert.deepEqual(readdirSync(backupDir).sort(), files, "no file was written");

    const created = (await restore(name, "app_elsewhere", { createRoles: true })) as Restored;
    assert.equal(created.verification.passed, true);
    const roles = await other.query("postgres", "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'app\\_%' ORDER BY 1");
    assert.deepEqual(roles.rows, [{ rolname: "app_owner", rolcanlogin: false }, { rolname: "app_user", rolcanlogin: false }]);
    assert.deepEqual(await dataFingerprint(other, "app_elsewhere"), atBackup);
  } finally {
    backupDir = join(dir, "backups");
    await other.stop();
    rmSync(otherDir, { recursive: true, force: true });
  }
});

test("a backup as a role that may not read everything says which role, what it could not read, and the ways on; nothing is written", async () => {
  await cluster.query("postgres", "CREATE ROLE app_reader LOGIN PASSWORD 'app-pass'");
  await cluster.createDatabase("limited");
  await cluster.query("limited", `
    CREATE TABLE public.visible (id serial PRIMARY KEY);
    CREATE SEQUENCE public.hidden_seq;
    GRANT SELECT ON public.visible TO app_reader;
    GRANT SELECT ON SEQUENCE public.visible_id_seq TO app_reader;
  `);
  mockWindmill(dir, {
    "f/admin/database": { ...cluster.resource("limited"), user: "app_reader", password: "app-pass" },
    "f/admin/backup_settings": { backup_dir: backupDir },
  });
  const listing = () => (existsSync(backupDir) ? readdirSync(backupDir).sort() : []);
  const files = listing();
  await assert.rejects(backup(), (error: Error) => {
    assert.match(error.message,
      /The backup's role "app_reader" may not read everything in the database \(permission denied for sequence hidden_seq\), so no backup was written/);
    assert.match(error.message, /GRANT SELECT on what the message names to app_reader/);
    return true;
  });
  assert.deepEqual(listing(), files);
});
