// The plan without a server: small catalogs, as the family readers would return them, go through the
// families' nodes and the plan (dependencies, filters, sections, order, loading order, owners and
// grants), and the archive's statements come out in pg_dump's order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { planCatalog, type Catalog } from "../f/admin/lib/engine/catalog.ts";
import { Comments } from "../f/admin/lib/engine/comments.ts";
import type { Access } from "../f/admin/lib/engine/grants.ts";
import type { ConstraintDef, IndexDef } from "../f/admin/lib/engine/objects/constraints.ts";
import type { FunctionDef } from "../f/admin/lib/engine/objects/routines.ts";
import type { SequenceDef, TableDef, ViewDef } from "../f/admin/lib/engine/objects/tables.ts";
import type { BaseTypeDef } from "../f/admin/lib/engine/objects/types.ts";
import { CATALOG } from "../f/admin/lib/engine/sql.ts";
import { BackupError, UnsupportedObjectsError } from "../f/admin/lib/errors.ts";

const { pg_attrdef, pg_class, pg_constraint, pg_namespace, pg_proc, pg_rewrite, pg_type } = CATALOG;
const row = (classId: number, oid: number) => `${classId}:${oid}`;

let nextOid = 20_000;
const oid = () => nextOid++;

function catalog(parts: Partial<Catalog>): Catalog {
  const empty: Catalog = {
    schemas: [],
    extensions: [],
    extensionConfig: [],
    collations: [],
    enums: [],
    domains: [],
    domainConstraints: [],
    composites: [],
    ranges: [],
    baseTypes: [],
    shellTypes: [],
    functions: [],
    aggregates: [],
    casts: [],
    languages: [],
    transforms: [],
    accessMethods: [],
    operators: [],
    operatorFamilies: [],
    operatorClasses: [],
    conversions: [],
    textSearchParsers: [],
    textSearchTemplates: [],
    textSearchDictionaries: [],
    textSearchConfigurations: [],
    wrappers: [],
    servers: [],
    userMappings: [],
    secretsLeftOut: [],
    sequences: [],
    identitySequences: [],
    tables: [],
    views: [],
    constraints: [],
    indexes: [],
    statistics: [],
    triggers: [],
    rules: [],
    policies: [],
    eventTriggers: [],
    publications: [],
    largeObjects: [],
    depends: [],
    members: new Map(),
    comments: new Comments([]),
  };
  return { ...empty, ...parts };
}

function table(schema: string, name: string, extra: Partial<TableDef> = {}): TableDef {
  return {
    oid: oid(),
    rowTypeOid: oid(),
    schema,
    name,
    unlogged: false,
    options: [],
    inherits: [],
    rowSecurity: false,
    forceRowSecurity: false,
    columns: [{ name: "id", type: "integer", notNull: true, local: true }],
    checks: [],
    inheritedOverrides: [],
    parts: [],
    ...extra,
  };
}

function view(schema: string, name: string, query: string, extra: Partial<ViewDef> = {}): ViewDef {
  return { oid: oid(), rowTypeOid: oid(), ruleOid: oid(), schema, name, options: [], query, columns: [{ name: "id" }], parts: [],
    ...extra };
}

function fn(schema: string, name: string): FunctionDef {
  const definition =
    `CREATE OR REPLACE FUNCTION "${schema}"."${name}"()\n RETURNS integer\n LANGUAGE sql\nAS $function$ SELECT 1 $function$\n`;
  return { oid: oid(), schema, name, kind: "function", argTypes: "", identityArgs: "", definition };
}

function key(t: TableDef, name: string, type: "p" | "f", referenced?: TableDef): ConstraintDef {
  return {
    oid: oid(),
    schema: t.schema,
    table: t.name,
    tableOid: t.oid,
    name,
    type,
    definition: type === "p" ? "PRIMARY KEY (id)" : `FOREIGN KEY (id) REFERENCES ${referenced!.schema}.${referenced!.name}(id)`,
    validated: true,
    local: true,
    recurse: false,
    indexOid: type === "p" ? oid() : 0,
    referencedOid: referenced?.oid ?? 0,
    clustered: false,
    replicaIdentity: false,
  };
}

