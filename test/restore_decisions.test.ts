// The restore modes' decisions, as pure functions with tables of cases: what a preview reports,
// which foreign keys a selective restore breaks and in what order it loads, and how a pg_dump
// archive is split and which of its meta-commands and settings are refused or skipped.
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import { compareTables, describeAge, extensionNeeds, objectsOnOneSide } from "../f/admin/lib/engine/preview.ts";
import { isIncomplete, metaCommandAction, readPlainScript, skipSetting } from "../f/admin/lib/engine/plain-archive.ts";
import { brokenForeignKeys, foreignKeyRefusal, parentsFirst, type ForeignKey } from "../f/admin/lib/engine/selective.ts";
import type { TableEntry } from "../f/admin/lib/archive/manifest.ts";
import type { ObjectKind } from "../f/admin/lib/engine/kinds.ts";

test("compareTables: replace, create and drop, sorted by name", () => {
  const rows = compareTables([{ table: "public.b", rows: 5 }, { table: "public.a", rows: 1 }], new Map([["public.b", 7], ["public.z", 2]]));
  assert.deepEqual(rows, [
    { table: "public.a", rows_in_target: null, rows_in_backup: 1, restore_will: "create" },
    { table: "public.b", rows_in_target: 7, rows_in_backup: 5, restore_will: "replace" },
    { table: "public.z", rows_in_target: 2, rows_in_backup: null, restore_will: "drop" },
  ]);
});

test("objectsOnOneSide: indexes ignored, contents of a schema dropped whole not listed, schemas never 'created'", () => {
  const o = (kind: ObjectKind, schema: string, name: string) => ({ kind, schema, name });
  const result = objectsOnOneSide(
    [o("table", "public", "t"), o("index", "public", "t_pkey"), o("function", "public", "f(integer)"), o("schema", "", "public"),
      o("view", "gone", "v")],
    [o("table", "public", "t"), o("view", "public", "extra"), o("schema", "", "gone"), o("type", "public", "mood")],
  );
  assert.deepEqual(result.would_drop, [o("view", "public", "extra"), o("schema", "", "gone"), o("type", "public", "mood")]);
  assert.deepEqual(result.would_create, [o("function", "public", "f(integer)")]);
});

test("extensionNeeds: installed, creatable, or why not", () => {
  const needed = ["a", "b", "c", "d", "e"].map((name) => ({ name, version: "1.0", schema: "public" }));
  const states = new Map([
    ["a", { name: "a", installed_version: "1.0", available: true, trusted: false }],
    ["b", { name: "b", installed_version: null, available: true, trusted: true }],
    ["c", { name: "c", installed_version: null, available: true, trusted: false }],
    ["e", { name: "e", installed_version: null, available: true, trusted: true }],
  ]);
  const plain = extensionNeeds(needed.slice(0, 4), states, { superuser: false, createOnDatabase: true }).map((e) => e.can_create);
  assert.deepEqual(plain, ["installed", "yes", "no: needs a superuser (untrusted extension)", "no: not available on the server"]);
  assert.deepEqual(extensionNeeds([needed[4]!], states, { superuser: false, createOnDatabase: false }).map((e) => e.can_create), [
    "no: needs CREATE on the database",
  ]);
  assert.deepEqual(extensionNeeds([needed[2]!], states, { superuser: true, createOnDatabase: false }).map((e) => e.can_create), ["yes"]);
});

test("describeAge: the two largest units", () => {
  const now = new Date("2025-12-08T12:00:00Z");
  for (const [at, expected] of [
    ["2025-12-08T11:59:40Z", "less than a minute"],
    ["2025-12-08T11:59:00Z", "1 minute"],
    ["2025-12-08T09:30:00Z", "2 hours 30 minutes"],
    ["2025-12-05T08:00:00Z", "3 days 4 hours"],
    ["2025-12-07T12:00:00Z", "1 day"],
  ] as const) assert.equal(describeAge(new Date(at), now), expected, at);
});

const fk = (from: string, to: string, on_delete = "a"): ForeignKey => ({ constraint: `${from}_${to}_fkey`, from, to, on_delete });
const entry = (name: string): TableEntry => ({ schema: "public", name, columns: [], rows: 0, bytes: 0, range: { start: 0, end: 0 },
  digest: "0".repeat(64) });

