// The routines family: functions and procedures in any language, aggregates, casts, and what runs
// them: procedural languages created by hand (not as an extension) and transforms (how a language
// sees a type). Read with their comments, written in the form CREATE takes, listed for an in-place
// restore with the statement that drops them.
import type pg from "pg";
import type { Comments } from "../comments.ts";
import type { InPlaceScope, OwnObject } from "../kinds.ts";
import { node, owned, ref, type DumpNode } from "../plan/nodes.ts";
import { qualify, quoteIdent, quoteLiteral } from "../quote.ts";
import { CATALOG, commentOn, notExtensionMember, notInternalPart, rows, userSchema } from "../sql.ts";

export interface FunctionDef {
  oid: number;
  schema: string;
  name: string;
  kind: "function" | "procedure";
  /** Argument types only, as ObjectRef names functions: `integer, text`. */
  argTypes: string;
  /** Arguments as COMMENT ON FUNCTION accepts them. */
  identityArgs: string;
  /** pg_get_functiondef: a complete CREATE OR REPLACE FUNCTION without the final `;`. */
  definition: string;
  comment?: string;
}

export interface AggregateDef {
  oid: number;
  schema: string;
  name: string;
  argTypes: string;
  /** pg_get_function_arguments: `text`, `double precision ORDER BY anyelement`, or "" for `(*)`. */
  args: string;
  identityArgs: string;
  /** pg_aggregate.aggkind: n normal, o ordered-set, h hypothetical-set. */
  aggKind: string;
  /** CREATE AGGREGATE's options in pg_dump's order: `KEY = value` (INITCOND values unquoted), or a flag. */
  options: Array<[key: string, value: string | true]>;
  comment?: string;
}

export interface CastDef {
  oid: number;
  /** format_type names, as CREATE CAST and DROP CAST take them. */
  source: string;
  target: string;
  /** pg_cast.castmethod: f a function, b binary coercible (WITHOUT FUNCTION), i I/O conversion (WITH INOUT). */
  method: "f" | "b" | "i";
  /** regprocedure of the cast function: `public.json(public.color)`. */
  function?: string;
  /** pg_cast.castcontext: e explicit only, a AS ASSIGNMENT, i AS IMPLICIT. */
  context: "e" | "a" | "i";
  comment?: string;
}

export interface LanguageDef {
  oid: number;
  name: string;
  trusted: boolean;
  /** regproc of the call handler, and of the inline handler and validator when set. */
  handler: string;
  inline?: string;
  validator?: string;
  comment?: string;
}

export interface TransformDef {
  oid: number;
  /** format_type of the type, and the language's name. */
  type: string;
  language: string;
  /** regprocedure of each direction's function, when set. */
  fromSql?: string;
  toSql?: string;
  comment?: string;
}

/** Functions and procedures in any language; aggregates are read on their own. */
export async function readFunctions(client: pg.ClientBase, comments: Comments): Promise<FunctionDef[]> {
  const found = await rows<FunctionDef>(
    client,
    `SELECT p.oid, n.nspname AS schema, p.proname AS name,
            CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind,
            pg_catalog.oidvectortypes(p.proargtypes) AS "argTypes",
            pg_catalog.pg_get_function_identity_arguments(p.oid) AS "identityArgs",
            pg_catalog.pg_get_functiondef(p.oid) AS definition
       FROM pg_catalog.pg_proc p
       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE p.prokind IN ('f', 'p', 'w')
        AND ${userSchema("n")} AND ${notExtensionMember("pg_proc", "p.oid")} AND ${notInternalPart("pg_proc", "p.oid")}`,
  );
  return found.map((f) => ({ ...f, comment: comments.take(CATALOG.pg_proc, f.oid) }));
}

/** pg_catalog's functions print unqualified with an empty search_path, everyone else's qualified. */
const REGPROC = (column: string) => `CASE WHEN a.${column} <> 0 THEN a.${column}::pg_catalog.regproc::text END`;

