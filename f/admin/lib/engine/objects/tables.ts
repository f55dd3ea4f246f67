// The tables-and-columns family: sequences (standalone, serial, identity), tables (partitioned,
// partitions, inheritance children, typed and foreign ones) with their columns, views and
// materialized views. Read with their comments, written as pg_dump would restore them, listed with
// the statement that drops them for an in-place restore; and the COPY statements of each table's rows.
import type pg from "pg";
import { BackupError } from "../../errors.ts";
import type { Comments } from "../comments.ts";
import type { InPlaceScope, ObjectKind, OwnObject } from "../kinds.ts";
import type { SequenceValue, TableData } from "../model.ts";
import { node, owned, ref, type CatalogRow, type DumpNode } from "../plan/nodes.ts";
import { qualify, quoteIdent, quoteLiteral } from "../quote.ts";
import { CATALOG, commentOn, keyValues, notExtensionMember, qualifiedName, rows, userSchema } from "../sql.ts";
import { copyFromStatement } from "../table-member.ts";
import type { ConstraintDef } from "./constraints.ts";
import { fdwOptions } from "./foreign-data.ts";

export interface SequenceDef {
  oid: number;
  schema: string;
  name: string;
  unlogged: boolean;
  type: string;
  start: string;
  increment: string;
  min: string;
  max: string;
  cache: string;
  cycle: boolean;
  /** The column that owns it: a serial column (OWNED BY) or an identity column. */
  owner?: { oid: number; schema: string; table: string; column: string; identity: boolean };
  comment?: string;
}

export interface ColumnDef {
  name: string;
  type: string;
  notNull: boolean;
  /** A foreign table's column options (`column_name 'ident'`), as [key, value]. */
  fdwOptions?: Array<[key: string, value: string]>;
  /** From PostgreSQL 18 a NOT NULL is a named constraint (a partition's is named after its parent's). */
  notNullConstraint?: { name: string; noInherit: boolean };
  /** Quoted collation, only when it differs from the type's default. */
  collation?: string;
  /** Default expression, or the generation expression of a generated column. */
  default?: string;
  /** How a generated column keeps its value (virtual ones exist from PostgreSQL 18). */
  generated?: "stored" | "virtual";
  identity?: { always: boolean; sequence: SequenceDef };
  /** False for a column that only comes from an inheritance parent. */
  local: boolean;
  /** Settings written as ALTER COLUMN after CREATE TABLE, only when not the default. */
  storage?: string;
  compression?: string;
  statistics?: number;
  options?: string[];
  comment?: string;
}

export interface TableDef {
  oid: number;
  rowTypeOid: number;
  schema: string;
  name: string;
  unlogged: boolean;
  options: string[];
  /** pg_get_partkeydef of a partitioned table: `RANGE (at)`. */
  partitionKey?: string;
  /** A partition: created as a table of its own, then attached as pg_dump does (keeps its column order). */
  partitionOf?: { oid: number; schema: string; name: string; bound: string };
  /** A typed table (CREATE TABLE … OF): the quoted composite type its columns come from. */
  ofType?: string;
  /** Its table access method when not heap (a partitioned table's whenever set): `USING …`. */
  accessMethod?: string;
  /** Inheritance parents (not partitioning), in inhseqno order. */
  inherits: Array<{ oid: number; schema: string; name: string }>;
  /**
   * Created alone, then joined to its parents by ALTER TABLE … INHERIT: PostgreSQL 15 refuses a
   * generation expression on a column merged in CREATE TABLE … INHERITS, but not through INHERIT.
   */
  inheritLater?: boolean;
  /** A foreign table: its server and options; its rows live elsewhere and are not dumped (as pg_dump). */
  foreign?: { server: string; options: Array<[key: string, value: string]> };
  /** pg_class.relreplident when FULL (f) or NOTHING (n); USING INDEX goes with the index. */
  replicaIdentity?: "f" | "n";
  rowSecurity: boolean;
  forceRowSecurity: boolean;
  columns: ColumnDef[];
  /** Validated CHECK constraints, written inside CREATE TABLE. */
  checks: ConstraintDef[];
  /** Inherited columns whose default or NOT NULL differ from the parent's: ALTER COLUMN after CREATE. */
  inheritedOverrides: Array<{ column: string; default?: string | null; notNull?: boolean }>;
  /** Catalog rows that CREATE TABLE also creates (defaults, identity sequences), for dependencies. */
  parts: Array<[classId: number, oid: number]>;
  comment?: string;
}

