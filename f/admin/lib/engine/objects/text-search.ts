// The text search family: parsers and templates (the parts dictionaries and configurations are built
// from), dictionaries and configurations with their token mappings. Read with their comments,
// written back as created, listed for an in-place restore (configurations before the dictionaries
// they map to, parsers and templates last).
import type pg from "pg";
import type { Comments } from "../comments.ts";
import type { InPlaceScope, ObjectKind, OwnObject } from "../kinds.ts";
import { node, owned, ref, type DumpNode } from "../plan/nodes.ts";
import { qualify, quoteIdent } from "../quote.ts";
import { CATALOG, commentOn, namedInSchemas, notExtensionMember, qualifiedName, rows, userSchema } from "../sql.ts";

export interface TextSearchParserDef {
  oid: number;
  schema: string;
  name: string;
  /** regproc of each method; headline is optional. */
  start: string;
  getToken: string;
  end: string;
  lexTypes: string;
  headline?: string;
  comment?: string;
}

export interface TextSearchTemplateDef {
  oid: number;
  schema: string;
  name: string;
  /** regproc of each method; init is optional. */
  init?: string;
  lexize: string;
  comment?: string;
}

export interface TextSearchDictionaryDef {
  oid: number;
  schema: string;
  name: string;
  /** Quoted `schema.name` of its template. */
  template: string;
  /** pg_ts_dict.dictinitoption: the template's options as CREATE wrote them (`stopwords = 'english'`). */
  options?: string;
  comment?: string;
}

export interface TextSearchConfigurationDef {
  oid: number;
  schema: string;
  name: string;
  /** Quoted `schema.name` of its parser. */
  parser: string;
  /** One per mapped token type, in token type order; dictionaries quoted, in the order they are consulted. */
  mappings: Array<{ token: string; dictionaries: string[] }>;
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
    ...p,
    ...(headline === null ? {} : { headline }),
    comment: comments.take(CATALOG.pg_ts_parser, p.oid),
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
  return found.map(({ init, ...t }) => ({ ...t, ...(init === null ? {} : { init }),
    comment: comments.take(CATALOG.pg_ts_template, t.oid) })
  );
}

/** Text search dictionaries and configurations (with their mappings). */
export async function readTextSearch(client: pg.ClientBase, comments: Comments): Promise<{
  dictionaries: TextSearchDictionaryDef[];
  configurations: TextSearchConfigurationDef[];
}> {
  const dictionaries = await rows<Omit<TextSearchDictionaryDef, "options"> & { options: string | null }>(
    client,
    `SELECT d.oid, n.nspname AS schema, d.dictname AS name, ${
      qualifiedName("tn.nspname", "t.tmplname")
    } AS template, d.dictinitoption AS options
       FROM pg_catalog.pg_ts_dict d
       JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace
       JOIN pg_catalog.pg_ts_template t ON t.oid = d.dicttemplate
       JOIN pg_catalog.pg_namespace tn ON tn.oid = t.tmplnamespace
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_ts_dict", "d.oid")}`,
  );
  const configurations = await rows<Omit<TextSearchConfigurationDef, "mappings">>(
    client,
    `SELECT c.oid, n.nspname AS schema, c.cfgname AS name, ${qualifiedName("pn.nspname", "p.prsname")} AS parser
       FROM pg_catalog.pg_ts_config c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace
       JOIN pg_catalog.pg_ts_parser p ON p.oid = c.cfgparser
       JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_ts_config", "c.oid")}`,
  );
  // Token types are named by the parser's aliases (ts_token_type), as ADD MAPPING FOR takes them.
  const mappings = await rows<{ config: number; token: string; dictionaries: string[] }>(
    client,
    `SELECT m.mapcfg AS config, t.alias AS token,
            pg_catalog.array_agg(${qualifiedName("dn.nspname", "d.dictname")} ORDER BY m.mapseqno) AS dictionaries
       FROM pg_catalog.pg_ts_config_map m
       JOIN pg_catalog.pg_ts_config c ON c.oid = m.mapcfg
       JOIN pg_catalog.ts_token_type(c.cfgparser) t ON t.tokid = m.maptokentype
       JOIN pg_catalog.pg_ts_dict d ON d.oid = m.mapdict
       JOIN pg_catalog.pg_namespace dn ON dn.oid = d.dictnamespace
      WHERE m.mapcfg = ANY($1::pg_catalog.oid[])
      GROUP BY m.mapcfg, m.maptokentype, t.alias
      ORDER BY m.mapcfg, m.maptokentype`,
    [configurations.map((c) => c.oid)],
  );
  return {
    dictionaries: dictionaries.map(({ options, ...d }) => ({
      ...d,
      ...(options === null ? {} : { options }),
      comment: comments.take(CATALOG.pg_ts_dict, d.oid),
    })),
    configurations: configurations.map((c) => ({
      ...c,
      mappings: mappings.filter((m) => m.config === c.oid).map(({ config: _, ...m }) => m),
      comment: comments.take(CATALOG.pg_ts_config, c.oid),
    })),
  };
}

