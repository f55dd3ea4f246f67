// Reads what a database holds, through the backup's snapshot transaction, into typed definitions
// with their dependencies from pg_depend; then orders them (order.ts), renders them (emit.ts) and
// returns the SchemaDump the archive writer consumes. Refuses databases it cannot reproduce.
import type pg from "pg";
import { BackupError, UnsupportedObjectsError } from "../errors.ts";
import type { ExtensionRef, ObjectRef, SchemaDump, SequenceValue, TableData } from "./model.ts";
import {
  addConstraint, copyStatements, createEnum, createExtension, createFunction, createIndex, createSchema,
  createSequence, createTable, createTrigger, createView, sequenceOwnedBy, setval,
} from "./emit.ts";
import { DependencyCycleError, dependencyOrder, type SortNode } from "./order.ts";
import { qualify, quoteIdent } from "./quote.ts";

export interface SchemaDef { oid: number; name: string; comment?: string }
export interface ExtensionDef { oid: number; name: string; version: string; schema: string; comment?: string }
export interface EnumDef { oid: number; arrayOid: number; schema: string; name: string; labels: string[]; comment?: string }
export interface FunctionDef {
  oid: number; schema: string; name: string;
  /** Argument types only, as ObjectRef names functions: `integer, text`. */
  argTypes: string;
  /** Arguments as COMMENT ON FUNCTION accepts them. */
  identityArgs: string;
  /** pg_get_functiondef: a complete CREATE OR REPLACE FUNCTION without the final `;`. */
  definition: string;
  comment?: string;
}
export interface SequenceDef {
  oid: number; schema: string; name: string; unlogged: boolean; type: string;
  start: string; increment: string; min: string; max: string; cache: string; cycle: boolean;
  /** The column that owns it: a serial column (OWNED BY) or an identity column. */
  owner?: { oid: number; schema: string; table: string; column: string; identity: boolean };
  comment?: string;
}
export interface ColumnDef {
  name: string; type: string; notNull: boolean;
  /** Quoted collation, only when it differs from the type's default. */
  collation?: string;
  /** Default expression, or the generation expression of a generated column. */
  default?: string;
  generated: boolean;
  identity?: { always: boolean; sequence: SequenceDef };
  comment?: string;
}
export interface ConstraintDef {
  oid: number; schema: string; table: string; tableOid: number; name: string;
  type: "c" | "p" | "u" | "f";
  /** pg_get_constraintdef, e.g. `PRIMARY KEY (id)` or `CHECK ((price > 0)) NOT VALID`. */
  definition: string;
  validated: boolean;
  /** The index behind a primary or unique key. */
  indexOid: number;
  /** The referenced table of a foreign key. */
  referencedOid: number;
  comment?: string;
  indexComment?: string;
}
export interface TableDef {
  oid: number; rowTypeOid: number; schema: string; name: string; unlogged: boolean; options: string[];
  columns: ColumnDef[];
  /** Validated CHECK constraints, written inside CREATE TABLE. */
  checks: ConstraintDef[];
  /** Catalog rows that CREATE TABLE also creates (defaults, identity sequences), for dependencies. */
  parts: Array<[classId: number, oid: number]>;
  comment?: string;
}
export interface ViewDef {
  oid: number; rowTypeOid: number; ruleOid: number; schema: string; name: string; options: string[];
  /** pg_get_viewdef: the SELECT the view runs. */
  query: string;
  columns: Array<{ name: string; comment?: string }>;
  comment?: string;
}
export interface IndexDef { oid: number; schema: string; table: string; name: string; definition: string; comment?: string }
export interface TriggerDef {
  oid: number; schema: string; table: string; name: string; definition: string;
  /** pg_trigger.tgenabled: O fires normally, D disabled, R replica only, A always. */
  enabled: string;
  comment?: string;
}

/** Fixed OIDs of the system catalogs, the `classid` of pg_depend and pg_description rows. */
const CATALOG = {
  pg_type: 1247, pg_proc: 1255, pg_class: 1259, pg_attrdef: 2604, pg_constraint: 2606,
  pg_rewrite: 2618, pg_trigger: 2620, pg_namespace: 2615, pg_extension: 3079,
} as const;

/** `pg_*` schemas (catalog, toast, temp) and information_schema belong to the server. */
function userSchema(alias: string): string {
  return `${alias}.nspname NOT LIKE 'pg\\_%' AND ${alias}.nspname <> 'information_schema'`;
}

/** Objects created by CREATE EXTENSION come back with it: they are never dumped. */
function notExtensionMember(catalog: string, oid: string): string {
  return (
    `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend ext WHERE ext.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass ` +
    `AND ext.objid = ${oid} AND ext.deptype = 'e')`
  );
}

/** Parts made by another object's statement (a range type's constructors and casts) are reported as that object. */
function notInternalPart(catalog: string, oid: string): string {
  return (
    `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend part WHERE part.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass ` +
    `AND part.objid = ${oid} AND part.deptype = 'i')`
  );
}

async function rows<T>(client: pg.ClientBase, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await client.query(sql, params)).rows as T[];
}

