// The types family: collations, enums, domains (their NOT VALID constraints after the data), composite
// and range types, base types and shell types. A base type and its I/O functions need each other,
// so the archive first creates the type as a shell, then the functions, then the whole type over
// the shell, as pg_dump does (a range with a canonical function the same way).
import type pg from "pg";
import { BackupError } from "../../errors.ts";
import type { Comments } from "../comments.ts";
import type { InPlaceScope, OwnObject } from "../kinds.ts";
import { memberLabel, node, owned, ref, type CatalogRow, type DumpNode } from "../plan/nodes.ts";
import { qualify, quoteIdent, quoteLiteral } from "../quote.ts";
import { CATALOG, commentOn, namedInSchemas, notExtensionMember, qualifiedName, rows, userSchema } from "../sql.ts";
import { readColumns } from "./tables.ts";

export interface EnumDef {
  oid: number;
  arrayOid: number;
  schema: string;
  name: string;
  labels: string[];
  comment?: string;
}

export interface DomainDef {
  oid: number;
  arrayOid: number;
  schema: string;
  name: string;
  baseType: string;
  /** Quoted collation, only when it differs from the base type's. */
  collation?: string;
  default?: string;
  /** NOT NULL without a named constraint row (PostgreSQL 16 and older). */
  notNull: boolean;
  /** Validated constraints, written inside CREATE DOMAIN (NOT NULL ones from PostgreSQL 17 included). */
  constraints: DomainConstraintDef[];
  comment?: string;
}

export interface DomainConstraintDef {
  oid: number;
  schema: string;
  domain: string;
  name: string;
  definition: string;
  validated: boolean;
  comment?: string;
}

export interface CompositeDef {
  oid: number;
  arrayOid: number;
  relOid: number;
  schema: string;
  name: string;
  columns: Array<{ name: string; type: string; collation?: string; comment?: string }>;
  comment?: string;
}

export interface RangeDef {
  oid: number;
  arrayOid: number;
  schema: string;
  name: string;
  subtype: string;
  multirange: { oid: number; arrayOid: number; schema: string; name: string };
  /** Quoted names, only when they differ from the subtype's defaults. */
  collation?: string;
  opclass?: string;
  subdiff?: string;
  /** Its canonical function (written in C, taking the range itself): the type is made a shell first, as a base type is. */
  canonical?: { oid: number; name: string };
  /** Constructor functions made by CREATE TYPE, for dependencies. */
  constructors: number[];
  comment?: string;
}

export interface CollationDef {
  oid: number;
  schema: string;
  name: string;
  /** `provider = icu, deterministic = false, locale = '…'` as CREATE COLLATION takes them. */
  options: Array<[key: string, value: string]>;
  comment?: string;
}

export interface BaseTypeDef {
  oid: number;
  arrayOid: number;
  schema: string;
  name: string;
  /** CREATE TYPE's options in pg_dump's order: `KEY = value`, or a flag. */
  options: Array<[key: string, value: string | true]>;
  /** OIDs of its I/O, typmod, analyze and subscript functions: created between the shell and the type. */
  functions: number[];
  comment?: string;
}

export interface ShellTypeDef {
  oid: number;
  schema: string;
  name: string;
  comment?: string;
}

const ALIGNMENT: Record<string, string> = { c: "char", s: "int2", i: "int4", d: "double" };

const TYPE_STORAGE: Record<string, string> = { p: "plain", e: "external", m: "main", x: "extended" };

export async function readEnums(client: pg.ClientBase, comments: Comments): Promise<EnumDef[]> {
  const found = await rows<EnumDef>(
    client,
    `SELECT t.oid, t.typarray AS "arrayOid", n.nspname AS schema, t.typname AS name,
            ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype = 'e' AND ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`,
  );
  return found.map((t) => ({ ...t, comment: comments.take(CATALOG.pg_type, t.oid) }));
}

/**
 * Collations, read as whole rows: their columns changed between versions (colliculocale in 15 and
 * 16, colllocale from 17, collicurules from 16, the builtin provider from 17).
 */
