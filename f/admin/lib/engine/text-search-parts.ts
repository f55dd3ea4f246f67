// Text search parsers and templates (the parts dictionaries and configurations are built from),
// made by CREATE TEXT SEARCH PARSER / TEMPLATE: read with their comments, written back as created.
import type pg from "pg";
import { type Comments } from "./comments.ts";
import { CATALOG, notExtensionMember, rows, userSchema } from "./sql.ts";
import { commentOn } from "./emit.ts";
import { qualify } from "./quote.ts";

export interface TextSearchParserDef {
  oid: number; schema: string; name: string;
  /** regproc of each method; headline is optional. */
  start: string; getToken: string; end: string; lexTypes: string; headline?: string;
  comment?: string;
}

export interface TextSearchTemplateDef {
  oid: number; schema: string; name: string;
  /** regproc of each method; init is optional. */
  init?: string; lexize: string;
  comment?: string;
}

export async function readTextSearchParsers(client: pg.ClientBase, comments: Comments): Promise<TextSearchParserDef[]> {
  const found = await rows<Omit<TextSearchParserDef, "headline"> & { headline: string | null }>(
    client,
    `SELECT p.oid, n.nspname AS schema, p.prsname AS name, p.prsstart::pg_catalog.regproc::text AS start,
            p.prstoken::pg_catalog.regproc::text AS "getToken", p.prsend::pg_catalog.regproc::text AS end,
            p.prslextype::pg_catalog.regproc::text AS "lexTypes",
            CASE WHEN p.prsheadline <> 0 THEN p.prsheadline::pg_catalog.regproc::text END AS headline
       FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace n ON n.oid = p.prsnamespace
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_ts_parser", "p.oid")}`,
  );
  return found.map(({ headline, ...p }) => ({
    ...p, ...(headline === null ? {} : { headline }), comment: comments.take(CATALOG.pg_ts_parser, p.oid),
  }));
}

export async function readTextSearchTemplates(client: pg.ClientBase, comments: Comments): Promise<TextSearchTemplateDef[]> {
  const found = await rows<Omit<TextSearchTemplateDef, "init"> & { init: string | null }>(
    client,
    `SELECT t.oid, n.nspname AS schema, t.tmplname AS name,
            CASE WHEN t.tmplinit <> 0 THEN t.tmplinit::pg_catalog.regproc::text END AS init, t.tmpllexize::pg_catalog.regproc::text AS lexize
       FROM pg_catalog.pg_ts_template t JOIN pg_catalog.pg_namespace n ON n.oid = t.tmplnamespace
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_ts_template", "t.oid")}`,
  );
  return found.map(({ init, ...t }) => ({ ...t, ...(init === null ? {} : { init }), comment: comments.take(CATALOG.pg_ts_template, t.oid) }));
}

export function createTextSearchParser(parser: TextSearchParserDef): string[] {
  const name = qualify(parser.schema, parser.name);
  const methods = [
    `START = ${parser.start}`, `GETTOKEN = ${parser.getToken}`, `END = ${parser.end}`, `LEXTYPES = ${parser.lexTypes}`,
    ...(parser.headline === undefined ? [] : [`HEADLINE = ${parser.headline}`]),
  ];
  return [`CREATE TEXT SEARCH PARSER ${name} (\n    ${methods.join(",\n    ")}\n);`, ...commentOn(`TEXT SEARCH PARSER ${name}`, parser.comment)];
}

export function createTextSearchTemplate(template: TextSearchTemplateDef): string[] {
  const name = qualify(template.schema, template.name);
  const methods = [...(template.init === undefined ? [] : [`INIT = ${template.init}`]), `LEXIZE = ${template.lexize}`];
  return [`CREATE TEXT SEARCH TEMPLATE ${name} (\n    ${methods.join(",\n    ")}\n);`, ...commentOn(`TEXT SEARCH TEMPLATE ${name}`, template.comment)];
}