function index(t: TableDef, name: string): IndexDef {
  return { oid: oid(), schema: t.schema, table: t.name, name, definition: `CREATE INDEX ${name} ON ${t.schema}.${t.name} USING btree (id)`,
    clustered: false, replicaIdentity: false, columnStatistics: [] };
}

const schema = (name: string) => ({ oid: oid(), name });
const first = (statements: string[], prefix: string) => statements.findIndex((s) => s.startsWith(prefix));

test("pg_dump's order: schemas, functions, tables, views before the data; keys, then indexes, then foreign keys after it", () => {
  const app = schema("app");
  const parent = table("app", "parent");
  const child = table("app", "child");
  const pk = key(parent, "parent_pkey", "p");
  const fk = key(child, "child_parent_fkey", "f", parent);
  const v = view("app", "children", " SELECT id FROM app.child;");
  const f = fn("app", "answer");
  const dump = planCatalog(catalog({
    schemas: [app],
    tables: [child, parent],
    views: [v],
    functions: [f],
    constraints: [fk, pk],
    indexes: [index(child, "child_id")],
    depends: [
      [row(pg_class, parent.oid), row(pg_namespace, app.oid)],
      [row(pg_class, child.oid), row(pg_namespace, app.oid)],
      [row(pg_rewrite, v.ruleOid), row(pg_class, child.oid)],
      [row(pg_proc, f.oid), row(pg_namespace, app.oid)],
    ],
  }), [], {}, [], undefined);
  const pre = dump.preData;
  assert.ok(first(pre, `CREATE SCHEMA IF NOT EXISTS "app"`) < first(pre, "CREATE OR REPLACE FUNCTION"));
  assert.ok(first(pre, "CREATE OR REPLACE FUNCTION") < first(pre, `CREATE TABLE "app"."child"`));
  assert.ok(first(pre, `CREATE TABLE "app"."child"`) < first(pre, `CREATE TABLE "app"."parent"`), "tables by name");
  assert.ok(first(pre, `CREATE TABLE "app"."child"`) < first(pre, `CREATE VIEW "app"."children"`));
  assert.deepEqual(dump.postData.map((s) => s.split(" ").slice(0, 5).join(" ")), [
    `ALTER TABLE ONLY "app"."parent" ADD`,
    `CREATE INDEX child_id ON app.child`,
    `ALTER TABLE ONLY "app"."child" ADD`,
  ]);
  assert.deepEqual(dump.objects.map((o) => `${o.kind} ${o.name}`), [
    "schema app",
    "function answer()",
    "table child",
    "table parent",
    "view children",
    "constraint parent_pkey",
    "index child_id",
    "constraint child_parent_fkey",
  ]);
  assert.deepEqual(dump.tables.map((t) => t.name), ["parent", "child"], "rows of referenced tables first");
});

test("a key that a view needs (GROUP BY the primary key) moves into pre-data, before the view", () => {
  const t = table("public", "people");
  const pk = key(t, "people_pkey", "p");
  const v = view("public", "by_id", " SELECT id FROM people GROUP BY id;");
  const dump = planCatalog(catalog({
    tables: [t],
    views: [v],
    constraints: [pk],
    depends: [[row(pg_rewrite, v.ruleOid), row(pg_class, t.oid)], [row(pg_rewrite, v.ruleOid), row(pg_constraint, pk.oid)]],
  }), [], {}, [], undefined);
  assert.ok(first(dump.preData, `ALTER TABLE ONLY "public"."people" ADD CONSTRAINT "people_pkey"`) >= 0);
  assert.ok(first(dump.preData, `ALTER TABLE ONLY "public"."people" ADD`) < first(dump.preData, `CREATE VIEW "public"."by_id"`));
  assert.equal(first(dump.postData, "ALTER TABLE"), -1);
});