export async function readCollations(client: pg.ClientBase, comments: Comments): Promise<CollationDef[]> {
  const found = await rows<{ oid: number; schema: string; name: string; row: Record<string, string | boolean | null> }>(
    client,
    `SELECT co.oid, n.nspname AS schema, co.collname AS name, pg_catalog.to_jsonb(co) AS row
       FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_collation", "co.oid")}`,
  );
  return found.map(({ row, ...c }) => {
    const provider = { c: "libc", i: "icu", b: "builtin" }[String(row.collprovider)];
    if (provider === undefined) {
      throw new BackupError(`collation ${qualify(c.schema, c.name)} has an unknown provider ${String(row.collprovider)}`);
    }
    const options: Array<[string, string]> = [["provider", provider]];
    if (row.collisdeterministic === false) options.push(["deterministic", "false"]);
    if (provider === "libc") {
      if (row.collcollate === row.collctype) options.push(["locale", String(row.collcollate)]);
      else options.push(["lc_collate", String(row.collcollate)], ["lc_ctype", String(row.collctype)]);
    } else {
      options.push(["locale", String(row.colllocale ?? row.colliculocale ?? row.collcollate)]);
      if (typeof row.collicurules === "string") options.push(["rules", row.collicurules]);
    }
    return { ...c, options, comment: comments.take(CATALOG.pg_collation, c.oid) };
  });
}

export async function readDomains(client: pg.ClientBase, comments: Comments): Promise<DomainDef[]> {
  const found = await rows<Omit<DomainDef, "constraints" | "collation" | "default"> & { collation: string | null; default: string | null }>(
    client,
    `SELECT t.oid, t.typarray AS "arrayOid", n.nspname AS schema, t.typname AS name,
            pg_catalog.format_type(t.typbasetype, t.typtypmod) AS "baseType",
            CASE WHEN t.typcollation <> b.typcollation THEN ${qualifiedName("cn.nspname", "co.collname")} END AS collation,
            pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS "default",
            t.typnotnull AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint nn WHERE nn.contypid = t.oid AND nn.contype = 'n') AS "notNull"
       FROM pg_catalog.pg_type t
       JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
       LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation
       LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
      WHERE t.typtype = 'd' AND ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`,
  );
  const constraints = await rows<DomainConstraintDef & { domainOid: number }>(
    client,
    `SELECT co.oid, co.contypid AS "domainOid", n.nspname AS schema, t.typname AS domain, co.conname AS name,
            pg_catalog.pg_get_constraintdef(co.oid) AS definition, co.convalidated AS validated
       FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_type t ON t.oid = co.contypid
       JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE co.contypid = ANY($1::pg_catalog.oid[]) ORDER BY co.conname`,
    [found.map((d) => d.oid)],
  );
  return found.map(({ collation, default: defaultValue, ...d }) => ({
    ...d,
    ...(collation === null ? {} : { collation }),
    ...(defaultValue === null ? {} : { default: defaultValue }),
    constraints: constraints
      .filter((c) => c.domainOid === d.oid)
      .map(({ domainOid: _, ...c }) => ({ ...c, comment: comments.take(CATALOG.pg_constraint, c.oid) })),
    comment: comments.take(CATALOG.pg_type, d.oid),
  }));
}

export async function readComposites(client: pg.ClientBase, comments: Comments): Promise<CompositeDef[]> {
  const found = await rows<Omit<CompositeDef, "columns">>(
    client,
    `SELECT t.oid, t.typarray AS "arrayOid", t.typrelid AS "relOid", n.nspname AS schema, t.typname AS name
       FROM pg_catalog.pg_type t
       JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
      WHERE t.typtype = 'c' AND c.relkind = 'c' AND ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`,
  );
  const columns = await readColumns(client, found.map((t) => t.relOid));
  return found.map((t) => ({
    ...t,
    columns: columns.filter((c) => c.relid === t.relOid).map((c) => ({
      name: c.name,
      type: c.type,
      ...(c.collationName === null ? {} : { collation: qualify(c.collationSchema ?? "", c.collationName) }),
      comment: comments.take(CATALOG.pg_class, t.relOid, c.attnum),
    })),
    comment: comments.take(CATALOG.pg_type, t.oid),
  }));
}

