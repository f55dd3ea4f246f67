// The foreign-data family: wrappers, servers and user mappings (foreign tables are tables). No
// option that may hold a credential ever goes into an archive; each one left out is named. Listed
// for an in-place restore: user mappings, servers, then wrappers (which take the rest along).
import type pg from "pg";
import type { Comments } from "../comments.ts";
import type { OwnObject } from "../kinds.ts";
import { node, owned, ref, type DumpNode } from "../plan/nodes.ts";
import { quoteIdent, quoteLiteral } from "../quote.ts";
import { CATALOG, commentOn, keyValues, notExtensionMember, rows } from "../sql.ts";

/** Generic options as [key, value]; those that may hold a credential are left out by the reader (see publicOptions). */
export type FdwOptions = Array<[key: string, value: string]>;

export interface ForeignDataWrapperDef {
  oid: number;
  name: string;
  handler?: string;
  validator?: string;
  options: FdwOptions;
  comment?: string;
}

export interface ForeignServerDef {
  oid: number;
  name: string;
  wrapper: string;
  type?: string;
  version?: string;
  options: FdwOptions;
  comment?: string;
}

export interface UserMappingDef {
  oid: number;
  server: string;
  /** null: the mapping FOR PUBLIC. */
  role: string | null;
  options: FdwOptions;
}

/**
 * Options that prove an identity never go into an archive: archives travel to S3 and are kept for
 * months. A user mapping keeps only the options known to name an identity or a file (an unknown
 * wrapper's option may be a password under another name); a wrapper's or server's keep all but
 * those named like a credential. Each option left out is listed (the backup's `skipped`), to be set
 * again after a restore.
 */
const USER_MAPPING_OPTIONS = new Set(["user", "username", "password_required", "sslcert", "sslkey"]);

const CREDENTIAL = /passw|secret|token|credential|private/i;

function publicOptions(options: string[] | null, keep: (key: string) => boolean, owner: string, leftOut: string[]): FdwOptions {
  return keyValues(options ?? []).flatMap(([key, value]): FdwOptions => {
    if (keep(key)) return [[key, value]];
    leftOut.push(`option ${key} of ${owner} (may hold a credential, never archived: set it again after a restore)`);
    return [];
  });
}

/** Wrappers, servers and user mappings; a wrapper made by CREATE EXTENSION (file_fdw) comes back with it. */
export async function readForeignData(client: pg.ClientBase, comments: Comments, leftOut: string[]): Promise<{
  wrappers: ForeignDataWrapperDef[];
  servers: ForeignServerDef[];
  userMappings: UserMappingDef[];
}> {
  const notCredential = (key: string) => !CREDENTIAL.test(key);
  const wrappers = await rows<{ oid: number; name: string; handler: string | null; validator: string | null; options: string[] | null }>(
    client,
    `SELECT w.oid, w.fdwname AS name,
            CASE WHEN w.fdwhandler <> 0 THEN w.fdwhandler::pg_catalog.regproc::text END AS handler,
            CASE WHEN w.fdwvalidator <> 0 THEN w.fdwvalidator::pg_catalog.regproc::text END AS validator, w.fdwoptions AS options
       FROM pg_catalog.pg_foreign_data_wrapper w WHERE ${notExtensionMember("pg_foreign_data_wrapper", "w.oid")}`,
  );
  const servers = await rows<
    { oid: number; name: string; wrapper: string; type: string | null; version: string | null; options: string[] | null }
  >(
    client,
    `SELECT s.oid, s.srvname AS name, w.fdwname AS wrapper, s.srvtype AS type, s.srvversion AS version, s.srvoptions AS options
       FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
      WHERE ${notExtensionMember("pg_foreign_server", "s.oid")}`,
  );
  // pg_user_mappings shows options only to whom may see them; a mapping whose options are hidden is
  // refused (catalog.ts, UNSUPPORTED_CHECKS), so here they are all visible.
  const mappings = await rows<{ oid: number; server: string; role: string | null; options: string[] | null }>(
    client,
    `SELECT u.umid AS oid, u.srvname AS server, CASE WHEN u.umuser <> 0 THEN u.usename END AS role, u.umoptions AS options
       FROM pg_catalog.pg_user_mappings u`,
  );
  return {
    wrappers: wrappers.map((w) => ({
      oid: w.oid,
      name: w.name,
      ...(w.handler === null ? {} : { handler: w.handler }),
      ...(w.validator === null ? {} : { validator: w.validator }),
      options: publicOptions(w.options, notCredential, `foreign-data wrapper ${w.name}`, leftOut),
      comment: comments.take(CATALOG.pg_foreign_data_wrapper, w.oid),
    })),
    servers: servers.map((s) => ({
      oid: s.oid,
      name: s.name,
      wrapper: s.wrapper,
      ...(s.type === null ? {} : { type: s.type }),
      ...(s.version === null ? {} : { version: s.version }),
      options: publicOptions(s.options, notCredential, `foreign server ${s.name}`, leftOut),
      comment: comments.take(CATALOG.pg_foreign_server, s.oid),
    })),
    userMappings: mappings.map((m) => ({
      oid: m.oid,
      server: m.server,
      role: m.role,
      options: publicOptions(m.options, (key) => USER_MAPPING_OPTIONS.has(key), `user mapping ${userMappingName(m)}`, leftOut),
    })),
  };
}