/**
 * Read the database's schema inside the snapshot that `beginSnapshot` opened. Locks every table
 * first (ACCESS SHARE, as pg_dump does): the pg_get_*def functions read the current catalog, not
 * the snapshot, and the locks keep a concurrent ALTER or DROP from changing it under us.
 */
export async function readSchema(client: pg.ClientBase, options: { lockTimeoutMs?: number } = {}): Promise<SchemaDump> {
  await lockRelations(client, options.lockTimeoutMs ?? 30_000);
  const unsupported = await findUnsupportedObjects(client);
  const catalog = await readCatalog(client);
  const orphans = catalog.comments.unclaimed(catalog.members);
  if (unsupported.length > 0 || orphans.length > 0) {
    throw new UnsupportedObjectsError([...unsupported, ...orphans.map((what) => `comment on ${what}`)]);
  }
  const sequences = await readSequenceValues(client, [...catalog.sequences, ...catalog.identitySequences]);
  return assembleDump(catalog, sequences);
}

async function lockRelations(client: pg.ClientBase, timeoutMs: number): Promise<void> {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
    throw new BackupError(`lockTimeoutMs must be a whole number of milliseconds (0 waits forever), got ${timeoutMs}`);
  }
  await client.query(`SET LOCAL lock_timeout = '${timeoutMs}ms'`);
  const relations = await rows<{ schema: string; name: string }>(
    client,
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v') AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}
      ORDER BY 1, 2`,
  );
  for (const relation of relations) {
    const name = qualify(relation.schema, relation.name);
    try {
      await client.query(`LOCK TABLE ${name} IN ACCESS SHARE MODE`);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "55P03") {
        throw new BackupError(
          `Could not lock table ${name} within ${timeoutMs} ms: another session holds a conflicting lock on it ` +
            `(e.g. a migration or ALTER TABLE in progress). Retry the backup later, or raise the lock timeout.`,
          { cause: error },
        );
      }
      if (code === "42P01") {
        throw new BackupError(`Table ${name} was dropped while the backup started; retry the backup.`, { cause: error });
      }
      throw error;
    }
  }
}

/** Comments keyed by the object they describe; each reader claims its own. */
class Comments {
  private readonly byObject = new Map<string, { text: string; what: string; classId: number; oid: number }>();
  private readonly claimed = new Set<string>();

  constructor(rowsRead: Array<{ classoid: number; objoid: number; objsubid: number; description: string; what: string }>) {
    for (const row of rowsRead) {
      this.byObject.set(`${row.classoid}:${row.objoid}:${row.objsubid}`, {
        text: row.description, what: row.what, classId: row.classoid, oid: row.objoid,
      });
    }
  }

  take(classId: number, oid: number, subId = 0): string | undefined {
    const key = `${classId}:${oid}:${subId}`;
    this.claimed.add(key);
    return this.byObject.get(key)?.text;
  }

  /** Comments on objects no reader wrote: the archive would lose them silently. */
  unclaimed(members: ReadonlyMap<string, number>): string[] {
    return [...this.byObject.entries()]
      .filter(([key, c]) => !this.claimed.has(key) && !members.has(`${c.classId}:${c.oid}`))
      .map(([, c]) => c.what)
      .sort();
  }
}

interface Catalog {
  schemas: SchemaDef[];
  extensions: ExtensionDef[];
  enums: EnumDef[];
  functions: FunctionDef[];
  /** Sequences created on their own (standalone and serial), not by an identity column. */
  sequences: SequenceDef[];
  identitySequences: SequenceDef[];
  tables: TableDef[];
  views: ViewDef[];
  /** Primary keys, unique keys, foreign keys and NOT VALID checks: added after the data. */
  constraints: ConstraintDef[];
  indexes: IndexDef[];
  triggers: TriggerDef[];
  /** `classid:objid` → `classid:objid`: what depends on what (normal, automatic, internal). */
  depends: Array<[from: string, to: string]>;
  /** `classid:objid` of every extension member → OID of its extension. */
  members: Map<string, number>;
  comments: Comments;
}

async function readCatalog(client: pg.ClientBase): Promise<Catalog> {
  const comments = new Comments(
    await rows(
      client,
      `SELECT d.classoid, d.objoid, d.objsubid, d.description,
              pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) AS what
         FROM pg_catalog.pg_description d
        WHERE d.objoid >= 16384 OR (d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objoid = 2200)`,
    ),
  );
  const schemas = await readSchemas(client, comments);
  const extensions = await readExtensions(client, comments);
  const enums = await readEnums(client, comments);
  const functions = await readFunctions(client, comments);
  const allSequences = await readSequences(client, comments);
  const tables = await readTables(client, comments, allSequences);
  const views = await readViews(client, comments);
  const tableOids = tables.map((t) => t.oid);
  const constraints = await readConstraints(client, comments, tableOids);
  for (const table of tables) {
    table.checks = constraints.filter((c) => c.tableOid === table.oid && c.type === "c" && c.validated);
    table.parts.push(...table.checks.map((c): [number, number] => [CATALOG.pg_constraint, c.oid]));
  }
  const indexes = await readIndexes(client, comments, tableOids);
  const triggers = await readTriggers(client, comments, [...tableOids, ...views.map((v) => v.oid)]);
  const depends = (
    await rows<{ classid: number; objid: number; refclassid: number; refobjid: number }>(
      client,
      `SELECT classid, objid, refclassid, refobjid FROM pg_catalog.pg_depend
        WHERE deptype IN ('n', 'a', 'i') AND objid >= 16384 AND refobjid >= 16384`,
    )
  ).map((d): [string, string] => [`${d.classid}:${d.objid}`, `${d.refclassid}:${d.refobjid}`]);
  const members = new Map(
    (
      await rows<{ classid: number; objid: number; refobjid: number }>(
        client,
        `SELECT classid, objid, refobjid FROM pg_catalog.pg_depend
          WHERE deptype = 'e' AND refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass`,
      )
    ).map((m) => [`${m.classid}:${m.objid}`, m.refobjid]),
  );
  return {
    schemas, extensions, enums, functions, tables, views, indexes, triggers, depends, members, comments,
    sequences: allSequences.filter((s) => !s.owner?.identity),
    identitySequences: allSequences.filter((s) => s.owner?.identity),
    constraints: constraints.filter((c) => c.type !== "c" || !c.validated),
  };
}

async function readSchemas(client: pg.ClientBase, comments: Comments): Promise<SchemaDef[]> {
  const found = await rows<SchemaDef>(
    client,
    `SELECT n.oid, n.nspname AS name FROM pg_catalog.pg_namespace n
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_namespace", "n.oid")}`,
  );
  return found.map((s) => {
    const comment = comments.take(CATALOG.pg_namespace, s.oid);
    // initdb's own comment: leaving it out spares the restoring role from owning `public`.
    return s.name === "public" && comment === "standard public schema" ? s : { ...s, comment };
  });
}