export async function readRanges(client: pg.ClientBase, comments: Comments): Promise<RangeDef[]> {
  const found = await rows<Omit<RangeDef, "multirange" | "collation" | "opclass" | "subdiff"> & {
    multiOid: number;
    multiArrayOid: number;
    multiSchema: string;
    multiName: string;
    collation: string | null;
    opclass: string | null;
    subdiff: string | null;
    canonicalOid: number;
    canonicalName: string | null;
  }>(
    client,
    `SELECT t.oid, t.typarray AS "arrayOid", n.nspname AS schema, t.typname AS name,
            pg_catalog.format_type(r.rngsubtype, NULL) AS subtype,
            m.oid AS "multiOid", m.typarray AS "multiArrayOid", mn.nspname AS "multiSchema", m.typname AS "multiName",
            CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> s.typcollation THEN ${
      qualifiedName("cn.nspname", "co.collname")
    } END AS collation,
            CASE WHEN NOT oc.opcdefault THEN ${qualifiedName("ocn.nspname", "oc.opcname")} END AS opclass,
            CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::pg_catalog.regproc::text END AS subdiff,
            r.rngcanonical::pg_catalog.oid AS "canonicalOid", CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::pg_catalog.regproc::text END AS "canonicalName",
            ARRAY(SELECT d.objid FROM pg_catalog.pg_depend d
                   WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass
                     AND d.refobjid IN (t.oid, m.oid) AND d.deptype = 'i') AS constructors
       FROM pg_catalog.pg_range r
       JOIN pg_catalog.pg_type t ON t.oid = r.rngtypid
       JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_catalog.pg_type s ON s.oid = r.rngsubtype
       JOIN pg_catalog.pg_type m ON m.oid = r.rngmultitypid
       JOIN pg_catalog.pg_namespace mn ON mn.oid = m.typnamespace
       JOIN pg_catalog.pg_opclass oc ON oc.oid = r.rngsubopc
       JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace
       LEFT JOIN pg_catalog.pg_collation co ON co.oid = r.rngcollation
       LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`,
  );
  return found.map((
    { multiOid, multiArrayOid, multiSchema, multiName, collation, opclass, subdiff, canonicalOid, canonicalName, ...r },
  ) => ({
    ...r,
    ...(canonicalName === null ? {} : { canonical: { oid: canonicalOid, name: canonicalName } }),
    multirange: { oid: multiOid, arrayOid: multiArrayOid, schema: multiSchema, name: multiName },
    ...(collation === null ? {} : { collation }),
    ...(opclass === null ? {} : { opclass }),
    ...(subdiff === null ? {} : { subdiff }),
    comment: comments.take(CATALOG.pg_type, r.oid),
  }));
}

/** Base types of user schemas; the array types PostgreSQL makes for them come back with them. */
export async function readBaseTypes(client: pg.ClientBase, comments: Comments): Promise<BaseTypeDef[]> {
  const regproc = (column: string) => `CASE WHEN t.${column} <> 0 THEN t.${column}::pg_catalog.regproc::text END`;
  const found = await rows<{
    oid: number;
    arrayOid: number;
    schema: string;
    name: string;
    length: number;
    input: string;
    output: string;
    receive: string | null;
    send: string | null;
    modIn: string | null;
    modOut: string | null;
    analyze: string | null;
    subscript: string | null;
    category: string;
    preferred: boolean;
    default: string | null;
    element: string | null;
    delimiter: string;
    align: string;
    storage: string;
    byValue: boolean;
    collatable: boolean;
    functions: number[];
  }>(
    client,
    `SELECT t.oid, t.typarray AS "arrayOid", n.nspname AS schema, t.typname AS name, t.typlen AS length,
            t.typinput::pg_catalog.regproc::text AS input, t.typoutput::pg_catalog.regproc::text AS output,
            ${regproc("typreceive")} AS receive, ${regproc("typsend")} AS send, ${regproc("typmodin")} AS "modIn",
            ${regproc("typmodout")} AS "modOut", ${regproc("typanalyze")} AS analyze, ${regproc("typsubscript")} AS subscript,
            t.typcategory AS category, t.typispreferred AS preferred, t.typdefault AS default,
            CASE WHEN t.typelem <> 0 THEN pg_catalog.format_type(t.typelem, NULL) END AS element,
            t.typdelim AS delimiter, t.typalign AS align, t.typstorage AS storage, t.typbyval AS "byValue",
            t.typcollation <> 0 AS collatable,
            ARRAY(SELECT f FROM pg_catalog.unnest(ARRAY[t.typinput, t.typoutput, t.typreceive, t.typsend, t.typmodin, t.typmodout,
                                                        t.typanalyze, t.typsubscript]::pg_catalog.oid[]) f WHERE f <> 0) AS functions
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype = 'b' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
        AND ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`,
  );
  return found.map((t) => {
    const options: BaseTypeDef["options"] = [["INTERNALLENGTH", t.length < 0 ? "variable" : String(t.length)], ["INPUT", t.input], [
      "OUTPUT",
      t.output,
    ]];
    const add = (key: string, value: string | true | null | false) => {
      if (value !== null && value !== false) options.push([key, value]);
    };
    add("RECEIVE", t.receive);
    add("SEND", t.send);
    add("TYPMOD_IN", t.modIn);
    add("TYPMOD_OUT", t.modOut);
    add("ANALYZE", t.analyze);
    add("SUBSCRIPT", t.subscript);
    add("CATEGORY", quoteLiteral(t.category));
    add("PREFERRED", t.preferred ? "true" : null);
    add("DEFAULT", t.default === null ? null : quoteLiteral(t.default));
    add("ELEMENT", t.element);
    add("DELIMITER", quoteLiteral(t.delimiter));
    add("ALIGNMENT", ALIGNMENT[t.align] ?? t.align);
    add("STORAGE", TYPE_STORAGE[t.storage] ?? t.storage);
    add("PASSEDBYVALUE", t.byValue);
    add("COLLATABLE", t.collatable ? "true" : null);
    return {
      oid: t.oid,
      arrayOid: t.arrayOid,
      schema: t.schema,
      name: t.name,
      options,
      functions: t.functions,
      comment: comments.take(CATALOG.pg_type, t.oid),
    };
  });
}

