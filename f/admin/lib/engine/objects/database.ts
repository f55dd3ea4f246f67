// The database-level family: schemas, extensions (with the rows of their configuration tables that
// are the user's), publications, large objects, event triggers, and the database's own settings,
// owner and grants. Each is read through the backup's snapshot, written as SQL, and listed with the
// statement that drops it for an in-place restore.
import type pg from "pg";
import type { Comments } from "../comments.ts";
import { grants, type Access, type DatabaseAccess } from "../grants.ts";
import type { InPlaceScope, OwnObject } from "../kinds.ts";
import type { TableData } from "../model.ts";
import { node, owned, ref, type CatalogRow, type DumpNode } from "../plan/nodes.ts";
import { dollarQuote, qualify, quoteIdent, quoteLiteral } from "../quote.ts";
import { CATALOG, commentOn, notExtensionMember, qualifiedName, rows, userSchema } from "../sql.ts";
import { copyFromStatement } from "../table-member.ts";
import { GRANTS } from "./security.ts";

export interface SchemaDef {
  oid: number;
  name: string;
  comment?: string;
}

export interface ExtensionDef {
  oid: number;
  name: string;
  version: string;
  schema: string;
  comment?: string;
}

/**
 * A table or sequence an extension marked with pg_extension_config_dump: CREATE EXTENSION makes it,
 * but the rows matching `condition` (e.g. PostGIS's custom SRIDs) and the sequence's position are the
 * user's, dumped as pg_dump does.
 */
export interface ExtensionConfigDef {
  extensionOid: number;
  oid: number;
  schema: string;
  name: string;
  sequence: boolean;
  /** `WHERE …` from pg_extension.extcondition, or "" for every row. */
  condition: string;
  /** Quoted names of the columns COPY carries (generated ones left out). */
  columns: string[];
}

export interface EventTriggerDef {
  oid: number;
  name: string;
  event: string;
  tags: string[] | null;
  function: string;
  enabled: string;
  comment?: string;
}

export interface PublicationDef {
  oid: number;
  name: string;
  allTables: boolean;
  /** `publish = 'insert, update'`, `publish_via_partition_root = true`. */
  options: Array<[key: string, value: string]>;
  /** `TABLE ONLY "s"."t" (a, b) WHERE (…)` and `TABLES IN SCHEMA "s"` members. */
  members: Array<{ classId: number; oid: number; clause: string }>;
  comment?: string;
}

export interface LargeObjectDef {
  oid: number;
  comment?: string;
}

/** Large objects by OID (their data is streamed by the dump); comments are on pg_largeobject. */
export async function readLargeObjects(client: pg.ClientBase, comments: Comments): Promise<LargeObjectDef[]> {
  return (await rows<{ oid: number }>(client, "SELECT oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid"))
    .map(({ oid }) => ({ oid, comment: comments.take(CATALOG.pg_largeobject, oid) }));
}

export interface DatabaseSetting {
  /** Unquoted role the setting applies to in this database, or null for every role. */
  role: string | null;
  name: string;
  value: string;
}

export async function readSchemas(client: pg.ClientBase, comments: Comments): Promise<SchemaDef[]> {
  const found = await rows<SchemaDef>(
    client,
    `SELECT n.oid, n.nspname AS name FROM pg_catalog.pg_namespace n
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_namespace", "n.oid")}`,
  );
  return found.map((s) => {
    const comment = comments.take(CATALOG.pg_namespace, s.oid);
    // initdb's own comment: leaving it out spares the restoring role from owning `public`. A `public`
    // without one (dropped and made again) clears the one a new database has, as pg_dump does.
    if (s.name !== "public") return { ...s, comment };
    return comment === "standard public schema" ? s : { ...s, comment: comment ?? "" };
  });
}

/**
 * OIDs below 16384 were made by initdb (plpgsql): every new database already has them. The comment
 * CREATE EXTENSION sets itself is left out: only the extension's owner may comment on it, and an
 * in-place restore by a non-superuser keeps the installed extension (e.g. pgvector) it cannot own.
 */