test("a function a column default calls comes before its table; a serial's sequence before, OWNED BY after both", () => {
  const f = fn("public", "next_code");
  const attrdef = oid();
  const t = table("public", "codes", { parts: [[pg_attrdef, attrdef]] });
  const seq: SequenceDef = {
    oid: oid(),
    schema: "public",
    name: "codes_id_seq",
    unlogged: false,
    type: "integer",
    start: "1",
    increment: "1",
    min: "1",
    max: "2147483647",
    cache: "1",
    cycle: false,
    owner: { oid: t.oid, schema: "public", table: "codes", column: "id", identity: false },
  };
  const dump = planCatalog(catalog({
    functions: [f],
    tables: [t],
    sequences: [seq],
    // The sequence's ownership edge (sequence → table) is OWNED BY, not an order.
    depends: [[row(pg_attrdef, attrdef), row(pg_proc, f.oid)], [row(pg_class, seq.oid), row(pg_class, t.oid)]],
  }), [{ qualifiedName: `"public"."codes_id_seq"`, setval: 'SELECT pg_catalog.setval(\'"public"."codes_id_seq"\', 3, true);' }], {}, [],
    undefined);
  const order = ["CREATE OR REPLACE FUNCTION", "CREATE SEQUENCE", `CREATE TABLE "public"."codes"`, "ALTER SEQUENCE"].map((p) =>
    first(dump.preData, p)
  );
  assert.deepEqual([...order].sort((a, b) => a - b), order);
  assert.ok(order.every((i) => i >= 0));
  assert.equal(dump.sequences.length, 1);
});

test("the table filters take a table's index and key along, and refuse to leave out what a kept object needs", () => {
  const kept = table("public", "kept");
  const gone = table("public", "gone");
  const v = view("public", "over_gone", " SELECT id FROM gone;");
  const parts = { tables: [kept, gone], constraints: [key(gone, "gone_pkey", "p")], indexes: [index(gone, "gone_id")] };
  const dump = planCatalog(catalog(parts), [], { excludeTables: ["public.gone"] }, [], undefined);
  assert.deepEqual(dump.objects.map((o) => o.name), ["kept"]);
  assert.deepEqual(dump.postData, []);
  assert.deepEqual(dump.tables.map((t) => t.name), ["kept"]);
  assert.throws(
    () =>
      planCatalog(catalog({ ...parts, views: [v], depends: [[row(pg_rewrite, v.ruleOid), row(pg_class, gone.oid)]] }), [], {
        excludeTables: ["public.gone"],
      }, [], undefined),
    (error: unknown) => error instanceof BackupError && /view "public"\."over_gone" needs table "public"\."gone"/.test(error.message),
  );
  const schemaOut = planCatalog(catalog({ ...parts, schemas: [schema("public")] }), [], { excludeSchemas: ["public"] }, [], undefined);
  assert.deepEqual(schemaOut.objects, []);
});

test("rows: partitioned parents and foreign tables hold none, excluded data is left out, and the definition stays", () => {
  const parted = table("public", "events", { partitionKey: "RANGE (id)" });
  const part = table("public", "events_1", {
    partitionOf: { oid: parted.oid, schema: "public", name: "events", bound: "FOR VALUES FROM (0) TO (10)" },
  });
  const remote = table("public", "remote", { foreign: { server: "elsewhere", options: [] } });
  const logs = table("public", "logs");
  const dump = planCatalog(catalog({ tables: [parted, part, remote, logs] }), [], { excludeTableData: ["public.logs"] }, [], undefined);
  assert.deepEqual(dump.tables.map((t) => t.name), ["events_1"]);
  assert.ok(first(dump.preData, `CREATE TABLE "public"."logs"`) >= 0);
  assert.ok(
    first(dump.preData, `ALTER TABLE ONLY "public"."events" ATTACH PARTITION "public"."events_1"`) >
      first(dump.preData, `CREATE TABLE "public"."events_1"`),
  );
});