export interface ViewDef {
  oid: number;
  rowTypeOid: number;
  ruleOid: number;
  schema: string;
  name: string;
  options: string[];
  /** pg_get_viewdef: the SELECT the view runs. */
  query: string;
  columns: Array<{
    name: string;
    comment?: string;
    storage?: string;
    compression?: string;
    statistics?: number;
    options?: string[];
    /** ALTER VIEW … ALTER COLUMN … SET DEFAULT: what an INSERT through the view gets. */
    default?: string;
  }>;
  /** The column defaults' pg_attrdef rows, for dependencies (a default that calls a function). */
  parts: Array<[classId: number, oid: number]>;
  /** Materialized views only: refreshed after the data when the source had it populated, and their access method when not heap. */
  materialized?: { populated: boolean; accessMethod?: string };
  comment?: string;
}

export async function readSequences(client: pg.ClientBase, comments: Comments): Promise<SequenceDef[]> {
  const found = await rows<Omit<SequenceDef, "owner"> & {
    ownerOid: number | null;
    ownerSchema: string;
    ownerTable: string;
    ownerColumn: string;
    ownerDeptype: string;
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

export interface ColumnRow {
  relid: number;
  attnum: number;
  name: string;
  type: string;
  notNull: boolean;
  identity: string;
  generated: string;
  default: string | null;
  attrdef: number | null;
  collationSchema: string | null;
  collationName: string | null;
  local: boolean;
  storage: string | null;
  compression: string | null;
  statistics: number | null;
  options: string[] | null;
  notNullName: string | null;
  notNullNoInherit: boolean | null;
  notNullValidated: boolean | null;
  fdwOptions: string[] | null;
  /** Also inherited from a parent (a local column merged with the parent's). */
  inherited: boolean;
}

const STORAGE: Record<string, string> = { p: "PLAIN", e: "EXTERNAL", m: "MAIN", x: "EXTENDED" };

export async function readColumns(client: pg.ClientBase, relationOids: number[]): Promise<ColumnRow[]> {
  return await rows<ColumnRow>(
    client,
    `SELECT a.attrelid AS relid, a.attnum, a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS "notNull", a.attidentity AS identity, a.attgenerated AS generated,
            pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS "default", d.oid AS attrdef,
            CASE WHEN a.attcollation <> t.typcollation THEN cn.nspname END AS "collationSchema",
            CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS "collationName",
            a.attislocal AS local, a.attinhcount > 0 AS inherited,
            CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END AS storage,
            NULLIF(a.attcompression::text, '') AS compression,
            NULLIF(COALESCE(a.attstattarget::int, -1), -1) AS statistics,
            NULLIF(ARRAY(SELECT o FROM pg_catalog.unnest(a.attoptions) o WHERE o NOT LIKE 'pg\\_attver=%'), '{}') AS options,
            nn.conname AS "notNullName", nn.connoinherit AS "notNullNoInherit", nn.convalidated AS "notNullValidated", a.attfdwoptions AS "fdwOptions"
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_catalog.pg_constraint nn ON nn.conrelid = a.attrelid AND nn.contype = 'n' AND nn.conkey[1] = a.attnum
       LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
       LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
      WHERE a.attrelid = ANY($1::pg_catalog.oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [relationOids],
  );
}

/**
 * ALTER COLUMN settings that are not the default: storage, compression, statistics target, options.
 * Debian's PostgreSQL 15 here stamps every column with a `pg_attver` option the server sets itself:
 * readColumns leaves it out, as pg_dump does.
 */
function columnSettingsOf(row: ColumnRow): Pick<ColumnDef, "storage" | "compression" | "statistics" | "options"> {
  return {
    ...(row.storage === null ? {} : { storage: STORAGE[row.storage] ?? row.storage }),
    ...(row.compression === null
      ? {}
      : { compression: row.compression === "p" ? "pglz" : row.compression === "l" ? "lz4" : row.compression }),
    ...(row.statistics === null ? {} : { statistics: row.statistics }),
    ...(row.options === null ? {} : { options: row.options }),
  };
}

/** A NOT NULL added NOT VALID is written after the data, as its own constraint (see readConstraints). */
function toColumn(row: ColumnRow, identitySequence: SequenceDef | undefined, comment: string | undefined): ColumnDef {
  if (row.notNullValidated === false) row = { ...row, notNull: false, notNullName: null };
  if (row.identity !== "" && identitySequence === undefined) {
    throw new BackupError(`identity column ${quoteIdent(row.name)} has no identity sequence in pg_depend; the catalog looks damaged`);
  }
  return {
    name: row.name,
    type: row.type,
    ...(row.fdwOptions === null ? {} : { fdwOptions: keyValues(row.fdwOptions) }),
    notNull: row.notNull,
    ...(row.notNullName === null ? {} : { notNullConstraint: { name: row.notNullName, noInherit: row.notNullNoInherit === true } }),
    local: row.local,
    ...(row.generated === "" ? {} : { generated: row.generated === "v" ? "virtual" : "stored" }),
    ...(row.collationName === null ? {} : { collation: qualify(row.collationSchema ?? "", row.collationName) }),
    ...(row.default === null ? {} : { default: row.default }),
    ...(identitySequence === undefined ? {} : { identity: { always: row.identity === "a", sequence: identitySequence } }),
    ...columnSettingsOf(row),
    ...(comment === undefined ? {} : { comment }),
  };
}

export async function readTables(client: pg.ClientBase, comments: Comments, sequences: SequenceDef[]): Promise<TableDef[]> {
  const found = await rows<{
    oid: number;
    rowTypeOid: number;
    schema: string;
    name: string;
    unlogged: boolean;
    options: string[];
    partitionKey: string | null;
    parentOid: number | null;
    parentSchema: string | null;
    parentName: string | null;
    bound: string | null;
    parents: Array<{ oid: number; schema: string; name: string }>;
    replicaIdentity: string;
    rowSecurity: boolean;
    forceRowSecurity: boolean;
    server: string | null;
    serverOptions: string[] | null;
    ofType: string | null;
    accessMethod: string | null;
  }>(
    client,
    `SELECT c.oid, c.reltype AS "rowTypeOid", n.nspname AS schema, c.relname AS name,
            c.relpersistence = 'u' AS unlogged,
            COALESCE(c.reloptions, '{}')::text[] ||
              ARRAY(SELECT 'toast.' || o FROM pg_catalog.pg_class tc, pg_catalog.unnest(tc.reloptions) o WHERE tc.oid = c.reltoastrelid) AS options,
            CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS "partitionKey",
            pi.inhparent AS "parentOid", pn.nspname AS "parentSchema", pc.relname AS "parentName",
            CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS bound,
            COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object('oid', i.inhparent::int8, 'schema', ipn.nspname, 'name', ipc.relname) ORDER BY i.inhseqno)
                        FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class ipc ON ipc.oid = i.inhparent
                        JOIN pg_catalog.pg_namespace ipn ON ipn.oid = ipc.relnamespace
                       WHERE i.inhrelid = c.oid AND NOT c.relispartition), '[]') AS parents,
            c.relreplident AS "replicaIdentity", c.relrowsecurity AS "rowSecurity", c.relforcerowsecurity AS "forceRowSecurity",
            fs.srvname AS server, ft.ftoptions AS "serverOptions", CASE WHEN c.reloftype <> 0 THEN ${
      qualifiedName("otn.nspname", "ot.typname")
    } END AS "ofType",
            CASE WHEN c.relkind = 'p' OR am.amname <> 'heap' THEN am.amname END AS "accessMethod"
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
       LEFT JOIN pg_catalog.pg_type ot ON ot.oid = c.reloftype
       LEFT JOIN pg_catalog.pg_namespace otn ON otn.oid = ot.typnamespace
       LEFT JOIN pg_catalog.pg_foreign_table ft ON ft.ftrelid = c.oid
       LEFT JOIN pg_catalog.pg_foreign_server fs ON fs.oid = ft.ftserver
       LEFT JOIN pg_catalog.pg_inherits pi ON c.relispartition AND pi.inhrelid = c.oid
       LEFT JOIN pg_catalog.pg_class pc ON pc.oid = pi.inhparent
       LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
      WHERE c.relkind IN ('r', 'p', 'f') AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  );
  const columns = await readColumns(client, found.map((t) => t.oid));
  const identityOf = (tableOid: number, column: string) =>
    sequences.find((s) => s.owner?.identity && s.owner.oid === tableOid && s.owner.column === column);
  const columnsOf = (oid: number) => columns.filter((c) => c.relid === oid);
  return found.map(
    (
      { partitionKey, parentOid, parentSchema, parentName, bound, parents, replicaIdentity, server, serverOptions, ofType, accessMethod,
        ...table },
    ) => {
      const own = columnsOf(table.oid);
      const parts: Array<[number, number]> = own.flatMap((
        c,
      ) => (c.attrdef === null ? [] : [[CATALOG.pg_attrdef, c.attrdef] as [number, number]]));
      const partition = parentOid === null
        ? undefined
        : { oid: parentOid, schema: parentSchema ?? "", name: parentName ?? "", bound: bound ?? "" };
      // A column inherited (not partitioned) from a parent keeps the parent's definition unless changed on the child.
      const inherited = own.filter((c) => !c.local && partition === undefined);
      const parentColumns = parents.flatMap((p) => columnsOf(p.oid));
      const inheritedOverrides = inherited.flatMap((c) => {
        const fromParent = parentColumns.find((p) => p.name === c.name);
        const override: TableDef["inheritedOverrides"][number] = { column: c.name };
        if (c.default !== (fromParent?.default ?? null)) override.default = c.default;
        if (c.notNull && !fromParent?.notNull) override.notNull = true;
        return Object.keys(override).length > 1 ? [override] : [];
      });
      const inheritLater = parents.length > 0 && own.every((c) => c.local) && own.some((c) => c.inherited && c.generated !== "");
      return {
        ...table,
        ...(inheritLater ? { inheritLater } : {}),
        ...(partitionKey === null ? {} : { partitionKey }),
        ...(partition === undefined ? {} : { partitionOf: partition }),
        ...(ofType === null ? {} : { ofType }),
        ...(accessMethod === null ? {} : { accessMethod }),
        ...(server === null ? {} : { foreign: { server, options: keyValues(serverOptions ?? []) } }),
        inherits: parents,
        // A foreign table's is always NOTHING, and cannot be set.
        ...(server === null && (replicaIdentity === "f" || replicaIdentity === "n") ? { replicaIdentity } : {}),
        columns: own.map((c) => {
          const identity = c.identity === "" ? undefined : identityOf(table.oid, c.name);
          if (identity) parts.push([CATALOG.pg_class, identity.oid]);
          // A partition is created standalone, so it declares every column; from PostgreSQL 17 its
          // identity columns use the parent's sequence and become identity again when it is attached.
          const column = partition === undefined ? c : { ...c, local: true, identity: identity === undefined ? "" : c.identity };
          return toColumn(column, identity, comments.take(CATALOG.pg_class, table.oid, c.attnum));
        }),
        checks: [],
        inheritedOverrides,
        parts,
        comment: comments.take(CATALOG.pg_class, table.oid),
      };
    },
  );
}