export async function readAggregates(client: pg.ClientBase, comments: Comments): Promise<AggregateDef[]> {
  const found = await rows<{
    oid: number;
    schema: string;
    name: string;
    argTypes: string;
    args: string;
    identityArgs: string;
    aggKind: string;
    sfunc: string;
    stype: string;
    sspace: number;
    finalfunc: string | null;
    finalExtra: boolean;
    finalModify: string;
    combinefunc: string | null;
    serialfunc: string | null;
    deserialfunc: string | null;
    initcond: string | null;
    msfunc: string | null;
    minvfunc: string | null;
    mstype: string | null;
    msspace: number;
    mfinalfunc: string | null;
    mfinalExtra: boolean;
    mfinalModify: string;
    minitcond: string | null;
    sortop: string | null;
    parallel: string;
  }>(
    client,
    `SELECT p.oid, n.nspname AS schema, p.proname AS name, pg_catalog.oidvectortypes(p.proargtypes) AS "argTypes",
            pg_catalog.pg_get_function_arguments(p.oid) AS args,
            pg_catalog.pg_get_function_identity_arguments(p.oid) AS "identityArgs", a.aggkind AS "aggKind",
            ${REGPROC("aggtransfn")} AS sfunc, pg_catalog.format_type(a.aggtranstype, NULL) AS stype, a.aggtransspace AS sspace,
            ${REGPROC("aggfinalfn")} AS finalfunc, a.aggfinalextra AS "finalExtra", a.aggfinalmodify AS "finalModify",
            ${REGPROC("aggcombinefn")} AS combinefunc, ${REGPROC("aggserialfn")} AS serialfunc,
            ${REGPROC("aggdeserialfn")} AS deserialfunc, a.agginitval AS initcond,
            ${REGPROC("aggmtransfn")} AS msfunc, ${REGPROC("aggminvtransfn")} AS minvfunc,
            CASE WHEN a.aggmtranstype <> 0 THEN pg_catalog.format_type(a.aggmtranstype, NULL) END AS mstype,
            a.aggmtransspace AS msspace, ${REGPROC("aggmfinalfn")} AS mfinalfunc, a.aggmfinalextra AS "mfinalExtra",
            a.aggmfinalmodify AS "mfinalModify", a.aggminitval AS minitcond,
            CASE WHEN a.aggsortop <> 0 THEN pg_catalog.format('OPERATOR(%I.%s)', opn.nspname, op.oprname) END AS sortop,
            p.proparallel AS parallel
       FROM pg_catalog.pg_aggregate a
       JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid
       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
       LEFT JOIN pg_catalog.pg_operator op ON op.oid = a.aggsortop
       LEFT JOIN pg_catalog.pg_namespace opn ON opn.oid = op.oprnamespace
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_proc", "p.oid")}`,
  );
  const MODIFY: Record<string, string> = { r: "READ_ONLY", s: "SHAREABLE", w: "READ_WRITE" };
  return found.map((a) => {
    // The modify flag is written only when it is not the kind's default, as pg_dump does.
    const defaultModify = a.aggKind === "n" ? "r" : "w";
    const options: Array<[string, string | true]> = [["SFUNC", a.sfunc], ["STYPE", a.stype]];
    const add = (key: string, value: string | true | null | false) => {
      if (value !== null && value !== false) options.push([key, value]);
    };
    add("SSPACE", a.sspace > 0 ? String(a.sspace) : null);
    add("FINALFUNC", a.finalfunc);
    add("FINALFUNC_EXTRA", a.finalExtra);
    add("FINALFUNC_MODIFY", a.finalfunc !== null && a.finalModify !== defaultModify ? MODIFY[a.finalModify] ?? null : null);
    add("INITCOND", a.initcond);
    add("COMBINEFUNC", a.combinefunc);
    add("SERIALFUNC", a.serialfunc);
    add("DESERIALFUNC", a.deserialfunc);
    add("MSFUNC", a.msfunc);
    add("MINVFUNC", a.minvfunc);
    add("MSTYPE", a.mstype);
    add("MSSPACE", a.msspace > 0 ? String(a.msspace) : null);
    add("MFINALFUNC", a.mfinalfunc);
    add("MFINALFUNC_EXTRA", a.mfinalExtra);
    add("MFINALFUNC_MODIFY", a.mfinalfunc !== null && a.mfinalModify !== defaultModify ? MODIFY[a.mfinalModify] ?? null : null);
    add("MINITCOND", a.minitcond);
    add("SORTOP", a.sortop);
    add("HYPOTHETICAL", a.aggKind === "h");
    add("PARALLEL", a.parallel === "s" ? "safe" : a.parallel === "r" ? "restricted" : null);
    return {
      oid: a.oid,
      schema: a.schema,
      name: a.name,
      argTypes: a.argTypes,
      args: a.args,
      identityArgs: a.identityArgs,
      aggKind: a.aggKind,
      options,
      comment: comments.take(CATALOG.pg_proc, a.oid),
    };
  });
}