export async function readExtensions(client: pg.ClientBase, comments: Comments): Promise<ExtensionDef[]> {
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

export async function readExtensionConfig(client: pg.ClientBase): Promise<ExtensionConfigDef[]> {
  const found = await rows<ExtensionConfigDef>(
    client,
    `SELECT e.oid AS "extensionOid", c.oid, n.nspname AS schema, c.relname AS name, c.relkind = 'S' AS sequence,
            COALESCE(e.extcondition[k.i], '') AS condition,
            ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum) AS columns
       FROM pg_catalog.pg_extension e, pg_catalog.unnest(e.extconfig) WITH ORDINALITY k(relid, i)
       JOIN pg_catalog.pg_class c ON c.oid = k.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'S') ORDER BY n.nspname, c.relname`,
  );
  // Quoted here, like every other column list: the manifest accepts nothing that could end a name.
  return found.map((config) => ({ ...config, columns: config.columns.map(quoteIdent) }));
}

export async function readEventTriggers(client: pg.ClientBase, comments: Comments): Promise<EventTriggerDef[]> {
  const found = await rows<EventTriggerDef>(
    client,
    `SELECT e.oid, e.evtname AS name, e.evtevent AS event, e.evttags::text[] AS tags,
            e.evtfoid::pg_catalog.regproc::text AS function, e.evtenabled AS enabled
       FROM pg_catalog.pg_event_trigger e WHERE ${notExtensionMember("pg_event_trigger", "e.oid")}`,
  );
  return found.map((e) => ({ ...e, comment: comments.take(CATALOG.pg_event_trigger, e.oid) }));
}

/** Publications; their row filters and column lists exist from PostgreSQL 15, schemas too. */
export async function readPublications(client: pg.ClientBase, comments: Comments): Promise<PublicationDef[]> {
  const version = Number((await rows<{ v: string }>(client, "SELECT pg_catalog.current_setting('server_version_num') AS v"))[0]?.v);
  const found = await rows<{ oid: number; name: string; allTables: boolean; publish: string; viaRoot: boolean }>(
    client,
    `SELECT p.oid, p.pubname AS name, p.puballtables AS "allTables", p.pubviaroot AS "viaRoot",
            pg_catalog.array_to_string(ARRAY[
              CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
              CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END], ', ') AS publish
       FROM pg_catalog.pg_publication p`,
  );
  const tables = await rows<{ oid: number; publication: number; clause: string }>(
    client,
    `SELECT pr.oid, pr.prpubid AS publication,
            'TABLE ONLY ' || ${qualifiedName("n.nspname", "c.relname")} ||
            ${
      version >= 150000
        ? `COALESCE(' (' || (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.i)
                                      FROM pg_catalog.unnest(pr.prattrs) WITH ORDINALITY k(attnum, i)
                                      JOIN pg_catalog.pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k.attnum) || ')', '') ||
                 COALESCE(' WHERE (' || pg_catalog.pg_get_expr(pr.prqual, pr.prrelid) || ')', '')`
        : "''"
    } AS clause
       FROM pg_catalog.pg_publication_rel pr
       JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      ORDER BY n.nspname, c.relname`,
  );
  const schemas = version < 150000 ? [] : await rows<{ oid: number; publication: number; clause: string }>(
    client,
    `SELECT pn.oid, pn.pnpubid AS publication, 'TABLES IN SCHEMA ' || pg_catalog.quote_ident(n.nspname) AS clause
       FROM pg_catalog.pg_publication_namespace pn JOIN pg_catalog.pg_namespace n ON n.oid = pn.pnnspid
      ORDER BY n.nspname`,
  );
  return found.map((p) => ({
    oid: p.oid,
    name: p.name,
    allTables: p.allTables,
    options: [["publish", p.publish], ...(p.viaRoot ? [["publish_via_partition_root", "true"] as [string, string]] : [])],
    members: [
      ...tables.filter((t) => t.publication === p.oid).map((t) => ({ classId: CATALOG.pg_publication_rel, oid: t.oid, clause: t.clause })),
      ...schemas.filter((s) => s.publication === p.oid).map((s) => ({ classId: CATALOG.pg_publication_namespace, oid: s.oid,
        clause: s.clause })
      ),
    ],
    comment: comments.take(CATALOG.pg_publication, p.oid),
  }));
}

export async function readDatabaseAccess(client: pg.ClientBase): Promise<DatabaseAccess> {
  const { rows } = await client.query<DatabaseAccess>(
    `SELECT pg_catalog.pg_get_userbyid(d.datdba) AS owner,
            CASE WHEN d.datacl IS NOT NULL THEN COALESCE(${GRANTS("d.datacl")}, '[]') END AS grants
       FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()`,
  );
  return rows[0]!;
}