/** ` OPTIONS (key 'value', …)` of wrappers, servers, user mappings, foreign tables and their columns. */
export function fdwOptions(options: FdwOptions | undefined): string {
  if (options === undefined || options.length === 0) return "";
  return ` OPTIONS (${options.map(([key, value]) => `${quoteIdent(key)} ${quoteLiteral(value)}`).join(", ")})`;
}

export function createForeignDataWrapper(wrapper: ForeignDataWrapperDef): string[] {
  const name = quoteIdent(wrapper.name);
  const handler = wrapper.handler === undefined ? "" : ` HANDLER ${wrapper.handler}`;
  const validator = wrapper.validator === undefined ? "" : ` VALIDATOR ${wrapper.validator}`;
  return [
    `CREATE FOREIGN DATA WRAPPER ${name}${handler}${validator}${fdwOptions(wrapper.options)};`,
    ...commentOn(`FOREIGN DATA WRAPPER ${name}`, wrapper.comment),
  ];
}

export function createServer(server: ForeignServerDef): string[] {
  const name = quoteIdent(server.name);
  const type = server.type === undefined ? "" : ` TYPE ${quoteLiteral(server.type)}`;
  const version = server.version === undefined ? "" : ` VERSION ${quoteLiteral(server.version)}`;
  return [
    `CREATE SERVER ${name}${type}${version} FOREIGN DATA WRAPPER ${quoteIdent(server.wrapper)}${fdwOptions(server.options)};`,
    ...commentOn(`SERVER ${name}`, server.comment),
  ];
}

/** How the archive's object list and an in-place restore name a user mapping. */
export function userMappingName(mapping: Pick<UserMappingDef, "role" | "server">): string {
  return `for ${mapping.role ?? "PUBLIC"} server ${mapping.server}`;
}

/** The mapped role must exist where it is restored, as for policies; credentials were left out by the reader. */
export function createUserMapping(mapping: UserMappingDef): string[] {
  const role = mapping.role === null ? "PUBLIC" : quoteIdent(mapping.role);
  return [`CREATE USER MAPPING FOR ${role} SERVER ${quoteIdent(mapping.server)}${fdwOptions(mapping.options)};`];
}

export function foreignDataNodes(
  c: { wrappers: ForeignDataWrapperDef[]; servers: ForeignServerDef[]; userMappings: UserMappingDef[] },
): DumpNode[] {
  const { pg_foreign_data_wrapper, pg_foreign_server, pg_user_mapping } = CATALOG;
  return [
    ...c.wrappers.map((w) =>
      owned(
        node("foreign-data wrapper", `${pg_foreign_data_wrapper}:${w.oid}`, quoteIdent(w.name), createForeignDataWrapper(w), [[
          pg_foreign_data_wrapper,
          w.oid,
        ]], [ref("foreign-data wrapper", "", w.name)]),
        `FOREIGN DATA WRAPPER ${quoteIdent(w.name)}`,
        "",
      )
    ),
    ...c.servers.map((s) =>
      owned(
        node("foreign server", `${pg_foreign_server}:${s.oid}`, quoteIdent(s.name), createServer(s), [[pg_foreign_server, s.oid]], [
          ref("foreign server", "", s.name),
        ]),
        `SERVER ${quoteIdent(s.name)}`,
        `FOREIGN SERVER ${quoteIdent(s.name)}`,
      )
    ),
    ...c.userMappings.map((m) =>
      node("user mapping", `${pg_user_mapping}:${m.oid}`, userMappingName(m), createUserMapping(m), [[pg_user_mapping, m.oid]], [
        ref("user mapping", "", userMappingName(m)),
      ])
    ),
  ];
}

export async function listUserMappings(client: pg.ClientBase): Promise<OwnObject[]> {
  const mappings = await rows<{ role: string | null; server: string }>(
    client,
    "SELECT CASE WHEN u.umuser <> 0 THEN u.usename END AS role, u.srvname AS server FROM pg_catalog.pg_user_mappings u ORDER BY 2, 1",
  );
  return mappings.map((m) => ({
    kind: "user mapping",
    schema: "",
    name: userMappingName(m),
    drop: `DROP USER MAPPING IF EXISTS FOR ${m.role === null ? "PUBLIC" : quoteIdent(m.role)} SERVER ${quoteIdent(m.server)}`,
  }));
}

export async function listServers(client: pg.ClientBase): Promise<OwnObject[]> {
  return (await rows<{ name: string }>(
    client,
    `SELECT s.srvname AS name FROM pg_catalog.pg_foreign_server s WHERE ${notExtensionMember("pg_foreign_server", "s.oid")} ORDER BY 1`,
  )).map(({ name }) => ({ kind: "foreign server", schema: "", name, drop: `DROP SERVER IF EXISTS ${quoteIdent(name)} CASCADE` }));
}

/** A wrapper takes its servers, their user mappings and foreign tables along (CASCADE). */
export async function listWrappers(client: pg.ClientBase): Promise<OwnObject[]> {
  return (await rows<{ name: string }>(
    client,
    `SELECT w.fdwname AS name FROM pg_catalog.pg_foreign_data_wrapper w WHERE ${
      notExtensionMember("pg_foreign_data_wrapper", "w.oid")
    } ORDER BY 1`,
  )).map(({ name }) => ({ kind: "foreign-data wrapper", schema: "", name,
    drop: `DROP FOREIGN DATA WRAPPER IF EXISTS ${quoteIdent(name)} CASCADE` })
  );
}
