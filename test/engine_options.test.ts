// The dump options, all off by default: schema and table filters, leaving out chosen tables' rows,
// skipping unsupported objects (listed, never silent), owners and privileges, roles, database settings. Each is read through a snapshot and the
// result replayed into an empty database, which must hold exactly what was selected.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type pg from "pg";
import { readSchema, type SchemaOptions } from "../f/admin/lib/engine/catalog.ts";
import { beginSnapshot, settingsPreamble } from "../f/admin/lib/engine/session.ts";
import { BackupError, UnsupportedObjectsError } from "../f/admin/lib/errors.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";

const FIXTURE = String.raw`
CREATE SCHEMA app;
CREATE SCHEMA audit;
CREATE TABLE app.users (id serial PRIMARY KEY, name text);
CREATE TABLE app.logs (id bigint GENERATED ALWAYS AS IDENTITY, user_id integer REFERENCES app.users, line text);
CREATE INDEX logs_user ON app.logs (user_id);
CREATE VIEW app.names AS SELECT name FROM app.users;
CREATE TABLE audit.events (id serial, what text);
CREATE VIEW audit.user_names AS SELECT name FROM app.users;
CREATE TABLE public.scratch (x integer);
INSERT INTO app.users (name) VALUES ('ann'), ('bob');
INSERT INTO app.logs (user_id, line) VALUES (1, 'hello');
`;

let cluster: Cluster;

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("source");
  await cluster.query("source", FIXTURE);
});

after(async () => {
  await cluster?.stop();
});

async function read(db: string, options: SchemaOptions) {
  const client: pg.Client = await cluster.connect(db);
  try {
    await beginSnapshot(client);
    return await readSchema(client, options);
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
    await client.end();
  }
}

let restored = 0;
/** Replay a dump's schema into a new database and list its relations. */
async function replay(dump: Awaited<ReturnType<typeof read>>): Promise<string[]> {
  const db = `replay_${restored++}`;
  await cluster.createDatabase(db);
  await cluster.query(db, [...settingsPreamble(), ...dump.preData, ...dump.sequences.map((s) => s.setval), ...dump.postData].join("\n"));
  const { rows } = await cluster.query(
    db,
    `SELECT c.relkind::text || ' ' || n.nspname || '.' || c.relname AS r FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname IN ('app', 'audit', 'public') AND c.relkind IN ('r', 'v', 'S', 'i') ORDER BY 1`,
  );
  return rows.map((r) => r.r as string);
}

test("excludeTableData keeps the table's definition and leaves out only its rows", async () => {
  const dump = await read("source", { excludeTableData: ["app.logs"] });
  assert.deepEqual(dump.tables.map((t) => `${t.schema}.${t.name}`).sort(), ["app.users", "audit.events", "public.scratch"]);
  const relations = await replay(dump);
  assert.ok(relations.includes("r app.logs") && relations.includes("i app.logs_user"), relations.join());
  const all = await read("source", {});
  assert.deepEqual(all.tables.map((t) => `${t.schema}.${t.name}`).sort(), ["app.logs", "app.users", "audit.events", "public.scratch"]);
});

test("excludeSchemas leaves out the schema and everything in it, its sequences' values too", async () => {
  const dump = await read("source", { excludeSchemas: ["audit"] });
  assert.ok(!dump.objects.some((o) => o.schema === "audit" || (o.kind === "schema" && o.name === "audit")));
  assert.ok(!dump.sequences.some((s) => s.qualifiedName.startsWith(`"audit"`)));
  assert.deepEqual(await replay(dump), [
    "S app.logs_id_seq",
    "S app.users_id_seq",
    "i app.logs_user",
    "i app.users_pkey",
    "r app.logs",
    "r app.users",
    "r public.scratch",
    "v app.names",
  ]);
});

test("includeSchemas and includeTables keep only what they name", async () => {
  const onlyApp = await read("source", { includeSchemas: ["app"] });
  assert.deepEqual(new Set(onlyApp.objects.filter((o) => o.kind === "schema").map((o) => o.name)), new Set(["app"]));
  const onlyUsers = await read("source", { includeTables: ["app.users", "app.users_id_seq"] });
  assert.deepEqual(onlyUsers.tables.map((t) => t.name), ["users"]);
  assert.ok(!onlyUsers.objects.some((o) => o.name === "logs_user" || o.name === "names"));
});

test("a filter that leaves out what a kept object needs is an error naming both", async () => {
  await assert.rejects(read("source", { excludeTables: ["app.users"] }), (error: unknown) => {
    assert.ok(error instanceof BackupError, String(error));
    assert.match(error.message, /view "audit"\."user_names" needs table "app"\."users"/);
    assert.match(error.message, /Include those objects too/);
    return true;
  });
});