/** User-defined casts; those CREATE TYPE makes (a range's) come back with their type. */
export async function readCasts(client: pg.ClientBase, comments: Comments): Promise<CastDef[]> {
  const found = await rows<CastDef & { function: string | null }>(
    client,
    `SELECT x.oid, pg_catalog.format_type(x.castsource, NULL) AS source, pg_catalog.format_type(x.casttarget, NULL) AS target,
            x.castmethod AS method, x.castcontext AS context,
            CASE WHEN x.castfunc <> 0 THEN x.castfunc::pg_catalog.regprocedure::text END AS function
       FROM pg_catalog.pg_cast x
      WHERE x.oid >= 16384 AND ${notExtensionMember("pg_cast", "x.oid")} AND ${notInternalPart("pg_cast", "x.oid")}`,
  );
  return found.map(({ function: fn, ...c }) => ({
    ...c,
    ...(fn === null ? {} : { function: fn }),
    comment: comments.take(CATALOG.pg_cast, c.oid),
  }));
}

/** initdb's languages (plpgsql is an extension) have OIDs below 16384. */
export async function readLanguages(client: pg.ClientBase, comments: Comments): Promise<LanguageDef[]> {
  const found = await rows<
    { oid: number; name: string; trusted: boolean; handler: string; inline: string | null; validator: string | null }
  >(
    client,
    `SELECT l.oid, l.lanname AS name, l.lanpltrusted AS trusted, l.lanplcallfoid::pg_catalog.regproc::text AS handler,
            CASE WHEN l.laninline <> 0 THEN l.laninline::pg_catalog.regproc::text END AS inline,
            CASE WHEN l.lanvalidator <> 0 THEN l.lanvalidator::pg_catalog.regproc::text END AS validator
       FROM pg_catalog.pg_language l WHERE l.oid >= 16384 AND l.lanispl AND ${notExtensionMember("pg_language", "l.oid")}`,
  );
  return found.map(({ inline, validator, ...l }) => ({
    ...l,
    ...(inline === null ? {} : { inline }),
    ...(validator === null ? {} : { validator }),
    comment: comments.take(CATALOG.pg_language, l.oid),
  }));
}

export async function readTransforms(client: pg.ClientBase, comments: Comments): Promise<TransformDef[]> {
  const found = await rows<{ oid: number; type: string; language: string; fromSql: string | null; toSql: string | null }>(
    client,
    `SELECT t.oid, pg_catalog.format_type(t.trftype, NULL) AS type, l.lanname AS language,
            CASE WHEN t.trffromsql <> 0 THEN t.trffromsql::pg_catalog.regprocedure::text END AS "fromSql",
            CASE WHEN t.trftosql <> 0 THEN t.trftosql::pg_catalog.regprocedure::text END AS "toSql"
       FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang
      WHERE t.oid >= 16384 AND ${notExtensionMember("pg_transform", "t.oid")}`,
  );
  return found.map(({ fromSql, toSql, ...t }) => ({
    ...t,
    ...(fromSql === null ? {} : { fromSql }),
    ...(toSql === null ? {} : { toSql }),
    comment: comments.take(CATALOG.pg_transform, t.oid),
  }));
}

export function createFunction(fn: FunctionDef): string[] {
  return [
    `${fn.definition.trimEnd()};`,
    ...commentOn(`${fn.kind === "procedure" ? "PROCEDURE" : "FUNCTION"} ${qualify(fn.schema, fn.name)}(${fn.identityArgs})`, fn.comment),
  ];
}

