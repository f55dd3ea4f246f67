// Procedural languages created by hand (CREATE LANGUAGE, not as an extension) and transforms (how
// a language sees a type): read with their comments, written back in the form CREATE takes.
import type pg from "pg";
import { type Comments } from "./comments.ts";
import { CATALOG, notExtensionMember, rows } from "./sql.ts";
import { commentOn } from "./emit.ts";
import { quoteIdent } from "./quote.ts";

export interface LanguageDef {
  oid: number; name: string; trusted: boolean;
  /** regproc of the call handler, and of the inline handler and validator when set. */
  handler: string; inline?: string; validator?: string;
  comment?: string;
}

export interface TransformDef {
  oid: number;
  /** format_type of the type, and the language's name. */
  type: string; language: string;
  /** regprocedure of each direction's function, when set. */
  fromSql?: string; toSql?: string;
  comment?: string;
}

/** initdb's languages (plpgsql is an extension) have OIDs below 16384. */
export async function readLanguages(client: pg.ClientBase, comments: Comments): Promise<LanguageDef[]> {
  const found = await rows<{ oid: number; name: string; trusted: boolean; handler: string; inline: string | null; validator: string | null }>(
    client,
    `SELECT l.oid, l.lanname AS name, l.lanpltrusted AS trusted, l.lanplcallfoid::pg_catalog.regproc::text AS handler,
            CASE WHEN l.laninline <> 0 THEN l.laninline::pg_catalog.regproc::text END AS inline,
            CASE WHEN l.lanvalidator <> 0 THEN l.lanvalidator::pg_catalog.regproc::text END AS validator
       FROM pg_catalog.pg_language l WHERE l.oid >= 16384 AND l.lanispl AND ${notExtensionMember("pg_language", "l.oid")}`,
  );
  return found.map(({ inline, validator, ...l }) => ({
    ...l, ...(inline === null ? {} : { inline }), ...(validator === null ? {} : { validator }), comment: comments.take(CATALOG.pg_language, l.oid),
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
    ...t, ...(fromSql === null ? {} : { fromSql }), ...(toSql === null ? {} : { toSql }), comment: comments.take(CATALOG.pg_transform, t.oid),
  }));
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
