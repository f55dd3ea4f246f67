// Base types (CREATE TYPE with input and output functions) and shell types. A base type and its
// I/O functions need each other, so the archive first creates the type as a shell, then the
// functions, then the whole type over the shell, as pg_dump does.
import type pg from "pg";
import { type Comments } from "./comments.ts";
import { CATALOG, notExtensionMember, rows, userSchema } from "./sql.ts";
import { commentOn } from "./emit.ts";
import { qualify, quoteLiteral } from "./quote.ts";

export interface BaseTypeDef {
  oid: number; arrayOid: number; schema: string; name: string;
  /** CREATE TYPE's options in pg_dump's order: `KEY = value`, or a flag. */
  options: Array<[key: string, value: string | true]>;
  /** OIDs of its I/O, typmod, analyze and subscript functions: created between the shell and the type. */
  functions: number[];
  comment?: string;
}

export interface ShellTypeDef { oid: number; schema: string; name: string; comment?: string }

const ALIGNMENT: Record<string, string> = { c: "char", s: "int2", i: "int4", d: "double" };
const STORAGE: Record<string, string> = { p: "plain", e: "external", m: "main", x: "extended" };

/** Base types of user schemas; the array types PostgreSQL makes for them come back with them. */
export async function readBaseTypes(client: pg.ClientBase, comments: Comments): Promise<BaseTypeDef[]> {
  const regproc = (column: string) => `CASE WHEN t.${column} <> 0 THEN t.${column}::pg_catalog.regproc::text END`;
  const found = await rows<{
    oid: number; arrayOid: number; schema: string; name: string; length: number;
    input: string; output: string; receive: string | null; send: string | null; modIn: string | null; modOut: string | null;
    analyze: string | null; subscript: string | null; category: string; preferred: boolean; default: string | null;
    element: string | null; delimiter: string; align: string; storage: string; byValue: boolean; collatable: boolean; functions: number[];
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
    const options: BaseTypeDef["options"] = [["INTERNALLENGTH", t.length < 0 ? "variable" : String(t.length)], ["INPUT", t.input], ["OUTPUT", t.output]];
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
    add("STORAGE", STORAGE[t.storage] ?? t.storage);
    add("PASSEDBYVALUE", t.byValue);
    add("COLLATABLE", t.collatable ? "true" : null);
    return {
      oid: t.oid, arrayOid: t.arrayOid, schema: t.schema, name: t.name, options, functions: t.functions,
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