const LITERAL_AGGREGATE_OPTIONS = new Set(["INITCOND", "MINITCOND"]);

export function createAggregate(aggregate: AggregateDef): string[] {
  const signature = `${qualify(aggregate.schema, aggregate.name)}(${aggregate.args === "" ? "*" : aggregate.args})`;
  const options = aggregate.options.map(([key, value]) =>
    value === true ? key : `${key} = ${LITERAL_AGGREGATE_OPTIONS.has(key) ? quoteLiteral(value) : value}`
  );
  return [
    `CREATE AGGREGATE ${signature} (\n    ${options.join(",\n    ")}\n);`,
    ...commentOn(`AGGREGATE ${qualify(aggregate.schema, aggregate.name)}(${aggregate.identityArgs === "" ? "*" : aggregate.identityArgs})`,
      aggregate.comment),
  ];
}

const CAST_CONTEXT: Record<CastDef["context"], string> = { e: "", a: " AS ASSIGNMENT", i: " AS IMPLICIT" };

export function createCast(cast: CastDef): string[] {
  const signature = `(${cast.source} AS ${cast.target})`;
  const method = cast.method === "b" ? "WITHOUT FUNCTION" : cast.method === "i" ? "WITH INOUT" : `WITH FUNCTION ${cast.function}`;
  return [`CREATE CAST ${signature} ${method}${CAST_CONTEXT[cast.context]};`, ...commentOn(`CAST ${signature}`, cast.comment)];
}

export function createLanguage(language: LanguageDef): string[] {
  const name = quoteIdent(language.name);
  const inline = language.inline === undefined ? "" : ` INLINE ${language.inline}`;
  const validator = language.validator === undefined ? "" : ` VALIDATOR ${language.validator}`;
  return [
    `CREATE ${language.trusted ? "TRUSTED " : ""}PROCEDURAL LANGUAGE ${name} HANDLER ${language.handler}${inline}${validator};`,
    ...commentOn(`LANGUAGE ${name}`, language.comment),
  ];
}

/** How the archive's object list and DROP TRANSFORM name a transform. */
export function transformName(transform: Pick<TransformDef, "type" | "language">): string {
  return `FOR ${transform.type} LANGUAGE ${quoteIdent(transform.language)}`;
}

export function createTransform(transform: TransformDef): string[] {
  const directions = [
    ...(transform.fromSql === undefined ? [] : [`FROM SQL WITH FUNCTION ${transform.fromSql}`]),
    ...(transform.toSql === undefined ? [] : [`TO SQL WITH FUNCTION ${transform.toSql}`]),
  ];
  return [
    `CREATE TRANSFORM ${transformName(transform)} (\n    ${directions.join(",\n    ")}\n);`,
    ...commentOn(`TRANSFORM ${transformName(transform)}`, transform.comment),
  ];
}

/** Hand-made languages and transforms, functions and procedures, aggregates, and casts. */
export function routineNodes(
  c: { languages: LanguageDef[]; transforms: TransformDef[]; functions: FunctionDef[]; aggregates: AggregateDef[]; casts: CastDef[] },
): DumpNode[] {
  const { pg_cast, pg_language, pg_proc, pg_transform } = CATALOG;
  return [
    ...c.languages.map((l) =>
      owned(
        node("language", `${pg_language}:${l.oid}`, quoteIdent(l.name), createLanguage(l), [[pg_language, l.oid]], [
          ref("language", "", l.name),
        ]),
        `LANGUAGE ${quoteIdent(l.name)}`,
        "",
      )
    ),
    ...c.transforms.map((t) =>
      node("transform", `${pg_transform}:${t.oid}`, transformName(t), createTransform(t), [[pg_transform, t.oid]], [
        ref("transform", "", transformName(t)),
      ])
    ),
    ...c.functions.map((f) =>
      owned(
        node("function", `${pg_proc}:${f.oid}`, `${qualify(f.schema, f.name)}(${f.argTypes})`, createFunction(f), [[pg_proc, f.oid]], [
          ref(f.kind, f.schema, `${f.name}(${f.argTypes})`),
        ]),
        `${f.kind.toUpperCase()} ${qualify(f.schema, f.name)}(${f.identityArgs})`,
        "",
      )
    ),
    ...c.aggregates.map((a) =>
      owned(
        node("function", `${pg_proc}:${a.oid}`, `${qualify(a.schema, a.name)}(${a.argTypes})`, createAggregate(a), [[pg_proc, a.oid]], [
          ref("aggregate", a.schema, `${a.name}(${a.argTypes})`),
        ]),
        `AGGREGATE ${qualify(a.schema, a.name)}(${a.identityArgs === "" ? "*" : a.identityArgs})`,
        `FUNCTION ${qualify(a.schema, a.name)}(${a.argTypes})`,
      )
    ),
    ...c.casts.map((x) =>
      node("cast", `${pg_cast}:${x.oid}`, `(${x.source} AS ${x.target})`, createCast(x), [[pg_cast, x.oid]], [
        ref("cast", "", `(${x.source} AS ${x.target})`),
      ])
    ),
  ];
}