/**
 * OIDs below 16384 were made by initdb (plpgsql): every new database already has them. The comment
 * CREATE EXTENSION sets itself is left out: only the extension's owner may comment on it, and an
 * in-place restore by a non-superuser keeps the installed extension (e.g. pgvector) it cannot own.
 */
async function readExtensions(client: pg.ClientBase, comments: Comments): Promise<ExtensionDef[]> {
  const found = await rows<Omit<ExtensionDef, "comment"> & { defaultComment: string | null }>(
    client,
    `SELECT e.oid, e.extname AS name, e.extversion AS version, n.nspname AS schema, a.comment AS "defaultComment"
       FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
       LEFT JOIN pg_catalog.pg_available_extensions a ON a.name = e.extname
      WHERE e.oid >= 16384`,
  );
  return found.map(({ defaultComment, ...e }) => {
    const comment = comments.take(CATALOG.pg_extension, e.oid);
    return comment === undefined || comment === defaultComment ? e : { ...e, comment };
  });
}

async function readEnums(client: pg.ClientBase, comments: Comments): Promise<EnumDef[]> {
  const found = await rows<EnumDef>(
    client,
    `SELECT t.oid, t.typarray AS "arrayOid", n.nspname AS schema, t.typname AS name,
            ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype = 'e' AND ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`,
  );
  return found.map((t) => ({ ...t, comment: comments.take(CATALOG.pg_type, t.oid) }));
}

async function readFunctions(client: pg.ClientBase, comments: Comments): Promise<FunctionDef[]> {
  const found = await rows<FunctionDef>(
    client,
    `SELECT p.oid, n.nspname AS schema, p.proname AS name,
            pg_catalog.oidvectortypes(p.proargtypes) AS "argTypes",
            pg_catalog.pg_get_function_identity_arguments(p.oid) AS "identityArgs",
            pg_catalog.pg_get_functiondef(p.oid) AS definition
       FROM pg_catalog.pg_proc p
       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
       JOIN pg_catalog.pg_language l ON l.oid = p.prolang
      WHERE p.prokind = 'f' AND l.lanname IN ('sql', 'plpgsql')
        AND ${userSchema("n")} AND ${notExtensionMember("pg_proc", "p.oid")}`,
  );
  return found.map((f) => ({ ...f, comment: comments.take(CATALOG.pg_proc, f.oid) }));
}