/** `ALTER DATABASE … SET` and `ALTER ROLE … IN DATABASE … SET` of the database being dumped. */
export async function readDatabaseSettings(client: pg.ClientBase): Promise<DatabaseSetting[]> {
  const { rows } = await client.query<{ role: string | null; setting: string }>(
    `SELECT CASE WHEN s.setrole <> 0 THEN pg_catalog.pg_get_userbyid(s.setrole) END AS role, c.setting
       FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) WITH ORDINALITY c(setting, i)
      WHERE s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
      ORDER BY 1 NULLS FIRST, c.i`,
  );
  return rows.map((r) => {
    const eq = r.setting.indexOf("=");
    return { role: r.role, name: r.setting.slice(0, eq), value: r.setting.slice(eq + 1) };
  });
}

/** IF NOT EXISTS always: `public` exists in every new database and the restorer relies on it. */
export function createSchema(schema: SchemaDef): string[] {
  const name = quoteIdent(schema.name);
  return [`CREATE SCHEMA IF NOT EXISTS ${name};`, ...commentOn(`SCHEMA ${name}`, schema.comment)];
}

export function createExtension(extension: ExtensionDef): string[] {
  const name = quoteIdent(extension.name);
  return [
    `CREATE EXTENSION IF NOT EXISTS ${name} WITH SCHEMA ${quoteIdent(extension.schema)};`,
    ...commentOn(`EXTENSION ${name}`, extension.comment),
  ];
}

/** The rows of an extension's configuration table that are the user's: those matching its condition. */
export function configRowsQuery(table: string, columns: readonly string[], condition: string): string {
  return `SELECT ${columns.join(", ")} FROM ONLY ${table}${condition === "" ? "" : ` ${condition}`}`;
}

/**
 * CREATE EXTENSION put the extension's own rows back; the archive's rows of the user's replace any
 * the target has (an in-place restore), so they are deleted first. Only those matching the condition.
 */
export function clearExtensionConfig(config: ExtensionConfigDef): string[] {
  return [`DELETE FROM ONLY ${qualify(config.schema, config.name)}${config.condition === "" ? "" : ` ${config.condition}`};`];
}

export function extensionConfigCopy(config: ExtensionConfigDef): { columns: string[]; copyIn: string; copyOut: string; condition: string } {
  const name = qualify(config.schema, config.name);
  return {
    columns: config.columns,
    copyIn: copyFromStatement(config.schema, config.name, config.columns),
    copyOut: `COPY (${configRowsQuery(name, config.columns, config.condition)}) TO STDOUT`,
    condition: config.condition,
  };
}

export function extensionConfigData(config: ExtensionConfigDef): TableData {
  return { schema: config.schema, name: config.name, qualifiedName: qualify(config.schema, config.name), ...extensionConfigCopy(config) };
}

const EVENT_TRIGGER_STATE: Record<string, string | undefined> = { D: "DISABLE", R: "ENABLE REPLICA", A: "ENABLE ALWAYS" };

export function createEventTrigger(trigger: EventTriggerDef): string[] {
  const name = quoteIdent(trigger.name);
  const when = trigger.tags === null ? "" : `\n    WHEN TAG IN (${trigger.tags.map(quoteLiteral).join(", ")})`;
  const state = EVENT_TRIGGER_STATE[trigger.enabled];
  return [
    `CREATE EVENT TRIGGER ${name} ON ${quoteIdent(trigger.event)}${when}\n    EXECUTE FUNCTION ${trigger.function}();`,
    ...(state === undefined ? [] : [`ALTER EVENT TRIGGER ${name} ${state};`]),
    ...commentOn(`EVENT TRIGGER ${name}`, trigger.comment),
  ];
}

export function createPublication(publication: PublicationDef): string[] {
  const name = quoteIdent(publication.name);
  const options = publication.options.map(([key, value]) => `${key} = ${key === "publish" ? quoteLiteral(value) : value}`);
  return [
    `CREATE PUBLICATION ${name}${publication.allTables ? " FOR ALL TABLES" : ""} WITH (${options.join(", ")});`,
    ...commentOn(`PUBLICATION ${name}`, publication.comment),
    ...publication.members.map((m) => `ALTER PUBLICATION ${name} ADD ${m.clause};`),
  ];
}