/** Casts belong to the database; they go first, while their types still exist. */
export async function listCasts(client: pg.ClientBase): Promise<OwnObject[]> {
  const casts = await rows<{ name: string }>(
    client,
    `SELECT pg_catalog.format('(%s AS %s)', pg_catalog.format_type(c.castsource, NULL), pg_catalog.format_type(c.casttarget, NULL)) AS name
       FROM pg_catalog.pg_cast c
      WHERE c.oid >= 16384 AND ${notExtensionMember("pg_cast", "c.oid")}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'i')
      ORDER BY 1`,
  );
  return casts.map(({ name }) => ({ kind: "cast", schema: "", name, drop: `DROP CAST IF EXISTS ${name} CASCADE` }));
}

export async function listTransforms(client: pg.ClientBase): Promise<OwnObject[]> {
  const transforms = await rows<{ type: string; language: string }>(
    client,
    `SELECT pg_catalog.format_type(t.trftype, NULL) AS type, l.lanname AS language
       FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang
      WHERE t.oid >= 16384 AND ${notExtensionMember("pg_transform", "t.oid")} ORDER BY 1, 2`,
  );
  return transforms.map((t) => ({ kind: "transform", schema: "", name: transformName(t),
    drop: `DROP TRANSFORM IF EXISTS ${transformName(t)} CASCADE` })
  );
}

/** A hand-made language takes its functions along. */
export async function listLanguages(client: pg.ClientBase): Promise<OwnObject[]> {
  const languages = await rows<{ name: string }>(
    client,
    `SELECT l.lanname AS name FROM pg_catalog.pg_language l
      WHERE l.oid >= 16384 AND l.lanispl AND ${notExtensionMember("pg_language", "l.oid")} ORDER BY 1`,
  );
  return languages.map(({ name }) => ({ kind: "language", schema: "", name, drop: `DROP LANGUAGE IF EXISTS ${quoteIdent(name)} CASCADE` }));
}

/**
 * Named like the archive's objects (argument types only); dropped by the full identity (aggregates
 * take theirs as DROP AGGREGATE does, `*` when they have no arguments).
 */
export async function listRoutines(client: pg.ClientBase, scope: InPlaceScope): Promise<OwnObject[]> {
  const routines = await rows<{ schema: string; name: string; args: string; types: string; kind: string }>(
    client,
    `SELECT n.nspname AS schema, p.proname AS name, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args,
            pg_catalog.oidvectortypes(p.proargtypes) AS types, p.prokind::text AS kind
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = ANY($1) AND ${notExtensionMember("pg_proc", "p.oid")}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'i')
      ORDER BY 1, 2, 3`,
    [scope.inside],
  );
  return routines.map((r) => {
    const aggregate = r.kind === "a";
    return {
      kind: aggregate ? "aggregate" : r.kind === "p" ? "procedure" : "function",
      schema: r.schema,
      name: `${r.name}(${r.types})`,
      drop: aggregate
        ? `DROP AGGREGATE IF EXISTS ${qualify(r.schema, r.name)}(${r.args === "" ? "*" : r.args}) CASCADE`
        : `DROP ROUTINE IF EXISTS ${qualify(r.schema, r.name)}(${r.args}) CASCADE`,
    };
  });
}