/** Shell types no base type filled in (CREATE TYPE name; left as it is). */
export async function readShellTypes(client: pg.ClientBase, comments: Comments): Promise<ShellTypeDef[]> {
  const found = await rows<ShellTypeDef>(
    client,
    `SELECT t.oid, n.nspname AS schema, t.typname AS name
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype = 'p' AND NOT t.typisdefined AND ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`,
  );
  return found.map((t) => ({ ...t, comment: comments.take(CATALOG.pg_type, t.oid) }));
}

export function createEnum(type: EnumDef): string[] {
  const name = qualify(type.schema, type.name);
  const labels = type.labels.map((label) => `    ${quoteLiteral(label)}`).join(",\n");
  return [`CREATE TYPE ${name} AS ENUM (\n${labels}\n);`, ...commentOn(`TYPE ${name}`, type.comment)];
}

export function createCollation(collation: CollationDef): string[] {
  const name = qualify(collation.schema, collation.name);
  const options = collation.options.map(([key, value]) => `${key} = ${key === "deterministic" ? value : quoteLiteral(value)}`);
  return [`CREATE COLLATION ${name} (${options.join(", ")});`, ...commentOn(`COLLATION ${name}`, collation.comment)];
}

/** Validated constraints inside CREATE DOMAIN; NOT VALID ones wait for the data (domainConstraint). */
export function createDomain(domain: DomainDef): string[] {
  const name = qualify(domain.schema, domain.name);
  const clauses = [
    ...(domain.collation === undefined ? [] : [`COLLATE ${domain.collation}`]),
    ...(domain.default === undefined ? [] : [`DEFAULT ${domain.default}`]),
    ...(domain.notNull ? ["NOT NULL"] : []),
    ...domain.constraints.filter((c) => c.validated).map((c) => `CONSTRAINT ${quoteIdent(c.name)} ${c.definition}`),
  ];
  return [
    `CREATE DOMAIN ${name} AS ${domain.baseType}${clauses.map((c) => `\n    ${c}`).join("")};`,
    ...commentOn(`DOMAIN ${name}`, domain.comment),
    ...domain.constraints.filter((c) => c.validated).flatMap((c) =>
      commentOn(`CONSTRAINT ${quoteIdent(c.name)} ON DOMAIN ${name}`, c.comment)
    ),
  ];
}