export function largeObjectComment(largeObject: { oid: number; comment?: string }): string[] {
  return commentOn(`LARGE OBJECT ${largeObject.oid}`, largeObject.comment);
}

/** Settings whose value is a list PostgreSQL keeps quoted element by element (pg_dump's GUC_LIST_QUOTE). */
const LIST_SETTINGS = new Set(["search_path", "temp_tablespaces", "session_preload_libraries", "shared_preload_libraries",
  "local_preload_libraries"]);

/** A list setting's value as the server stores it: elements that are plain or double-quoted identifiers. */
const IDENTIFIER_LIST = /^\s*(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")*")(?:\s*,\s*(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")*"))*\s*$/;

/**
 * By the restoring database's own name, which the archive cannot know: ALTER DATABASE needs one.
 * The setting's name is quoted (one identifier may hold the dots of `extension.setting`); a list
 * value is written as the server keeps it only when it has that shape, else as one literal.
 */
export function databaseSetting(setting: DatabaseSetting): string {
  const list = LIST_SETTINGS.has(setting.name.toLowerCase()) && IDENTIFIER_LIST.test(setting.value);
  const value = list ? setting.value : quoteLiteral(setting.value);
  // format() reads `%`: every piece but the database's own placeholder has its `%` doubled.
  const literal = (text: string) => text.replaceAll("%", "%%");
  const target = setting.role === null ? "DATABASE %I" : `ROLE ${literal(quoteIdent(setting.role))} IN DATABASE %I`;
  const statement = `ALTER ${target} SET ${literal(quoteIdent(setting.name))} = ${literal(value)}`;
  return `DO ${dollarQuote(`BEGIN EXECUTE pg_catalog.format(${quoteLiteral(statement)}, pg_catalog.current_database()); END`, "setting")};`;
}

/**
 * Give `database` (just created) the owner and grants of the backed-up one. Roles this server does
 * not have are left out (the archive may create them later, with the `roles` option): named in the
 * returned list.
 */
export async function applyDatabaseAccess(client: pg.ClientBase, database: string, access: DatabaseAccess): Promise<string[]> {
  const named = [access.owner, ...(access.grants ?? []).flatMap((g) => (g.grantee === null ? [] : [g.grantee]))];
  const { rows } = await client.query<{ name: string }>("SELECT rolname::text AS name FROM pg_catalog.pg_roles WHERE rolname = ANY($1)", [
    named,
  ]);
  const exists = new Set(rows.map((r) => r.name));
  const missing = [...new Set(named.filter((role) => !exists.has(role)))];
  const kept: Access = {
    owner: exists.has(access.owner) ? access.owner : (await client.query<{ u: string }>("SELECT current_user::text AS u")).rows[0]!.u,
    grants: access.grants === null ? null : access.grants.filter((g) => g.grantee === null || exists.has(g.grantee)),
    columns: [],
  };
  const name = quoteIdent(database);
  for (const statement of [`ALTER DATABASE ${name} OWNER TO ${quoteIdent(kept.owner)};`, ...grants(`DATABASE ${name}`, kept)]) {
    await client.query(statement);
  }
  return missing;
}

