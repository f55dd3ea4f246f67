// One home for the SQL the engine builds from parts: the fixed OIDs of the system catalogs, the
// predicates that say what is the user's (which schemas, not an extension's member, not a part of
// another object), one way to fetch rows, and how PostgreSQL says a lock could not be had.
import type pg from "pg";
import { quoteLiteral } from "./quote.ts";

/** Fixed OIDs of the system catalogs, the `classid` of pg_depend and pg_description rows. */
export const CATALOG = {
  pg_type: 1247,
  pg_proc: 1255,
  pg_class: 1259,
  pg_attrdef: 2604,
  pg_constraint: 2606,
  pg_rewrite: 2618,
  pg_trigger: 2620,
  pg_namespace: 2615,
  pg_extension: 3079,
  pg_collation: 3456,
  pg_policy: 3256,
  pg_event_trigger: 3466,
  pg_publication: 6104,
  pg_publication_rel: 6106,
  pg_publication_namespace: 6237,
  pg_largeobject: 2613,
  pg_largeobject_metadata: 2995,
  pg_cast: 2605,
  pg_foreign_data_wrapper: 2328,
  pg_foreign_server: 1417,
  pg_user_mapping: 1418,
  pg_ts_dict: 3600,
  pg_ts_config: 3602,
  pg_statistic_ext: 3381,
  pg_am: 2601,
  pg_amop: 2602,
  pg_amproc: 2603,
  pg_operator: 2617,
  pg_opclass: 2616,
  pg_opfamily: 2753,
  pg_conversion: 2607,
  pg_language: 2612,
  pg_transform: 3576,
  pg_ts_parser: 3601,
  pg_ts_template: 3764,
} as const;

/**
 * A schema of the user's, in SQL over the pg_namespace alias: `pg_*` schemas (catalog, toast, temp:
 * PostgreSQL reserves the prefix) and information_schema belong to the server.
 */
export function userSchema(alias: string): string {
  return `${alias}.nspname NOT LIKE 'pg\\_%' AND ${alias}.nspname <> 'information_schema'`;
}

/** Objects created by CREATE EXTENSION come back with it: they are never dumped. */
export function notExtensionMember(catalog: string, oid: string): string {
  return (
    `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend ext WHERE ext.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass ` +
    `AND ext.objid = ${oid} AND ext.deptype = 'e')`
  );
}

/** Parts made by another object's statement (a range type's constructors and casts) are reported as that object. */
export function notInternalPart(catalog: string, oid: string): string {
  return (
    `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend part WHERE part.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass ` +
    `AND part.objid = ${oid} AND part.deptype = 'i')`
  );
}

/** Quoted `schema.name` of a catalog object, or NULL, in SQL: `qualifiedName('cn.nspname', 'co.collname')`. */
export function qualifiedName(schemaColumn: string, nameColumn: string): string {
  return `pg_catalog.format('%I.%I', ${schemaColumn}, ${nameColumn})`;
}

export async function rows<T>(client: pg.ClientBase, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await client.query(sql, params)).rows as T[];
}

/** The SQLSTATE of a PostgreSQL error, if `error` is one. */
export function sqlState(error: unknown): string | undefined {
  return (error as { code?: string } | undefined)?.code;
}

/** lock_not_available: a statement gave up waiting for a lock (lock_timeout, NOWAIT). */
export const LOCK_NOT_AVAILABLE = "55P03";

/** PostgreSQL gave up waiting for a lock, here or in the error's cause. */
export function isLockTimeout(error: unknown): boolean {
  return sqlState(error) === LOCK_NOT_AVAILABLE || sqlState((error as { cause?: unknown } | undefined)?.cause) === LOCK_NOT_AVAILABLE;
}

/** `COMMENT ON target IS …;`, or nothing when there is no comment. */
export function commentOn(target: string, text: string | undefined): string[] {
  return text === undefined ? [] : [`COMMENT ON ${target} IS ${quoteLiteral(text)};`];
}

/** `key=value` catalog options as pairs (the value may hold `=`). */
export function keyValues(options: string[]): Array<[key: string, value: string]> {
  return options.map((option) => {
    const eq = option.indexOf("=");
    return [option.slice(0, eq), option.slice(eq + 1)];
  });
}

/** The objects of a catalog named per schema, those in `schemas` that no extension owns: what an in-place restore drops one by one. */
export async function namedInSchemas(
  client: pg.ClientBase,
  schemas: string[],
  catalog: string,
  nameColumn: string,
  namespaceColumn: string,
): Promise<Array<{ schema: string; name: string }>> {
  return await rows<{ schema: string; name: string }>(
    client,
    `SELECT n.nspname AS schema, o.${nameColumn} AS name
       FROM pg_catalog.${catalog} o JOIN pg_catalog.pg_namespace n ON n.oid = o.${namespaceColumn}
      WHERE n.nspname = ANY($1) AND ${notExtensionMember(catalog, "o.oid")} ORDER BY 1, 2`,
    [schemas],
  );
}