export function createTextSearchParser(parser: TextSearchParserDef): string[] {
  const name = qualify(parser.schema, parser.name);
  const methods = [
    `START = ${parser.start}`,
    `GETTOKEN = ${parser.getToken}`,
    `END = ${parser.end}`,
    `LEXTYPES = ${parser.lexTypes}`,
    ...(parser.headline === undefined ? [] : [`HEADLINE = ${parser.headline}`]),
  ];
  return [`CREATE TEXT SEARCH PARSER ${name} (\n    ${methods.join(",\n    ")}\n);`,
    ...commentOn(`TEXT SEARCH PARSER ${name}`, parser.comment)];
}

export function createTextSearchTemplate(template: TextSearchTemplateDef): string[] {
  const name = qualify(template.schema, template.name);
  const methods = [...(template.init === undefined ? [] : [`INIT = ${template.init}`]), `LEXIZE = ${template.lexize}`];
  return [`CREATE TEXT SEARCH TEMPLATE ${name} (\n    ${methods.join(",\n    ")}\n);`,
    ...commentOn(`TEXT SEARCH TEMPLATE ${name}`, template.comment)];
}

export function createTextSearchDictionary(dictionary: TextSearchDictionaryDef): string[] {
  const name = qualify(dictionary.schema, dictionary.name);
  const options = dictionary.options === undefined ? "" : `, ${dictionary.options}`;
  return [
    `CREATE TEXT SEARCH DICTIONARY ${name} (\n    TEMPLATE = ${dictionary.template}${options}\n);`,
    ...commentOn(`TEXT SEARCH DICTIONARY ${name}`, dictionary.comment),
  ];
}

/** Created from its parser with no mapping, then mapped token type by token type, as pg_dump writes it. */
export function createTextSearchConfiguration(configuration: TextSearchConfigurationDef): string[] {
  const name = qualify(configuration.schema, configuration.name);
  return [
    `CREATE TEXT SEARCH CONFIGURATION ${name} (\n    PARSER = ${configuration.parser}\n);`,
    ...configuration.mappings.map((m) =>
      `ALTER TEXT SEARCH CONFIGURATION ${name}\n    ADD MAPPING FOR ${quoteIdent(m.token)} WITH ${m.dictionaries.join(", ")};`
    ),
    ...commentOn(`TEXT SEARCH CONFIGURATION ${name}`, configuration.comment),
  ];
}

export function textSearchNodes(c: {
  textSearchParsers: TextSearchParserDef[];
  textSearchTemplates: TextSearchTemplateDef[];
  textSearchDictionaries: TextSearchDictionaryDef[];
  textSearchConfigurations: TextSearchConfigurationDef[];
}): DumpNode[] {
  const { pg_ts_config, pg_ts_dict, pg_ts_parser, pg_ts_template } = CATALOG;
  return [
    ...c.textSearchParsers.map((p) =>
      node("text search parser", `${pg_ts_parser}:${p.oid}`, qualify(p.schema, p.name), createTextSearchParser(p), [[pg_ts_parser, p.oid]],
        [ref("text search parser", p.schema, p.name)])
    ),
    ...c.textSearchTemplates.map((t) =>
      node("text search template", `${pg_ts_template}:${t.oid}`, qualify(t.schema, t.name), createTextSearchTemplate(t), [[pg_ts_template,
        t.oid]], [ref("text search template", t.schema, t.name)])
    ),
    ...c.textSearchDictionaries.map((d) =>
      owned(
        node("text search dictionary", `${pg_ts_dict}:${d.oid}`, qualify(d.schema, d.name), createTextSearchDictionary(d), [[pg_ts_dict,
          d.oid]], [ref("text search dictionary", d.schema, d.name)]),
        `TEXT SEARCH DICTIONARY ${qualify(d.schema, d.name)}`,
      )
    ),
    ...c.textSearchConfigurations.map((x) =>
      owned(
        node("text search configuration", `${pg_ts_config}:${x.oid}`, qualify(x.schema, x.name), createTextSearchConfiguration(x), [[
          pg_ts_config,
          x.oid,
        ]], [ref("text search configuration", x.schema, x.name)]),
        `TEXT SEARCH CONFIGURATION ${qualify(x.schema, x.name)}`,
      )
    ),
  ];
}

const TEXT_SEARCH_CATALOGS: Array<[kind: ObjectKind, catalog: string, name: string, namespace: string]> = [
  ["text search configuration", "pg_ts_config", "cfgname", "cfgnamespace"],
  ["text search dictionary", "pg_ts_dict", "dictname", "dictnamespace"],
  ["text search parser", "pg_ts_parser", "prsname", "prsnamespace"],
  ["text search template", "pg_ts_template", "tmplname", "tmplnamespace"],
];

export async function listTextSearch(client: pg.ClientBase, scope: InPlaceScope): Promise<OwnObject[]> {
  const found: OwnObject[] = [];
  for (const [kind, catalog, name, namespace] of TEXT_SEARCH_CATALOGS) {
    for (const t of await namedInSchemas(client, scope.inside, catalog, name, namespace)) {
      found.push({ kind, schema: t.schema, name: t.name,
        drop: `DROP ${kind.toUpperCase()} IF EXISTS ${qualify(t.schema, t.name)} CASCADE` });
    }
  }
  return found;
}