export function domainConstraint(constraint: DomainConstraintDef): string[] {
  const domain = qualify(constraint.schema, constraint.domain);
  return [
    `ALTER DOMAIN ${domain} ADD CONSTRAINT ${quoteIdent(constraint.name)} ${constraint.definition};`,
    ...commentOn(`CONSTRAINT ${quoteIdent(constraint.name)} ON DOMAIN ${domain}`, constraint.comment),
  ];
}

export function createComposite(type: CompositeDef): string[] {
  const name = qualify(type.schema, type.name);
  const fields = type.columns.map((c) =>
    `    ${quoteIdent(c.name)} ${c.type}${c.collation === undefined ? "" : ` COLLATE ${c.collation}`}`
  );
  return [
    `CREATE TYPE ${name} AS (${fields.length === 0 ? "" : `\n${fields.join(",\n")}\n`});`,
    ...commentOn(`TYPE ${name}`, type.comment),
    ...type.columns.flatMap((c) => commentOn(`COLUMN ${name}.${quoteIdent(c.name)}`, c.comment)),
  ];
}

export function createRange(range: RangeDef): string[] {
  const name = qualify(range.schema, range.name);
  const options = [
    `subtype = ${range.subtype}`,
    `multirange_type_name = ${qualify(range.multirange.schema, range.multirange.name)}`,
    ...(range.opclass === undefined ? [] : [`subtype_opclass = ${range.opclass}`]),
    ...(range.collation === undefined ? [] : [`collation = ${range.collation}`]),
    ...(range.subdiff === undefined ? [] : [`subtype_diff = ${range.subdiff}`]),
    ...(range.canonical === undefined ? [] : [`canonical = ${range.canonical.name}`]),
  ];
  return [`CREATE TYPE ${name} AS RANGE (\n    ${options.join(",\n    ")}\n);`, ...commentOn(`TYPE ${name}`, range.comment)];
}

export function createShellType(type: { schema: string; name: string; comment?: string }): string[] {
  const name = qualify(type.schema, type.name);
  return [`CREATE TYPE ${name};`, ...commentOn(`TYPE ${name}`, type.comment)];
}

/** Fills in the shell made first; its functions exist by then. */
export function createBaseType(type: BaseTypeDef): string[] {
  const name = qualify(type.schema, type.name);
  const options = type.options.map(([key, value]) => (value === true ? key : `${key} = ${value}`));
  return [`CREATE TYPE ${name} (\n    ${options.join(",\n    ")}\n);`, ...commentOn(`TYPE ${name}`, type.comment)];
}

