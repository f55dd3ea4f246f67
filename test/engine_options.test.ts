// The dump options, all off by default: schema and table filters, leaving out chosen tables' rows,
// and skipping unsupported objects (listed, never silent). Each is read through a snapshot and the
// result replayed into an empty database, which must hold exactly what was selected.
import assert from "node:assert/strict";
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
    "S app.logs_id_seq", "S app.users_id_seq", "i app.logs_user", "i app.users_pkey", "r app.logs", "r app.users", "r public.scratch", "v app.names",
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
    CREATE TEXT SEARCH CONFIGURATION public.myts (COPY = english);
    SELECT lo_create(4242);`);
  await assert.rejects(read("unsupported", {}), UnsupportedObjectsError);
  const dump = await read("unsupported", { skipUnsupported: true });
  assert.deepEqual(dump.skipped, ["large object 4242", "text search configuration public.myts"]);
  assert.ok((await replay(dump)).includes("r app.logs"));
  assert.deepEqual((await read("source", {})).skipped, []);
});