/** Views and materialized views. */
export async function readViews(client: pg.ClientBase, comments: Comments): Promise<ViewDef[]> {
  const found = await rows<
    Omit<ViewDef, "columns" | "materialized" | "parts"> & { relkind: string; populated: boolean; accessMethod: string | null }
  >(
    client,
    `SELECT c.oid, c.reltype AS "rowTypeOid", r.oid AS "ruleOid", n.nspname AS schema, c.relname AS name,
            COALESCE(c.reloptions, '{}')::text[] AS options, pg_catalog.pg_get_viewdef(c.oid) AS query,
            c.relkind::text AS relkind, c.relispopulated AS populated,
            (SELECT am.amname FROM pg_catalog.pg_am am WHERE am.oid = c.relam AND am.amname <> 'heap') AS "accessMethod"
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_rewrite r ON r.ev_class = c.oid AND r.rulename = '_RETURN'
      WHERE c.relkind IN ('v', 'm') AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  );
  const columns = await readColumns(client, found.map((v) => v.oid));
  return found.map(({ relkind, populated, accessMethod, ...view }) => ({
    ...view,
    ...(relkind === "m" ? { materialized: { populated, ...(accessMethod === null ? {} : { accessMethod }) } } : {}),
    columns: columns
      .filter((c) => c.relid === view.oid)
      .map((c) => ({
        name: c.name,
        ...columnSettingsOf(c),
        ...(c.default === null ? {} : { default: c.default }),
        comment: comments.take(CATALOG.pg_class, view.oid, c.attnum),
      })),
    parts: columns.flatMap((
      c,
    ) => (c.relid === view.oid && c.attrdef !== null ? [[CATALOG.pg_attrdef, c.attrdef] as [number, number]] : [])),
    comment: comments.take(CATALOG.pg_class, view.oid),
  }));
}

/**
 * Sequence positions, read inside the snapshot's transaction. Sequences are not transactional:
 * this is their position now, which is at or after the snapshot's, so restored sequences never
 * hand out a value the dumped rows already use.
 */
export async function readSequenceValues(
  client: pg.ClientBase,
  sequences: Array<{ schema: string; name: string }>,
): Promise<SequenceValue[]> {
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

/** Explicit values for every option, so the result never depends on the restoring server's defaults. */
function sequenceOptions(seq: SequenceDef): string {
  return (
    `START WITH ${seq.start} INCREMENT BY ${seq.increment} MINVALUE ${seq.min} MAXVALUE ${seq.max} ` +
    `CACHE ${seq.cache}${seq.cycle ? " CYCLE" : " NO CYCLE"}`
  );
}

export function createSequence(seq: SequenceDef): string[] {
  const name = qualify(seq.schema, seq.name);
  return [
    `CREATE ${seq.unlogged ? "UNLOGGED " : ""}SEQUENCE ${name} AS ${seq.type} ${sequenceOptions(seq)};`,
    ...commentOn(`SEQUENCE ${name}`, seq.comment),
  ];
}

/** Serial columns: the sequence exists before its table, and is tied to the column once both do. */
export function sequenceOwnedBy(seq: SequenceDef): string[] {
  if (seq.owner === undefined) return [];
  const column = `${qualify(seq.owner.schema, seq.owner.table)}.${quoteIdent(seq.owner.column)}`;
  return [`ALTER SEQUENCE ${qualify(seq.schema, seq.name)} OWNED BY ${column};`];
}

export function setval(schema: string, name: string, lastValue: string, isCalled: boolean): string {
  return `SELECT pg_catalog.setval(${quoteLiteral(qualify(schema, name))}, ${lastValue}, ${isCalled});`;
}

function columnClause(column: ColumnDef): string {
  const parts = [quoteIdent(column.name), column.type + fdwOptions(column.fdwOptions)];
  if (column.collation !== undefined) parts.push(`COLLATE ${column.collation}`);
  return [...parts, ...columnConstraints(column)].join(" ");
}

/** A typed table's column: its type and collation come from the composite type, only what is added here is written. */
function typedColumnClause(column: ColumnDef): string[] {
  const constraints = columnConstraints(column);
  return constraints.length === 0 ? [] : [`${quoteIdent(column.name)} WITH OPTIONS ${constraints.join(" ")}`];
}

/** Default, generation or identity, then NOT NULL. */
function columnConstraints(column: ColumnDef): string[] {
  const parts: string[] = [];
  if (column.generated !== undefined) {
    parts.push(`GENERATED ALWAYS AS (${column.default}) ${column.generated === "virtual" ? "VIRTUAL" : "STORED"}`);
  } else if (column.identity !== undefined) {
    const seq = column.identity.sequence;
    parts.push(
      `GENERATED ${column.identity.always ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY ` +
        `(SEQUENCE NAME ${qualify(seq.schema, seq.name)} ${sequenceOptions(seq)})`,
    );
  } else if (column.default !== undefined) {
    parts.push(`DEFAULT ${column.default}`);
  }
  if (column.notNullConstraint !== undefined) {
    parts.push(
      `CONSTRAINT ${quoteIdent(column.notNullConstraint.name)} NOT NULL${column.notNullConstraint.noInherit ? " NO INHERIT" : ""}`,
    );
  } else if (column.notNull) {
    parts.push("NOT NULL");
  }
  return parts;
}

/** `WITH (key='value', …)`: quoted values are accepted for every option and survive any content. */
function withOptions(options: readonly string[]): string {
  if (options.length === 0) return "";
  const pairs = options.map((option) => {
    const eq = option.indexOf("=");
    return `${option.slice(0, eq)}=${quoteLiteral(option.slice(eq + 1))}`;
  });
  return ` WITH (${pairs.join(", ")})`;
}

/** ALTER COLUMN statements for what CREATE TABLE cannot say: storage, compression, statistics, options. */
function alterColumns(
  relation: string,
  columns: ReadonlyArray<Pick<ColumnDef, "name" | "storage" | "compression" | "statistics" | "options">>,
): string[] {
  return columns.flatMap((c) => {
    const column = `${relation} ALTER COLUMN ${quoteIdent(c.name)}`;
    return [
      ...(c.statistics === undefined ? [] : [`${column} SET STATISTICS ${c.statistics};`]),
      ...(c.options === undefined ? [] : [`${column} SET (${c.options.join(", ")});`]),
      ...(c.storage === undefined ? [] : [`${column} SET STORAGE ${c.storage};`]),
      ...(c.compression === undefined ? [] : [`${column} SET COMPRESSION ${c.compression};`]),
    ];
  });
}

/**
 * Validated CHECK constraints go inside CREATE TABLE; keys and foreign keys wait for post-data. A
 * child of inheritance declares only its own columns; a partition is a table of its own here and is
 * attached by attachPartition, which keeps its column order. A typed table takes its columns from
 * its type and declares only their defaults and NOT NULLs.
 */
export function createTable(table: TableDef): string[] {
  const name = qualify(table.schema, table.name);
  const lines = [
    ...(table.ofType === undefined ? table.columns.filter((c) => c.local).map(columnClause) : table.columns.flatMap(typedColumnClause)),
    ...table.checks.map((check) => `CONSTRAINT ${quoteIdent(check.name)} ${check.definition}`),
  ];
  const list = `(\n    ${lines.join(",\n    ")}\n)`;
  // A typed table's list is optional; any other table needs one, even empty.
  const body = table.ofType !== undefined ? `OF ${table.ofType}${lines.length === 0 ? "" : ` ${list}`}` : lines.length === 0 ? "()" : list;
  const inherits = table.inherits.length === 0 || table.inheritLater
    ? ""
    : `\nINHERITS (${table.inherits.map((p) => qualify(p.schema, p.name)).join(", ")})`;
  const partitioned = table.partitionKey === undefined ? "" : `\nPARTITION BY ${table.partitionKey}`;
  const method = table.accessMethod === undefined ? "" : `\nUSING ${quoteIdent(table.accessMethod)}`;
  const storage = table.foreign === undefined
    ? withOptions(table.options)
    : `\nSERVER ${quoteIdent(table.foreign.server)}${fdwOptions(table.foreign.options)}`;
  return [
    `CREATE ${table.unlogged ? "UNLOGGED " : ""}${
      table.foreign ? "FOREIGN " : ""
    }TABLE ${name} ${body}${inherits}${partitioned}${method}${storage};`,
    ...(table.inheritLater ? table.inherits.map((p) => `ALTER TABLE ONLY ${name} INHERIT ${qualify(p.schema, p.name)};`) : []),
    ...table.inheritedOverrides.flatMap((o) => [
      ...(o.default === undefined ? [] : [
        `ALTER TABLE ONLY ${name} ALTER COLUMN ${quoteIdent(o.column)} ${
          o.default === null ? "DROP DEFAULT" : `SET DEFAULT ${o.default}`
        };`,
      ]),
      ...(o.notNull ? [`ALTER TABLE ONLY ${name} ALTER COLUMN ${quoteIdent(o.column)} SET NOT NULL;`] : []),
    ]),
    ...alterColumns(`ALTER TABLE ONLY ${name}`, table.columns),
    // An identity sequence takes its table's persistence; one changed since (PostgreSQL 15) is set again.
    ...table.columns.flatMap((c) =>
      c.identity === undefined || c.identity.sequence.unlogged === table.unlogged ? [] : [
        `ALTER SEQUENCE ${qualify(c.identity.sequence.schema, c.identity.sequence.name)} SET ${
          c.identity.sequence.unlogged ? "UNLOGGED" : "LOGGED"
        };`,
      ]
    ),
    ...(table.replicaIdentity === undefined
      ? []
      : [`ALTER TABLE ONLY ${name} REPLICA IDENTITY ${table.replicaIdentity === "f" ? "FULL" : "NOTHING"};`]),
    ...commentOn(`${table.foreign ? "FOREIGN TABLE" : "TABLE"} ${name}`, table.comment),
    ...table.columns.flatMap((column) => commentOn(`COLUMN ${name}.${quoteIdent(column.name)}`, column.comment)),
    ...table.checks.flatMap((check) => commentOn(`CONSTRAINT ${quoteIdent(check.name)} ON ${name}`, check.comment)),
    ...table.columns.flatMap((column) =>
      column.identity
        ? commentOn(`SEQUENCE ${qualify(column.identity.sequence.schema, column.identity.sequence.name)}`, column.identity.sequence.comment)
        : []
    ),
  ];
}

export function attachPartition(table: TableDef): string[] {
  if (table.partitionOf === undefined) return [];
  const parent = qualify(table.partitionOf.schema, table.partitionOf.name);
  return [`ALTER TABLE ONLY ${parent} ATTACH PARTITION ${qualify(table.schema, table.name)} ${table.partitionOf.bound};`];
}

/** A materialized view is created empty; refreshMaterializedView fills it after the data. */
export function createView(view: ViewDef): string[] {
  const name = qualify(view.schema, view.name);
  const query = view.query.trim().replace(/;$/, "");
  const keyword = view.materialized ? "MATERIALIZED VIEW" : "VIEW";
  return [
    `CREATE ${keyword} ${name}${
      view.materialized?.accessMethod === undefined ? "" : ` USING ${quoteIdent(view.materialized.accessMethod)}`
    }${withOptions(view.options)} AS\n${query}${view.materialized ? "\n  WITH NO DATA" : ""};`,
    ...alterColumns(`ALTER ${keyword} ${name}`, view.columns),
    ...view.columns.flatMap((
      c,
    ) => (c.default === undefined ? [] : [`ALTER VIEW ${name} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT ${c.default};`])),
    ...commentOn(`${keyword} ${name}`, view.comment),
    ...view.columns.flatMap((column) => commentOn(`COLUMN ${name}.${quoteIdent(column.name)}`, column.comment)),
  ];
}

export function refreshMaterializedView(view: ViewDef): string[] {
  return view.materialized?.populated ? [`REFRESH MATERIALIZED VIEW ${qualify(view.schema, view.name)};`] : [];
}

export function copyStatements(table: TableDef): { columns: string[]; copyIn: string; copyOut: string } {
  const columns = table.columns.filter((column) => column.generated === undefined).map((column) => quoteIdent(column.name));
  // A table without columns still has rows; COPY takes no column list then, as `()` is a syntax error.
  const name = qualify(table.schema, table.name);
  const target = columns.length === 0 ? name : `${name} (${columns.join(", ")})`;
  return { columns, copyIn: copyFromStatement(table.schema, table.name, columns), copyOut: `COPY ${target} TO STDOUT` };
}

export function tableData(table: TableDef): TableData {
  return { schema: table.schema, name: table.name, qualifiedName: qualify(table.schema, table.name), ...copyStatements(table) };
}

/** An identity sequence belongs to its table's owner (it cannot be given away) but has grants of its own. */
function identityGrants(table: TableDef): DumpNode["partGrants"] {
  return table.columns.flatMap((c) =>
    c.identity === undefined ? [] : [{
      row: `${CATALOG.pg_class}:${c.identity.sequence.oid}`,
      grantOn: `SEQUENCE ${qualify(c.identity.sequence.schema, c.identity.sequence.name)}`,
    }]
  );
}

/** Sequences (tied to their serial columns once both exist), tables (partitions attached after), views (materialized ones refreshed after the data). */
export function tableNodes(c: { sequences: SequenceDef[]; tables: TableDef[]; views: ViewDef[] }): DumpNode[] {
  const { pg_class, pg_rewrite, pg_type } = CATALOG;
  return [
    ...c.sequences.map((s) =>
      owned(
        node("sequence", `${pg_class}:${s.oid}`, qualify(s.schema, s.name), createSequence(s), [[pg_class, s.oid]], [
          ref("sequence", s.schema, s.name),
        ]),
        `SEQUENCE ${qualify(s.schema, s.name)}`,
        "",
      )
    ),
    ...c.sequences.flatMap((s) =>
      s.owner === undefined ? [] : [
        node("owned-by", `owned-by:${s.oid}`, qualify(s.schema, s.name), sequenceOwnedBy(s), [], [], [[pg_class, s.oid], [pg_class,
          s.owner.oid]]),
      ]
    ),
    ...c.tables.map((t) =>
      owned(
        node("table", `${pg_class}:${t.oid}`, qualify(t.schema, t.name), createTable(t), [[pg_class, t.oid], [pg_type, t.rowTypeOid],
          ...t.parts], [
          ref(t.foreign ? "foreign table" : "table", t.schema, t.name),
          ...t.columns.flatMap((col) => (col.identity ? [ref("sequence", col.identity.sequence.schema, col.identity.sequence.name)] : [])),
          ...t.checks.map((check) => ref("constraint", check.schema, check.name, check.table)),
        ], t.inherits.map((p): CatalogRow => [pg_class, p.oid])),
        `${t.foreign ? "FOREIGN TABLE" : "TABLE"} ${qualify(t.schema, t.name)}`,
        `TABLE ${qualify(t.schema, t.name)}`,
        identityGrants(t),
      )
    ),
    ...c.tables.flatMap((t) =>
      t.partitionOf === undefined ? [] : [
        node("attach-partition", `attach-partition:${t.oid}`, qualify(t.schema, t.name), attachPartition(t), [], [], [[pg_class, t.oid], [
          pg_class,
          t.partitionOf.oid,
        ]]),
      ]
    ),
    ...c.views.map((v) =>
      owned(
        node("view", `${pg_class}:${v.oid}`, qualify(v.schema, v.name), createView(v), [[pg_class, v.oid], [pg_type, v.rowTypeOid], [
          pg_rewrite,
          v.ruleOid,
        ], ...v.parts], [ref(v.materialized ? "materialized view" : "view", v.schema, v.name)]),
        `${v.materialized ? "MATERIALIZED VIEW" : "VIEW"} ${qualify(v.schema, v.name)}`,
        `TABLE ${qualify(v.schema, v.name)}`,
      )
    ),
    ...c.views.flatMap((v) =>
      v.materialized?.populated ?
        [
          node("refresh", `refresh:${v.oid}`, qualify(v.schema, v.name), refreshMaterializedView(v), [], [], [[pg_class, v.oid]]),
        ] :
        []
    ),
  ];
}

const RELATION_KINDS: Record<string, [kind: ObjectKind, keyword: string]> = {
  r: ["table", "TABLE"],
  p: ["table", "TABLE"],
  v: ["view", "VIEW"],
  m: ["materialized view", "MATERIALIZED VIEW"],
  f: ["foreign table", "FOREIGN TABLE"],
  S: ["sequence", "SEQUENCE"],
};

export async function listRelations(client: pg.ClientBase, scope: InPlaceScope): Promise<OwnObject[]> {
  const relations = await rows<{ schema: string; name: string; relkind: string }>(
    client,
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        AND ${notExtensionMember("pg_class", "c.oid")}
      ORDER BY CASE c.relkind WHEN 'v' THEN 0 WHEN 'm' THEN 1 WHEN 'S' THEN 3 ELSE 2 END, 1, 2`,
    [scope.inside],
  );
  return relations.map((r) => {
    const [kind, keyword] = RELATION_KINDS[r.relkind]!;
    return { kind, schema: r.schema, name: r.name, drop: `DROP ${keyword} IF EXISTS ${qualify(r.schema, r.name)} CASCADE` };
  });
}