/** Collations, then every kind of type; a base type (or a range with a canonical function) first as a shell. */
export function typeNodes(c: {
  collations: CollationDef[];
  enums: EnumDef[];
  domains: DomainDef[];
  domainConstraints: DomainConstraintDef[];
  composites: CompositeDef[];
  ranges: RangeDef[];
  shellTypes: ShellTypeDef[];
  baseTypes: BaseTypeDef[];
}): DumpNode[] {
  const { pg_class, pg_collation, pg_constraint, pg_proc, pg_type } = CATALOG;
  return [
    ...c.collations.map((x) =>
      owned(
        node("collation", `${pg_collation}:${x.oid}`, qualify(x.schema, x.name), createCollation(x), [[pg_collation, x.oid]], [
          ref("collation", x.schema, x.name),
        ]),
        `COLLATION ${qualify(x.schema, x.name)}`,
      )
    ),
    ...c.enums.map((t) =>
      owned(
        node("type", `${pg_type}:${t.oid}`, qualify(t.schema, t.name), createEnum(t), [[pg_type, t.oid], [pg_type, t.arrayOid]], [
          ref("type", t.schema, t.name),
        ]),
        `TYPE ${qualify(t.schema, t.name)}`,
        "",
      )
    ),
    ...c.domains.map((d) =>
      owned(
        node("type", `${pg_type}:${d.oid}`, qualify(d.schema, d.name), createDomain(d), [[pg_type, d.oid], [pg_type, d.arrayOid],
          ...d.constraints.filter((x) => x.validated).map((x): CatalogRow => [pg_constraint, x.oid])], [ref("domain", d.schema, d.name)]),
        `DOMAIN ${qualify(d.schema, d.name)}`,
        "",
      )
    ),
    ...c.composites.map((t) =>
      owned(
        node("type", `${pg_type}:${t.oid}`, qualify(t.schema, t.name), createComposite(t), [[pg_type, t.oid], [pg_type, t.arrayOid], [
          pg_class,
          t.relOid,
        ]], [ref("type", t.schema, t.name)]),
        `TYPE ${qualify(t.schema, t.name)}`,
        "",
      )
    ),
    ...c.ranges.flatMap((r) => {
      const full = owned(
        node("type", `${pg_type}:${r.oid}`, qualify(r.schema, r.name), createRange(r), [[pg_type, r.oid], [pg_type, r.arrayOid], [pg_type,
          r.multirange.oid], [pg_type, r.multirange.arrayOid], ...r.constructors.map((oid): CatalogRow => [pg_proc, oid])], [
          ref("type", r.schema, r.name),
          ref("type", r.multirange.schema, r.multirange.name),
        ]),
        `TYPE ${qualify(r.schema, r.name)}`,
        "",
      );
      if (r.canonical === undefined) return [full];
      // The canonical function takes and returns the range: it is created between the shell and the range.
      const shell = {
        ...node("shell type", `shell:${r.oid}`, qualify(r.schema, r.name), createShellType({ schema: r.schema, name: r.name }), [], []),
        shellOf: { typeKey: full.key, rows: [`${pg_proc}:${r.canonical.oid}`] },
      };
      return [shell, { ...full, deps: [shell.key] }];
    }),
    ...c.shellTypes.map((t) =>
      owned(
        node("shell type", `${pg_type}:${t.oid}`, qualify(t.schema, t.name), createShellType(t), [[pg_type, t.oid]], [
          ref("type", t.schema, t.name),
        ]),
        `TYPE ${qualify(t.schema, t.name)}`,
      )
    ),
    ...c.baseTypes.flatMap((t) => {
      const key = `${pg_type}:${t.oid}`;
      const shell = {
        ...node("shell type", `shell:${t.oid}`, qualify(t.schema, t.name), createShellType({ schema: t.schema, name: t.name }), [], []),
        shellOf: { typeKey: key, rows: t.functions.map((oid) => `${pg_proc}:${oid}`) },
      };
      const full = owned(
        node("type", key, qualify(t.schema, t.name), createBaseType(t), [[pg_type, t.oid], [pg_type, t.arrayOid]], [
          ref("type", t.schema, t.name),
        ]),
        `TYPE ${qualify(t.schema, t.name)}`,
        "",
      );
      return [shell, { ...full, deps: [shell.key] }];
    }),
    ...c.domainConstraints.map((x) =>
      node("late-constraint", `${pg_constraint}:${x.oid}`, memberLabel(x.schema, x.domain, x.name), domainConstraint(x), [[pg_constraint,
        x.oid]], [ref("constraint", x.schema, x.name, x.domain)])
    ),
  ];
}

/**
 * Domains by their own keyword; ranges and multiranges as types. A multirange goes with its range,
 * so it comes after all ranges and is then already gone.
 */
export async function listTypes(client: pg.ClientBase, scope: InPlaceScope): Promise<OwnObject[]> {
  const types = await rows<{ schema: string; name: string; domain: boolean }>(
    client,
    `SELECT n.nspname AS schema, t.typname AS name, t.typtype = 'd' AS domain
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = ANY($1)
        AND (t.typtype IN ('e', 'd', 'r', 'm', 'c') OR (t.typtype = 'p' AND NOT t.typisdefined)
             OR (t.typtype = 'b' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)))
        AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
        AND ${notExtensionMember("pg_type", "t.oid")} ORDER BY t.typtype = 'm', 1, 2`,
    [scope.inside],
  );
  return types.map((t) => ({
    kind: t.domain ? "domain" : "type",
    schema: t.schema,
    name: t.name,
    drop: `DROP ${t.domain ? "DOMAIN" : "TYPE"} IF EXISTS ${qualify(t.schema, t.name)} CASCADE`,
  }));
}

export async function listCollations(client: pg.ClientBase, scope: InPlaceScope): Promise<OwnObject[]> {
  return (await namedInSchemas(client, scope.inside, "pg_collation", "collname", "collnamespace")).map((c) => ({
    kind: "collation",
    schema: c.schema,
    name: c.name,
    drop: `DROP COLLATION IF EXISTS ${qualify(c.schema, c.name)} CASCADE`,
  }));
}