async function readSequences(client: pg.ClientBase, comments: Comments): Promise<SequenceDef[]> {
  const found = await rows<Omit<SequenceDef, "owner"> & {
    ownerOid: number | null; ownerSchema: string; ownerTable: string; ownerColumn: string; ownerDeptype: string;
  }>(
    client,
    `SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relpersistence = 'u' AS unlogged,
            pg_catalog.format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start,
            s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max,
            s.seqcache::text AS cache, s.seqcycle AS cycle,
            o.refobjid AS "ownerOid", o.deptype AS "ownerDeptype", otn.nspname AS "ownerSchema",
            ot.relname AS "ownerTable", oa.attname AS "ownerColumn"
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
       LEFT JOIN pg_catalog.pg_depend o ON o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.objid = c.oid
            AND o.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.refobjsubid > 0 AND o.deptype IN ('a', 'i')
       LEFT JOIN pg_catalog.pg_class ot ON ot.oid = o.refobjid
       LEFT JOIN pg_catalog.pg_namespace otn ON otn.oid = ot.relnamespace
       LEFT JOIN pg_catalog.pg_attribute oa ON oa.attrelid = o.refobjid AND oa.attnum = o.refobjsubid
      WHERE c.relkind = 'S' AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  );
  return found.map(({ ownerOid, ownerSchema, ownerTable, ownerColumn, ownerDeptype, ...seq }) => ({
    ...seq,
    comment: comments.take(CATALOG.pg_class, seq.oid),
    ...(ownerOid === null
      ? {}
      : { owner: { oid: ownerOid, schema: ownerSchema, table: ownerTable, column: ownerColumn, identity: ownerDeptype === "i" } }),
  }));
}

interface ColumnRow {
  relid: number; attnum: number; name: string; type: string; notNull: boolean; identity: string; generated: string;
  default: string | null; attrdef: number | null; collationSchema: string | null; collationName: string | null;
}

async function readColumns(client: pg.ClientBase, relationOids: number[]): Promise<ColumnRow[]> {
  return await rows<ColumnRow>(
    client,
    `SELECT a.attrelid AS relid, a.attnum, a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS "notNull", a.attidentity AS identity, a.attgenerated AS generated,
            pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS "default", d.oid AS attrdef,
            CASE WHEN a.attcollation <> t.typcollation THEN cn.nspname END AS "collationSchema",
            CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS "collationName"
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
       LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
      WHERE a.attrelid = ANY($1::pg_catalog.oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [relationOids],
  );
}

function toColumn(row: ColumnRow, identitySequence: SequenceDef | undefined, comment: string | undefined): ColumnDef {
  if (row.identity !== "" && identitySequence === undefined) {
    throw new BackupError(`identity column ${quoteIdent(row.name)} has no identity sequence in pg_depend; the catalog looks damaged`);
  }
  return {
    name: row.name,
    type: row.type,
    notNull: row.notNull,
    generated: row.generated !== "",
    ...(row.collationName === null ? {} : { collation: qualify(row.collationSchema ?? "", row.collationName) }),
    ...(row.default === null ? {} : { default: row.default }),
    ...(identitySequence === undefined ? {} : { identity: { always: row.identity === "a", sequence: identitySequence } }),
    ...(comment === undefined ? {} : { comment }),
  };
}

async function readTables(client: pg.ClientBase, comments: Comments, sequences: SequenceDef[]): Promise<TableDef[]> {
  const found = await rows<{ oid: number; rowTypeOid: number; schema: string; name: string; unlogged: boolean; options: string[] }>(
    client,
    `SELECT c.oid, c.reltype AS "rowTypeOid", n.nspname AS schema, c.relname AS name,
            c.relpersistence = 'u' AS unlogged, COALESCE(c.reloptions, '{}')::text[] AS options
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  );
  const columns = await readColumns(client, found.map((t) => t.oid));
  const identityOf = (tableOid: number, column: string) =>
    sequences.find((s) => s.owner?.identity && s.owner.oid === tableOid && s.owner.column === column);
  return found.map((table) => {
    const own = columns.filter((c) => c.relid === table.oid);
    const parts: Array<[number, number]> = own.flatMap((c) => (c.attrdef === null ? [] : [[CATALOG.pg_attrdef, c.attrdef] as [number, number]]));
    return {
      ...table,
      columns: own.map((c) => {
        const identity = c.identity === "" ? undefined : identityOf(table.oid, c.name);
        if (identity) parts.push([CATALOG.pg_class, identity.oid]);
        return toColumn(c, identity, comments.take(CATALOG.pg_class, table.oid, c.attnum));
      }),
      checks: [],
      parts,
      comment: comments.take(CATALOG.pg_class, table.oid),
    };
  });
}

async function readViews(client: pg.ClientBase, comments: Comments): Promise<ViewDef[]> {
  const found = await rows<Omit<ViewDef, "columns">>(
    client,
    `SELECT c.oid, c.reltype AS "rowTypeOid", r.oid AS "ruleOid", n.nspname AS schema, c.relname AS name,
            COALESCE(c.reloptions, '{}')::text[] AS options, pg_catalog.pg_get_viewdef(c.oid) AS query
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_rewrite r ON r.ev_class = c.oid AND r.rulename = '_RETURN'
      WHERE c.relkind = 'v' AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  );
  const columns = await readColumns(client, found.map((v) => v.oid));
  return found.map((view) => ({
    ...view,
    columns: columns
      .filter((c) => c.relid === view.oid)
      .map((c) => ({ name: c.name, comment: comments.take(CATALOG.pg_class, view.oid, c.attnum) })),
    comment: comments.take(CATALOG.pg_class, view.oid),
  }));
}

/** CHECK, PRIMARY KEY, UNIQUE, FOREIGN KEY; exclusion constraints are refused upstream. */
async function readConstraints(client: pg.ClientBase, comments: Comments, tableOids: number[]): Promise<ConstraintDef[]> {
  const found = await rows<ConstraintDef>(
    client,
    `SELECT co.oid, n.nspname AS schema, c.relname AS table, co.conrelid AS "tableOid", co.conname AS name,
            co.contype AS type, pg_catalog.pg_get_constraintdef(co.oid) AS definition, co.convalidated AS validated,
            co.conindid AS "indexOid", co.confrelid AS "referencedOid"
       FROM pg_catalog.pg_constraint co
       JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE co.conrelid = ANY($1::pg_catalog.oid[]) AND co.contype IN ('c', 'p', 'u', 'f')`,
    [tableOids],
  );
  return found.map((c) => ({
    ...c,
    comment: comments.take(CATALOG.pg_constraint, c.oid),
    ...(c.type === "p" || c.type === "u" ? { indexComment: comments.take(CATALOG.pg_class, c.indexOid) } : {}),
  }));
}

/** Indexes of their own; those behind a primary or unique key come back with the constraint. */
async function readIndexes(client: pg.ClientBase, comments: Comments, tableOids: number[]): Promise<IndexDef[]> {
  const found = await rows<IndexDef>(
    client,
    `SELECT i.indexrelid AS oid, n.nspname AS schema, t.relname AS table, ic.relname AS name,
            pg_catalog.pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
      WHERE i.indrelid = ANY($1::pg_catalog.oid[])
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint co
                         WHERE co.conindid = i.indexrelid AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x'))`,
    [tableOids],
  );
  return found.map((i) => ({ ...i, comment: comments.take(CATALOG.pg_class, i.oid) }));
}

/** User triggers; the internal ones (foreign key checks) come back with their constraints. */
async function readTriggers(client: pg.ClientBase, comments: Comments, relationOids: number[]): Promise<TriggerDef[]> {
  const found = await rows<TriggerDef>(
    client,
    `SELECT t.oid, n.nspname AS schema, c.relname AS table, t.tgname AS name,
            pg_catalog.pg_get_triggerdef(t.oid) AS definition, t.tgenabled AS enabled
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE t.tgrelid = ANY($1::pg_catalog.oid[]) AND NOT t.tgisinternal`,
    [relationOids],
  );
  return found.map((t) => ({ ...t, comment: comments.take(CATALOG.pg_trigger, t.oid) }));
}

/**
 * Sequence positions, read inside the snapshot's transaction. Sequences are not transactional:
 * this is their position now, which is at or after the snapshot's, so restored sequences never
 * hand out a value the dumped rows already use.
 */
async function readSequenceValues(client: pg.ClientBase, sequences: SequenceDef[]): Promise<SequenceValue[]> {
  const values: SequenceValue[] = [];
  for (const seq of [...sequences].sort((a, b) => compareNames([a.schema, a.name], [b.schema, b.name]))) {
    const qualifiedName = qualify(seq.schema, seq.name);
    const [row] = await rows<{ last_value: string; is_called: boolean }>(client, `SELECT last_value, is_called FROM ${qualifiedName}`);
    if (row === undefined) throw new BackupError(`sequence ${qualifiedName} returned no row; the catalog looks damaged`);
    values.push({ qualifiedName, setval: setval(seq.schema, seq.name, row.last_value, row.is_called) });
  }
  return values;
}

function compareNames(a: readonly string[], b: readonly string[]): number {
  const x = a.join("\u0000");
  const y = b.join("\u0000");
  return x < y ? -1 : x > y ? 1 : 0;
}

/** One statement group of the archive, with the catalog rows it creates. */
interface DumpNode extends SortNode {
  statements: string[];
  refs: ObjectRef[];
  /** `classid:objid` of every catalog row this node creates. */
  creates: string[];
  kind: "schema" | "extension" | "type" | "function" | "sequence" | "table" | "view" | "owned-by" | "index" | "constraint" | "late-constraint" | "trigger";
}

/**
 * Tie-break ranks: pre-data in pg_dump's kind order, then post-data as pg_dump writes it. A
 * "late-constraint" is a foreign key or a NOT VALID check: it needs the keys (and the data) first.
 */
const RANK: Record<DumpNode["kind"], number> = {
  schema: 0, extension: 1, type: 2, function: 3, sequence: 4, table: 5, view: 6, "owned-by": 7,
  index: 10, constraint: 11, "late-constraint": 12, trigger: 13,
};

const PRE_DATA_KINDS = new Set<DumpNode["kind"]>(["schema", "extension", "type", "function", "sequence", "table", "view", "owned-by"]);

function node(
  kind: DumpNode["kind"], key: string, label: string, statements: string[], creates: Array<[number, number]>, refs: ObjectRef[],
): DumpNode {
  return {
    kind, key, rank: RANK[kind], sortName: `${kind} ${label}`, deps: [], statements, refs,
    creates: creates.map(([classId, oid]) => `${classId}:${oid}`),
  };
}

function buildNodes(catalog: Catalog): DumpNode[] {
  const { pg_class, pg_constraint, pg_extension, pg_namespace, pg_proc, pg_rewrite, pg_trigger, pg_type } = CATALOG;
  const ref = (kind: string, schema: string, name: string, table?: string): ObjectRef =>
    table === undefined ? { kind, schema, name } : { kind, schema, name, table };
  return [
    ...catalog.schemas.map((s) =>
      node("schema", `${pg_namespace}:${s.oid}`, quoteIdent(s.name), createSchema(s), [[pg_namespace, s.oid]], [ref("schema", "", s.name)])),
    ...catalog.extensions.map((e) =>
      node("extension", `${pg_extension}:${e.oid}`, quoteIdent(e.name), createExtension(e), [[pg_extension, e.oid]], [ref("extension", "", e.name)])),
    ...catalog.enums.map((t) =>
      node("type", `${pg_type}:${t.oid}`, qualify(t.schema, t.name), createEnum(t), [[pg_type, t.oid], [pg_type, t.arrayOid]], [ref("type", t.schema, t.name)])),
    ...catalog.functions.map((f) =>
      node("function", `${pg_proc}:${f.oid}`, `${qualify(f.schema, f.name)}(${f.argTypes})`, createFunction(f), [[pg_proc, f.oid]],
        [ref("function", f.schema, `${f.name}(${f.argTypes})`)])),
    ...catalog.sequences.map((s) =>
      node("sequence", `${pg_class}:${s.oid}`, qualify(s.schema, s.name), createSequence(s), [[pg_class, s.oid]], [ref("sequence", s.schema, s.name)])),
    ...catalog.sequences.filter((s) => s.owner !== undefined).map((s) => ({
      ...node("owned-by", `owned-by:${s.oid}`, qualify(s.schema, s.name), sequenceOwnedBy(s), [], []),
      deps: [`${pg_class}:${s.oid}`, `${pg_class}:${s.owner?.oid}`],
    })),
    ...catalog.tables.map((t) =>
      node("table", `${pg_class}:${t.oid}`, qualify(t.schema, t.name), createTable(t), [[pg_class, t.oid], [pg_type, t.rowTypeOid], ...t.parts], [
        ref("table", t.schema, t.name),
        ...t.columns.flatMap((c) => (c.identity ? [ref("sequence", c.identity.sequence.schema, c.identity.sequence.name)] : [])),
        ...t.checks.map((c) => ref("constraint", c.schema, c.name, c.table)),
      ])),
    ...catalog.views.map((v) =>
      node("view", `${pg_class}:${v.oid}`, qualify(v.schema, v.name), createView(v), [[pg_class, v.oid], [pg_type, v.rowTypeOid], [pg_rewrite, v.ruleOid]],
        [ref("view", v.schema, v.name)])),
    ...catalog.indexes.map((i) =>
      node("index", `${pg_class}:${i.oid}`, qualify(i.schema, i.name), createIndex(i), [[pg_class, i.oid]], [ref("index", i.schema, i.name)])),
    ...catalog.constraints.map((c) =>
      node(c.type === "p" || c.type === "u" ? "constraint" : "late-constraint", `${pg_constraint}:${c.oid}`, `${qualify(c.schema, c.table)} ${quoteIdent(c.name)}`,
        addConstraint(c),
        c.type === "p" || c.type === "u" ? [[pg_constraint, c.oid], [pg_class, c.indexOid]] : [[pg_constraint, c.oid]],
        [ref("constraint", c.schema, c.name, c.table)])),
    ...catalog.triggers.map((t) =>
      node("trigger", `${pg_trigger}:${t.oid}`, `${qualify(t.schema, t.table)} ${quoteIdent(t.name)}`, createTrigger(t), [[pg_trigger, t.oid]],
        [ref("trigger", t.schema, t.name, t.table)])),
  ];
}

/**
 * Attach pg_depend edges to nodes. A catalog row stands for the node that creates it; an extension
 * member stands for its extension (a column of type hstore needs CREATE EXTENSION hstore first).
 * Sequence → table edges are skipped: they record ownership (OWNED BY), written after both exist.
 */
function linkDependencies(nodes: DumpNode[], catalog: Catalog): void {
  const owner = new Map<string, DumpNode>();
  for (const n of nodes) for (const row of n.creates) owner.set(row, n);
  const extensionNode = new Map(nodes.filter((n) => n.kind === "extension").map((n) => [n.key, n]));
  for (const [member, extensionOid] of catalog.members) {
    const ext = extensionNode.get(`${CATALOG.pg_extension}:${extensionOid}`);
    if (ext !== undefined && !owner.has(member)) owner.set(member, ext);
  }
  const deps = new Map<string, Set<string>>(nodes.map((n) => [n.key, new Set(n.deps)]));
  for (const [from, to] of catalog.depends) {
    const source = owner.get(from);
    const target = owner.get(to);
    if (source === undefined || target === undefined || source === target) continue;
    if (source.kind === "sequence" && target.kind === "table") continue;
    deps.get(source.key)?.add(target.key);
  }
  for (const n of nodes) n.deps = [...(deps.get(n.key) ?? [])];
}

/**
 * Split into sections. A key that a pre-data object needs (a view grouping by a primary key relies
 * on it for functional dependency) moves into pre-data, as pg_dump does.
 */
function splitSections(nodes: DumpNode[]): { pre: DumpNode[]; post: DumpNode[] } {
  const keys = new Set(nodes.filter((n) => n.kind === "constraint").map((n) => n.key));
  const pre = new Set(nodes.filter((n) => PRE_DATA_KINDS.has(n.kind)).map((n) => n.key));
  for (const n of nodes) {
    if (!pre.has(n.key)) continue;
    for (const dep of n.deps) if (keys.has(dep)) pre.add(dep);
  }
  return { pre: nodes.filter((n) => pre.has(n.key)), post: nodes.filter((n) => !pre.has(n.key)) };
}

function ordered(nodes: DumpNode[]): DumpNode[] {
  try {
    return dependencyOrder(nodes, "throw");
  } catch (error) {
    if (error instanceof DependencyCycleError) {
      throw new UnsupportedObjectsError(error.members.map((m) => `circular dependency through ${m}`));
    }
    throw error;
  }
}

function assembleDump(catalog: Catalog, sequences: SequenceValue[]): SchemaDump {
  const nodes = buildNodes(catalog);
  linkDependencies(nodes, catalog);
  const { pre, post } = splitSections(nodes);
  const preOrder = ordered(pre);
  const postOrder = ordered(post);
  return {
    preData: preOrder.flatMap((n) => n.statements),
    tables: dataOrder(catalog.tables, catalog.constraints).map(tableData),
    sequences,
    postData: postOrder.flatMap((n) => n.statements),
    objects: [...preOrder, ...postOrder].flatMap((n) => n.refs),
    extensions: catalog.extensions.map((e): ExtensionRef => ({ name: e.name, version: e.version, schema: e.schema })),
  };
}

/** Referenced tables first (cycles broken by name): foreign keys come after the data anyway. */
function dataOrder(tables: TableDef[], constraints: ConstraintDef[]): TableDef[] {
  return dependencyOrder(
    tables.map((t) => ({
      key: String(t.oid), rank: 0, sortName: qualify(t.schema, t.name), table: t,
      deps: constraints.filter((c) => c.type === "f" && c.tableOid === t.oid).map((c) => String(c.referencedOid)),
    })),
    "break",
  ).map((n) => n.table);
}

function tableData(table: TableDef): TableData {
  return { schema: table.schema, name: table.name, qualifiedName: qualify(table.schema, table.name), ...copyStatements(table) };
}

/**
 * What this version cannot reproduce yet, one query per catalog, each row `kind` + `name`.
 * Extension members are excluded everywhere: CREATE EXTENSION brings them back.
 */
const UNSUPPORTED_CHECKS: readonly string[] = [
  `SELECT CASE c.relkind WHEN 'm' THEN 'materialized view' WHEN 'c' THEN 'composite type'
                         WHEN 'f' THEN 'foreign table' ELSE 'partitioned table' END AS kind,
          pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('m', 'c', 'f', 'p') AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  `SELECT f.kind, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
     LATERAL (VALUES
       ('partition', c.relispartition),
       ('inheritance child table', NOT c.relispartition AND EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid)),
       ('typed table', c.reloftype <> 0),
       ('table with row-level security enabled', c.relrowsecurity OR c.relforcerowsecurity),
       ('table with a non-default replica identity', c.relreplident <> 'd'),
       ('table with a non-heap access method', c.relam <> (SELECT oid FROM pg_catalog.pg_am WHERE amname = 'heap'))
     ) AS f(kind, flagged)
    WHERE f.flagged AND c.relkind = 'r' AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  `SELECT 'relation in a non-default tablespace' AS kind, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.reltablespace <> 0 AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  `SELECT f.kind, pg_catalog.format('%I.%I.%I', n.nspname, c.relname, a.attname) AS name
     FROM pg_catalog.pg_attribute a
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     JOIN pg_catalog.pg_type t ON t.oid = a.atttypid,
     LATERAL (VALUES
       ('column with a statistics target', COALESCE(a.attstattarget::int, -1) >= 0),
       ('column with a non-default storage', c.relkind = 'r' AND a.attstorage <> t.typstorage),
       ('column with a compression method', c.relkind = 'r' AND a.attcompression <> ''),
       -- Debian's 15.20 stamps every column with an internal pg_attver option that pg_dump never writes.
       ('column with options', EXISTS (SELECT 1 FROM pg_catalog.unnest(a.attoptions) AS o(option) WHERE o.option NOT LIKE 'pg\\_attver=%')),
       ('view column with a default', c.relkind = 'v' AND a.atthasdef)
     ) AS f(kind, flagged)
    WHERE f.flagged AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'i')
      AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  `SELECT CASE WHEN NOT i.indisvalid THEN 'invalid index (left by a failed CREATE INDEX CONCURRENTLY: drop or REINDEX it)'
               ELSE 'index marked for CLUSTER' END AS kind,
          pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
     FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE (NOT i.indisvalid OR i.indisclustered) AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  `SELECT CASE t.typtype WHEN 'd' THEN 'domain' WHEN 'r' THEN 'range type' WHEN 'b' THEN 'base type'
                         ELSE 'shell type' END AS kind,
          pg_catalog.format('%I.%I', n.nspname, t.typname) AS name
     FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typtype IN ('d', 'r', 'b', 'p')
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
      AND ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`,
  `SELECT CASE p.prokind WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window function' WHEN 'p' THEN 'procedure'
                         ELSE 'function in language ' || l.lanname END AS kind,
          pg_catalog.format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.oidvectortypes(p.proargtypes)) AS name
     FROM pg_catalog.pg_proc p
     JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     JOIN pg_catalog.pg_language l ON l.oid = p.prolang
    WHERE (p.prokind <> 'f' OR l.lanname NOT IN ('sql', 'plpgsql'))
      AND ${userSchema("n")} AND ${notExtensionMember("pg_proc", "p.oid")} AND ${notInternalPart("pg_proc", "p.oid")}`,
  `SELECT 'exclusion constraint' AS kind, pg_catalog.format('%I on %I.%I', co.conname, n.nspname, c.relname) AS name
     FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE co.contype = 'x' AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  `SELECT 'rule' AS kind, pg_catalog.format('%I on %I.%I', r.rulename, n.nspname, c.relname) AS name
     FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT (r.rulename = '_RETURN' AND c.relkind IN ('v', 'm'))
      AND ${userSchema("n")} AND ${notExtensionMember("pg_rewrite", "r.oid")}`,
  `SELECT 'row-level security policy' AS kind, pg_catalog.format('%I on %I.%I', p.polname, n.nspname, c.relname) AS name
     FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  `SELECT 'event trigger' AS kind, pg_catalog.quote_ident(evtname) AS name FROM pg_catalog.pg_event_trigger e
    WHERE ${notExtensionMember("pg_event_trigger", "e.oid")}`,
  `SELECT 'publication' AS kind, pg_catalog.quote_ident(pubname) AS name FROM pg_catalog.pg_publication`,
  `SELECT 'subscription' AS kind, pg_catalog.quote_ident(subname) AS name FROM pg_catalog.pg_subscription
    WHERE subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())`,
  `SELECT 'large object' AS kind, oid::text AS name FROM pg_catalog.pg_largeobject_metadata`,
  ...(
    [
      ["collation", "pg_collation", "collname", "collnamespace"],
      ["text search configuration", "pg_ts_config", "cfgname", "cfgnamespace"],
      ["text search dictionary", "pg_ts_dict", "dictname", "dictnamespace"],
      ["text search parser", "pg_ts_parser", "prsname", "prsnamespace"],
      ["text search template", "pg_ts_template", "tmplname", "tmplnamespace"],
      ["conversion", "pg_conversion", "conname", "connamespace"],
      ["operator", "pg_operator", "oprname", "oprnamespace"],
      ["operator class", "pg_opclass", "opcname", "opcnamespace"],
      ["operator family", "pg_opfamily", "opfname", "opfnamespace"],
      ["statistics object", "pg_statistic_ext", "stxname", "stxnamespace"],
    ] as const
  ).map(
    ([kind, catalog, name, namespace]) =>
      `SELECT '${kind}' AS kind, pg_catalog.format('%I.%I', n.nspname, x.${name}) AS name
         FROM pg_catalog.${catalog} x JOIN pg_catalog.pg_namespace n ON n.oid = x.${namespace}
        WHERE ${userSchema("n")} AND ${notExtensionMember(catalog, "x.oid")}`,
  ),
  ...(
    [
      ["cast", "pg_cast", "pg_catalog.format('(%s AS %s)', x.castsource::pg_catalog.regtype, x.casttarget::pg_catalog.regtype)"],
      ["procedural language", "pg_language", "pg_catalog.quote_ident(x.lanname)"],
      ["access method", "pg_am", "pg_catalog.quote_ident(x.amname)"],
      ["transform", "pg_transform", "pg_catalog.format('FOR %s LANGUAGE %s', x.trftype::pg_catalog.regtype, (SELECT lanname FROM pg_catalog.pg_language WHERE oid = x.trflang))"],
      ["foreign-data wrapper", "pg_foreign_data_wrapper", "pg_catalog.quote_ident(x.fdwname)"],
      ["foreign server", "pg_foreign_server", "pg_catalog.quote_ident(x.srvname)"],
    ] as const
  ).map(
    ([kind, catalog, name]) =>
      `SELECT '${kind}' AS kind, ${name} AS name
         FROM pg_catalog.${catalog} x
        WHERE x.oid >= 16384 AND ${notExtensionMember(catalog, "x.oid")} AND ${notInternalPart(catalog, "x.oid")}`,
  ),
  `SELECT 'security label on' AS kind, pg_catalog.pg_describe_object(classoid, objoid, objsubid) AS name FROM pg_catalog.pg_seclabel`,
  `SELECT 'extension with configuration tables' AS kind, pg_catalog.quote_ident(extname) AS name
     FROM pg_catalog.pg_extension WHERE extconfig IS NOT NULL`,
];

async function findUnsupportedObjects(client: pg.ClientBase): Promise<string[]> {
  const found: string[] = [];
  for (const sql of UNSUPPORTED_CHECKS) {
    for (const row of await rows<{ kind: string; name: string }>(client, sql)) found.push(`${row.kind} ${row.name}`);
  }
  return found.sort();
}