test("skipUnsupported lists what it leaves out instead of refusing, and the rest still restores", async () => {
  await cluster.createDatabase("unsupported");
  await cluster.query("unsupported", `${FIXTURE}
    CREATE SUBSCRIPTION elsewhere CONNECTION 'dbname=nowhere' PUBLICATION p WITH (connect = false, slot_name = NONE, enabled = false);
    CREATE TABLE public.t (x integer); CREATE TYPE public.e AS ENUM ('x'); COMMENT ON TYPE public.e[] IS 'lost';`);
  await assert.rejects(read("unsupported", {}), UnsupportedObjectsError);
  const dump = await read("unsupported", { skipUnsupported: true });
  assert.deepEqual(dump.skipped, ["subscription elsewhere", "comment on type public.e[]"]);
  assert.ok((await replay(dump)).includes("r app.logs"));
  assert.deepEqual((await read("source", {})).skipped, []);
});

const PRIVILEGES = String.raw`
CREATE ROLE app_owner NOLOGIN;
CREATE ROLE "Reader" LOGIN CONNECTION LIMIT 3;
CREATE ROLE writer NOLOGIN IN ROLE "Reader";
CREATE SCHEMA owned AUTHORIZATION app_owner;
ALTER SCHEMA public OWNER TO app_owner;
GRANT CREATE ON SCHEMA public TO PUBLIC;
CREATE TABLE owned.items (id serial PRIMARY KEY, secret text, label text);
ALTER TABLE owned.items OWNER TO app_owner;
GRANT SELECT ON owned.items TO "Reader";
GRANT SELECT (label), UPDATE (label) ON owned.items TO writer;
GRANT INSERT ON owned.items TO writer WITH GRANT OPTION;
GRANT USAGE ON SEQUENCE owned.items_id_seq TO writer;
CREATE VIEW owned.labels AS SELECT label FROM owned.items;
ALTER VIEW owned.labels OWNER TO app_owner;
GRANT SELECT ON owned.labels TO PUBLIC;
CREATE FUNCTION owned.f() RETURNS integer LANGUAGE sql RETURN 1;
ALTER FUNCTION owned.f() OWNER TO app_owner;
REVOKE EXECUTE ON FUNCTION owned.f() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION owned.f() TO writer;
CREATE TYPE owned.color AS ENUM ('red');
ALTER TYPE owned.color OWNER TO app_owner;
REVOKE USAGE ON TYPE owned.color FROM PUBLIC;
CREATE TABLE owned.notes (body text);
ALTER TABLE owned.notes OWNER TO app_owner;
ALTER TABLE owned.notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON owned.notes TO writer USING (true);
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA owned GRANT SELECT ON TABLES TO "Reader";
ALTER DEFAULT PRIVILEGES FOR ROLE app_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
`;

/** pg_dump with owners and privileges, and the database's settings, which pg_dump leaves out. */
async function fullState(on: Cluster, db: string) {
  assert.ok(on.clientBin);
  const dump = spawnSync(join(on.clientBin, "pg_dump"), ["--schema-only", db], { env: on.libpqEnv(), encoding: "utf8" });
  assert.equal(dump.status, 0, dump.stderr);
  const settings = await on.query(
    db,
    `SELECT COALESCE(pg_get_userbyid(NULLIF(setrole, 0)), '-') AS role, setconfig FROM pg_db_role_setting
      WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1`,
  );
  return { schema: dump.stdout.replace(/^\\(un)?restrict .*$/gm, ""), settings: settings.rows };
}

