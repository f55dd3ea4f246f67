// The database's own owner and privileges (GRANT … ON DATABASE): read by a backup that carries
// privileges, and given to a database that a restore creates, as pg_dump --create does. A restore
// into an existing database leaves them as they are: they belong to that database, not to the archive.
import type pg from "pg";
import { grants } from "./emit.ts";
import { GRANTS, type Access, type Grant } from "./privileges.ts";
import { quoteIdent } from "./quote.ts";

export interface DatabaseAccess {
  owner: string;
  /** null: PostgreSQL's defaults (CONNECT and TEMPORARY for PUBLIC). */
  grants: Grant[] | null;
}

export async function readDatabaseAccess(client: pg.ClientBase): Promise<DatabaseAccess> {
  const { rows } = await client.query<DatabaseAccess>(
    `SELECT pg_catalog.pg_get_userbyid(d.datdba) AS owner,
            CASE WHEN d.datacl IS NOT NULL THEN COALESCE(${GRANTS("d.datacl")}, '[]') END AS grants
       FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()`,
  );
  return rows[0]!;
}

/**
 * Give `database` (just created) the owner and grants of the backed-up one. Roles this server does
 * not have are left out (the archive may create them later, with the `roles` option): named in the
 * returned list.
 */
export async function applyDatabaseAccess(client: pg.ClientBase, database: string, access: DatabaseAccess): Promise<string[]> {
  const named = [access.owner, ...(access.grants ?? []).flatMap((g) => (g.grantee === null ? [] : [g.grantee]))];
  const { rows } = await client.query<{ name: string }>("SELECT rolname::text AS name FROM pg_catalog.pg_roles WHERE rolname = ANY($1)", [named]);
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