/** Schemas, extensions (and their configuration rows to replace), publications, large objects and event triggers. */
export function databaseNodes(c: {
  schemas: SchemaDef[];
  extensions: ExtensionDef[];
  extensionConfig: ExtensionConfigDef[];
  publications: PublicationDef[];
  largeObjects: LargeObjectDef[];
  eventTriggers: EventTriggerDef[];
}): DumpNode[] {
  const { pg_event_trigger, pg_extension, pg_namespace, pg_publication, pg_largeobject_metadata } = CATALOG;
  return [
    ...c.schemas.map((s) =>
      owned(
        node("schema", `${pg_namespace}:${s.oid}`, quoteIdent(s.name), createSchema(s), [[pg_namespace, s.oid]], [
          ref("schema", "", s.name),
        ]),
        `SCHEMA ${quoteIdent(s.name)}`,
        "",
      )
    ),
    ...c.extensions.map((e) =>
      node("extension", `${pg_extension}:${e.oid}`, quoteIdent(e.name), createExtension(e), [[pg_extension, e.oid]], [
        ref("extension", "", e.name),
      ])
    ),
    ...c.extensionConfig.filter((x) => !x.sequence).map((x) =>
      node("extension config", `extension-config:${x.oid}`, qualify(x.schema, x.name), clearExtensionConfig(x), [], [], [[pg_extension,
        x.extensionOid]])
    ),
    ...c.publications.map((p) =>
      owned(
        node("publication", `${pg_publication}:${p.oid}`, quoteIdent(p.name), createPublication(p), [[pg_publication, p.oid],
          ...p.members.map((m): CatalogRow => [m.classId, m.oid])], [ref("publication", "", p.name)]),
        `PUBLICATION ${quoteIdent(p.name)}`,
      )
    ),
    // Created and filled by the dump's large-object member after the data; here only what follows.
    ...c.largeObjects.map((o) =>
      owned(
        node("large-object", `${pg_largeobject_metadata}:${o.oid}`, String(o.oid), largeObjectComment(o), [[pg_largeobject_metadata,
          o.oid]], [ref("large object", "", String(o.oid))]),
        `LARGE OBJECT ${o.oid}`,
        "",
      )
    ),
    ...c.eventTriggers.map((e) =>
      owned(
        node("event-trigger", `${pg_event_trigger}:${e.oid}`, quoteIdent(e.name), createEventTrigger(e), [[pg_event_trigger, e.oid]], [
          ref("event trigger", "", e.name),
        ]),
        `EVENT TRIGGER ${quoteIdent(e.name)}`,
      )
    ),
  ];
}

/**
 * Which schemas of the target an in-place restore drops whole (neither in the archive nor holding an
 * extension or its members) and which it keeps, dropping what is in them object by object.
 */
export async function inPlaceScope(client: pg.ClientBase, archiveSchemas: ReadonlySet<string>): Promise<InPlaceScope> {
  const schemas = await rows<{ name: string; pinned: boolean }>(
    client,
    `SELECT n.nspname AS name,
            (EXISTS (SELECT 1 FROM pg_catalog.pg_extension x WHERE x.extnamespace = n.oid)
             OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend e JOIN pg_catalog.pg_class c ON e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid WHERE e.deptype = 'e' AND c.relnamespace = n.oid)
             OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend e JOIN pg_catalog.pg_proc p ON e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND e.objid = p.oid WHERE e.deptype = 'e' AND p.pronamespace = n.oid)
             OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend e JOIN pg_catalog.pg_type t ON e.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND e.objid = t.oid WHERE e.deptype = 'e' AND t.typnamespace = n.oid)
             OR NOT ${notExtensionMember("pg_namespace", "n.oid")}) AS pinned
       FROM pg_catalog.pg_namespace n WHERE ${userSchema("n")} ORDER BY 1`,
  );
  const whole = schemas.filter((s) => !s.pinned && !archiveSchemas.has(s.name)).map((s) => s.name);
  return { whole, inside: schemas.map((s) => s.name).filter((name) => !whole.includes(name)) };
}

export async function listSchemas(_client: pg.ClientBase, scope: InPlaceScope): Promise<OwnObject[]> {
  return scope.whole.map((name) => ({ kind: "schema", schema: "", name, drop: `DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE` }));
}

// Large objects, event triggers and publications belong to the database, not a schema, but they are the target's own objects too.
export async function listLargeObjects(client: pg.ClientBase): Promise<OwnObject[]> {
  return (await rows<{ oid: string }>(client, "SELECT oid::text AS oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid"))
    .map(({ oid }) => ({ kind: "large object", schema: "", name: oid, drop: `SELECT pg_catalog.lo_unlink('${oid}')` }));
}

export async function listEventTriggers(client: pg.ClientBase): Promise<OwnObject[]> {
  return (await rows<{ name: string }>(
    client,
    `SELECT t.evtname AS name FROM pg_catalog.pg_event_trigger t WHERE ${notExtensionMember("pg_event_trigger", "t.oid")} ORDER BY 1`,
  )).map(({ name }) => ({ kind: "event trigger", schema: "", name, drop: `DROP EVENT TRIGGER IF EXISTS ${quoteIdent(name)}` }));
}

export async function listPublications(client: pg.ClientBase): Promise<OwnObject[]> {
  return (await rows<{ name: string }>(client, "SELECT p.pubname AS name FROM pg_catalog.pg_publication p ORDER BY 1"))
    .map(({ name }) => ({ kind: "publication", schema: "", name, drop: `DROP PUBLICATION IF EXISTS ${quoteIdent(name)}` }));
}