test("privileges, roles and database settings come back: on the same server, and on a fresh one with the roles created", async (t) => {
  if (!cluster.clientBin) return t.skip("no pg_dump for this server version");
  await cluster.createDatabase("owned");
  await cluster.query("owned", PRIVILEGES);
  await cluster.query("owned", `ALTER DATABASE owned SET work_mem = '8MB'; ALTER DATABASE owned SET search_path = owned, "$user", public;
    ALTER ROLE writer IN DATABASE owned SET statement_timeout = '5s'`);
  const dump = await read("owned", { privileges: true, roles: true, databaseSettings: true });
  const source = await fullState(cluster, "owned");
  assert.match(source.schema, /GRANT SELECT\(label\),UPDATE\(label\) ON TABLE owned\.items TO writer;/, "the fixture has column grants");

  const plain = await read("owned", {});
  assert.ok(!plain.preData.some((s) => /OWNER TO|^GRANT|CREATE ROLE|ALTER DATABASE/.test(s)), "all of it is off by default");

  const sql = [...settingsPreamble(), ...dump.preData, ...dump.sequences.map((s) => s.setval), ...dump.postData].join("\n");
  await cluster.createDatabase("owned_copy");
  await cluster.query("owned_copy", sql);
  const copy = await fullState(cluster, "owned_copy");
  assert.equal(copy.schema, source.schema);
  assert.deepEqual(copy.settings, source.settings);

  const fresh = await startCluster();
  try {
    await fresh.createDatabase("owned");
    await fresh.query("owned", sql);
    const restored = await fullState(fresh, "owned");
    assert.equal(restored.schema, source.schema);
    assert.deepEqual(restored.settings, source.settings);
    const roles = await fresh.query("postgres",
      `SELECT rolname, rolcanlogin, rolconnlimit, rolpassword IS NULL AS no_password FROM pg_authid WHERE rolname IN ('app_owner', 'Reader', 'writer') ORDER BY 1`);
    assert.deepEqual(roles.rows, [
      { rolname: "Reader", rolcanlogin: true, rolconnlimit: 3, no_password: true },
      { rolname: "app_owner", rolcanlogin: false, rolconnlimit: -1, no_password: true },
      { rolname: "writer", rolcanlogin: false, rolconnlimit: -1, no_password: true },
    ]);
    const member = await fresh.query("postgres", `SELECT pg_has_role('writer', 'Reader', 'MEMBER') AS m`);
    assert.equal(member.rows[0].m, true);
  } finally {
    await fresh.stop();
  }
});

test("grants come back in the order the source has them: the same ACL text, not only the same rights", async () => {
  await cluster.createDatabase("acl_order");
  await cluster.query("acl_order", `CREATE ROLE zed_reader; CREATE ROLE abe_reader; CREATE TABLE public.t (x integer, y integer);
    GRANT SELECT ON public.t TO zed_reader; GRANT SELECT ON public.t TO abe_reader WITH GRANT OPTION; GRANT INSERT ON public.t TO PUBLIC;
    GRANT UPDATE (y) ON public.t TO zed_reader; GRANT UPDATE (y) ON public.t TO abe_reader`);
  const acls = `SELECT c.relacl::text AS t, (SELECT a.attacl::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'y') AS y
                  FROM pg_class c WHERE c.oid = 'public.t'::regclass`;
  try {
    const dump = await read("acl_order", { privileges: true });
    await cluster.createDatabase("acl_order_copy");
    await cluster.query("acl_order_copy", [...settingsPreamble(), ...dump.preData, ...dump.postData].join("\n"));
    const [source, copy] = [await cluster.query("acl_order", acls), await cluster.query("acl_order_copy", acls)];
    assert.match(String(source.rows[0].t), /zed_reader=r\/postgres,abe_reader=r\*\/postgres/,
      "the fixture's grantees are not in name order");
    assert.deepEqual(copy.rows, source.rows);
  } finally {
    for (const sql of ["DROP DATABASE IF EXISTS acl_order_copy", "DROP DATABASE acl_order", "DROP ROLE zed_reader",
      "DROP ROLE abe_reader"]) {
      await cluster.query("postgres", sql);
    }
  }
});

test("a backup that could not be restored says so when it is made: an event trigger whose owner is no longer a superuser", async () => {
  await cluster.createDatabase("lost_super");
  await cluster.query("postgres", "CREATE ROLE once_super SUPERUSER");
  await cluster.query("lost_super", `SET ROLE once_super;
    CREATE FUNCTION public.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
    CREATE EVENT TRIGGER "watch ""ddl""" ON ddl_command_end EXECUTE FUNCTION public.on_ddl()`);
  await cluster.query("postgres", "ALTER ROLE once_super NOSUPERUSER");
  try {
    const dump = await read("lost_super", { privileges: true });
    assert.equal(dump.warnings.length, 1);
    assert.match(dump.warnings[0]!,
      /^event trigger "watch ""ddl""" is owned by "once_super", which is not a superuser: restoring its owner will fail/);
    assert.deepEqual((await read("lost_super", {})).warnings, [], "without privileges the restoring user owns it");
    await cluster.createDatabase("lost_super_copy");
    await assert.rejects(
      cluster.query("lost_super_copy", [...settingsPreamble(), ...dump.preData, ...dump.postData].join("\n")),
      /must be superuser|permission denied to change owner of event trigger/,
      "the warning is true: the archive does not restore",
    );
  } finally {
    for (const sql of ["DROP DATABASE IF EXISTS lost_super_copy", "DROP DATABASE lost_super", "DROP ROLE once_super"]) {
      await cluster.query("postgres", sql);
    }
  }
});