test("brokenForeignKeys and the refusal: only tables left out that point at chosen ones; parents left out, self references and keys inside the choice are fine", () => {
  const keys = [
    fk("public.docs", "public.tenants"),
    fk("public.notes", "public.docs"),
    fk("public.docs", "public.docs"),
    fk("public.docs", "public.members"),
    fk("public.comments", "public.docs"),
  ];
  const chosen = new Set(["public.docs", "public.members"]);
  const broken = brokenForeignKeys(chosen, keys);
  assert.deepEqual(broken.map((k) => k.constraint), ["public.notes_public.docs_fkey", "public.comments_public.docs_fkey"]);
  assert.match(foreignKeyRefusal(chosen, broken), /Add those tables to tables \(public\.notes, public\.comments\)/);
  assert.deepEqual(brokenForeignKeys(new Set(["public.docs", "public.members", "public.notes", "public.comments"]), keys), []);
  assert.deepEqual(brokenForeignKeys(new Set(["public.notes"]), keys), [], "a child alone: its parents stay, PostgreSQL checks its rows");
});

test("parentsFirst: referenced tables load first; cycles and self references keep going", () => {
  const names = (tables: TableEntry[]) => tables.map((t) => t.name);
  assert.deepEqual(names(parentsFirst([entry("c"), entry("b"), entry("a")], [fk("public.c", "public.b"), fk("public.b", "public.a")])), [
    "a",
    "b",
    "c",
  ]);
  assert.deepEqual(
    names(parentsFirst([entry("x"), entry("y")], [fk("public.x", "public.y"), fk("public.y", "public.x"), fk("public.x", "public.x")])),
    ["y", "x"],
  );
  assert.deepEqual(names(parentsFirst([entry("solo")], [fk("public.solo", "public.elsewhere")])), ["solo"]);
});

test("metaCommandAction: \\restrict and \\unrestrict are ignored, \\connect and others refused with their line", () => {
  assert.equal(metaCommandAction("\\restrict abc123\n", 5), "ignore");
  assert.equal(metaCommandAction("\\unrestrict abc123\n", 900), "ignore");
  assert.throws(() => metaCommandAction("\\connect family_brain\n", 40),
    /switches database at line 40 \(\\connect family_brain\).*--create/);
  assert.throws(() => metaCommandAction("\\c other\n", 3), /switches database at line 3/);
  assert.throws(() => metaCommandAction("\\set ON_ERROR_STOP on\n", 7),
    /meta-command this restore does not run, at line 7: \\set ON_ERROR_STOP on/);
});

test("isIncomplete and skipSetting", () => {
  assert.equal(isIncomplete('unterminated dollar-quoted string at or near "$$ BEGIN"'), true);
  assert.equal(isIncomplete("syntax error at end of input"), true);
  assert.equal(isIncomplete('syntax error at or near "SELEC"'), false);
  assert.equal(skipSetting("lock_timeout", 180000), true);
  assert.equal(skipSetting("transaction_timeout", 150000), true);
  assert.equal(skipSetting("transaction_timeout", 170000), false);
  assert.equal(skipSetting("statement_timeout", 150000), false);
});

async function events(script: string) {
  const out: string[] = [];
  for await (const event of readPlainScript(Readable.from([Buffer.from(script)]))) {
    if (event.type === "sql") out.push(`sql@${event.line}:${event.statements.map((s) => s.kind).join(",")}`);
    else {
      const rows: string[] = [];
      for await (const row of event.data) rows.push(row.toString("utf8"));
      out.push(`copy@${event.line}:${event.schema}.${event.name}:${rows.join("")}`);
    }
  }
  return out;
}

test("readPlainScript: the parser, not the text, decides where statements end; COPY data streams to \\.", async () => {
  const script = [
    "--",
    "-- header",
    "\\restrict KEY",
    "SET lock_timeout = 0;",
    "CREATE FUNCTION public.f() RETURNS int LANGUAGE plpgsql AS $$",
    "BEGIN",
    "  -- COPY x FROM stdin;",
    "  RETURN 1;",
    "END;",
    "$$;",
    'COPY public."tåble" (a, b) FROM stdin;',
    "1\tx;",
    "2\t\\N",
    "\\.",
    "",
    "SELECT 'a;",
    "b';",
    "\\unrestrict KEY",
    "",
  ].join("\n");
  assert.deepEqual(await events(script), [
    "sql@4:VariableSetStmt",
    "sql@5:CreateFunctionStmt",
    "copy@11:public.tåble:1\tx;\n2\t\\N\n",
    "sql@16:SelectStmt",
  ]);
});

test("readPlainScript: an archive cut short, inside a statement or COPY data, is an error naming the line", async () => {
  await assert.rejects(events("CREATE TABLE public.t (a int);\nCOPY public.t (a) FROM stdin;\n1\n2\n"),
    /ends inside the COPY data of public\.t \(started at line 2\)/);
  await assert.rejects(events("CREATE FUNCTION f() RETURNS int AS $$ SELECT 1;\n"), /ends inside a statement \(line 1/);
  await assert.rejects(events("SELEC 1;\n"), /statement at line 1 does not parse/);
});