test("a base type is created as a shell first, then its I/O functions, then whole", () => {
  const input = fn("public", "thing_in");
  const output = fn("public", "thing_out");
  const type: BaseTypeDef = {
    oid: oid(),
    arrayOid: oid(),
    schema: "public",
    name: "thing",
    options: [["INTERNALLENGTH", "4"], ["INPUT", "public.thing_in"], ["OUTPUT", "public.thing_out"]],
    functions: [input.oid, output.oid],
  };
  const dump = planCatalog(catalog({
    baseTypes: [type],
    functions: [input, output],
    depends: [
      [row(pg_type, type.oid), row(pg_proc, input.oid)],
      [row(pg_type, type.oid), row(pg_proc, output.oid)],
      [row(pg_proc, input.oid), row(pg_type, type.oid)],
      [row(pg_proc, output.oid), row(pg_type, type.oid)],
    ],
  }), [], {}, [], undefined);
  assert.deepEqual(dump.preData.map((s) => s.split("\n")[0]!.replace(/ \($/, "")), [
    `CREATE TYPE "public"."thing";`,
    `CREATE OR REPLACE FUNCTION "public"."thing_in"()`,
    `CREATE OR REPLACE FUNCTION "public"."thing_out"()`,
    `CREATE TYPE "public"."thing"`,
  ]);
});

test("objects that need each other are refused, naming them", () => {
  const a = view("public", "a", " SELECT 1;");
  const b = view("public", "b", " SELECT 1;");
  assert.throws(
    () =>
      planCatalog(
        catalog({ views: [a, b],
          depends: [[row(pg_rewrite, a.ruleOid), row(pg_class, b.oid)], [row(pg_rewrite, b.ruleOid), row(pg_class, a.oid)]] }),
        [],
        {},
        [],
        undefined,
      ),
    (error: unknown) => error instanceof UnsupportedObjectsError && /circular dependency through view "public"\."a"/.test(error.message),
  );
});

test("materialized views are refreshed after those they read, even through a view between", () => {
  const base = view("public", "base", " SELECT 1 AS id;", { materialized: { populated: true } });
  const middle = view("public", "middle", " SELECT id FROM base;");
  const top = view("public", "a_top", " SELECT id FROM middle;", { materialized: { populated: true } });
  const dump = planCatalog(catalog({
    views: [base, middle, top],
    depends: [[row(pg_rewrite, middle.ruleOid), row(pg_class, base.oid)], [row(pg_rewrite, top.ruleOid), row(pg_class, middle.oid)]],
  }), [], {}, [], undefined);
  assert.deepEqual(dump.postData, [`REFRESH MATERIALIZED VIEW "public"."base";`, `REFRESH MATERIALIZED VIEW "public"."a_top";`]);
});

test("owners and grants are written when privileges are asked for; the roles they name are collected either way", () => {
  const t = table("public", "people");
  const access: Access = { owner: "app", grants: [{ grantee: "reader", privileges: ["SELECT"], grantable: false }], columns: [] };
  const accessMap = new Map([[row(pg_class, t.oid), access]]);
  const withPrivileges = planCatalog(catalog({ tables: [t] }), [], { privileges: true }, [], accessMap);
  assert.deepEqual(withPrivileges.preData.slice(1), [
    `ALTER TABLE "public"."people" OWNER TO "app";`,
    `REVOKE ALL ON TABLE "public"."people" FROM PUBLIC;`,
    `REVOKE ALL ON TABLE "public"."people" FROM "app";`,
    `GRANT SELECT ON TABLE "public"."people" TO "reader";`,
  ]);
  const without = planCatalog(catalog({ tables: [table("public", "people", { oid: t.oid })] }), [], {}, [], accessMap);
  assert.equal(without.preData.length, 1);
  assert.deepEqual(without.accessUsed, [access]);
});
