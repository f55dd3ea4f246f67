// Reads who owns what and who may do what (owners, GRANTs incl. column grants, default privileges),
// the roles those name, and the database's own settings (ALTER DATABASE … SET): the parts of a
// database that the dump writes only when asked, as they need the same roles on the restoring server.
import type pg from "pg";
import { quoteIdent } from "./quote.ts";
import { notExtensionMember, userSchema } from "./sql.ts";

/** One GRANT: a role (null for PUBLIC), the privileges it has, and whether it may pass them on. */
export interface Grant { grantee: string | null; privileges: string[]; grantable: boolean }

export interface Access {
  owner: string;
  /** null: the default privileges, nothing to write. */
  grants: Grant[] | null;
  /** Column grants of a table or view: column name → grants. */
  columns: Array<{ column: string; grants: Grant[] }>;
}

export interface DefaultPrivilegeDef {
  /** The role whose new objects get them. */
  role: string;
  /** Unquoted schema, or null for the role's defaults everywhere. */
  schema: string | null;
  /** TABLES, SEQUENCES, FUNCTIONS, TYPES or SCHEMAS. */
  objects: string;
  grants: Grant[];
}

export interface RoleDef {
  name: string;
  /** `NOSUPERUSER INHERIT …`: every attribute, so the role is the same whatever the defaults. */
  attributes: string;
  /** Roles it is a member of. */
  memberOf: string[];
}

export interface DatabaseSetting {
  /** Unquoted role the setting applies to in this database, or null for every role. */
  role: string | null;
  name: string;
  value: string;
}

/** Owner and grants by catalog row, `classid:oid` as pg_depend names it. */
export type AccessByObject = Map<string, Access>;

/**
 * The grants of an ACL in the order its items have (the order of the GRANTs that made them): granted
 * again in that order, they give the same ACL, so `\dp` shows the same text.
 */
export const GRANTS = (acl: string) => `(
  SELECT pg_catalog.json_agg(pg_catalog.json_build_object('grantee', g.grantee, 'privileges', g.privileges, 'grantable', g.grantable) ORDER BY g.position)
    FROM (SELECT CASE WHEN a.grantee <> 0 THEN pg_catalog.pg_get_userbyid(a.grantee) END AS grantee, pg_catalog.min(a.n) AS position,
                 a.is_grantable AS grantable, pg_catalog.array_agg(a.privilege_type ORDER BY a.privilege_type) AS privileges
            FROM pg_catalog.aclexplode(${acl}) WITH ORDINALITY a(grantor, grantee, privilege_type, is_grantable, n) GROUP BY a.grantee, a.is_grantable) g)`;

/** Large objects take any OID, even below those initdb's objects use. */
const OWNED: ReadonlyArray<[catalog: string, owner: string, acl: string | null]> = [
  ["pg_namespace", "nspowner", "nspacl"],
  ["pg_class", "relowner", "relacl"],
  ["pg_proc", "proowner", "proacl"],
  ["pg_type", "typowner", "typacl"],
  ["pg_collation", "collowner", null],
  ["pg_ts_dict", "dictowner", null],
  ["pg_ts_config", "cfgowner", null],
  ["pg_statistic_ext", "stxowner", null],
  ["pg_event_trigger", "evtowner", null],
  ["pg_publication", "pubowner", null],
  ["pg_foreign_data_wrapper", "fdwowner", "fdwacl"],
  ["pg_foreign_server", "srvowner", "srvacl"],
  ["pg_largeobject_metadata", "lomowner", "lomacl"],
  ["pg_language", "lanowner", "lanacl"],
  ["pg_operator", "oprowner", null],
  ["pg_opfamily", "opfowner", null],
  ["pg_opclass", "opcowner", null],
  ["pg_conversion", "conowner", null],
];

export async function readAccess(client: pg.ClientBase): Promise<AccessByObject> {
  const result: AccessByObject = new Map();
  for (const [catalog, owner, acl] of OWNED) {
    const { rows } = await client.query<{ classid: number; oid: number; owner: string; grants: Grant[] | null; columns: Access["columns"] | null }>(
      `SELECT '${catalog}'::pg_catalog.regclass::pg_catalog.oid AS classid, x.oid,
              pg_catalog.pg_get_userbyid(x.${owner}) AS owner,
              ${acl === null ? "NULL" : `CASE WHEN x.${acl} IS NOT NULL THEN COALESCE(${GRANTS(`x.${acl}`)}, '[]') END`} AS grants,
              ${catalog === "pg_class"
                ? `(SELECT pg_catalog.json_agg(pg_catalog.json_build_object('column', a.attname, 'grants', ${GRANTS("a.attacl")}) ORDER BY a.attnum)
                      FROM pg_catalog.pg_attribute a WHERE a.attrelid = x.oid AND a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped)`
                : "NULL"} AS columns
         FROM pg_catalog.${catalog} x WHERE x.oid >= 16384 OR '${catalog}' IN ('pg_namespace', 'pg_largeobject_metadata')`,
    );
    for (const row of rows) result.set(`${row.classid}:${row.oid}`, { owner: row.owner, grants: row.grants, columns: row.columns ?? [] });
  }
  return result;
}

const DEFAULT_ACL_OBJECTS: Record<string, string> = { r: "TABLES", S: "SEQUENCES", f: "FUNCTIONS", T: "TYPES", n: "SCHEMAS", L: "LARGE OBJECTS" };

/** How manifests, previews and in-place restores name one role's default privileges for one kind of object (in one schema). */
export function defaultPrivilegesRef(defaults: Pick<DefaultPrivilegeDef, "role" | "schema" | "objects">): { kind: "default privileges"; schema: string; name: string } {
  return { kind: "default privileges", schema: defaults.schema ?? "", name: `for role ${defaults.role} on ${defaults.objects.toLowerCase()}` };
}

export async function readDefaultPrivileges(client: pg.ClientBase): Promise<DefaultPrivilegeDef[]> {
  const { rows } = await client.query<{ role: string; schema: string | null; type: string; grants: Grant[] | null }>(
    `SELECT pg_catalog.pg_get_userbyid(d.defaclrole) AS role, n.nspname AS schema, d.defaclobjtype AS type,
            ${GRANTS("d.defaclacl")} AS grants
       FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
      ORDER BY 1, 2 NULLS FIRST, 3`,
  );
  return rows.map((r) => ({ role: r.role, schema: r.schema, objects: DEFAULT_ACL_OBJECTS[r.type] ?? r.type, grants: r.grants ?? [] }));
}

/**
 * The roles `names` and those policies and user mappings name, and every role they are members of, created before
 * anything else. Predefined roles and the bootstrap superuser exist on every server: left out.
 */
export async function readRoles(client: pg.ClientBase, names: string[]): Promise<RoleDef[]> {
  const { rows } = await client.query<RoleDef>(
    `WITH RECURSIVE wanted AS (
       SELECT r.oid FROM pg_catalog.pg_roles r
        WHERE r.rolname = ANY($1) OR r.oid IN (SELECT pg_catalog.unnest(p.polroles) FROM pg_catalog.pg_policy p)
           OR r.oid IN (SELECT u.umuser FROM pg_catalog.pg_user_mappings u)
       UNION SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN wanted w ON w.oid = m.member)
     SELECT r.rolname AS name,
            pg_catalog.concat_ws(' ', CASE WHEN r.rolsuper THEN 'SUPERUSER' ELSE 'NOSUPERUSER' END,
              CASE WHEN r.rolinherit THEN 'INHERIT' ELSE 'NOINHERIT' END, CASE WHEN r.rolcreaterole THEN 'CREATEROLE' ELSE 'NOCREATEROLE' END,
              CASE WHEN r.rolcreatedb THEN 'CREATEDB' ELSE 'NOCREATEDB' END, CASE WHEN r.rolcanlogin THEN 'LOGIN' ELSE 'NOLOGIN' END,
              CASE WHEN r.rolreplication THEN 'REPLICATION' ELSE 'NOREPLICATION' END, CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' ELSE 'NOBYPASSRLS' END,
              'CONNECTION LIMIT ' || r.rolconnlimit) AS attributes,
            ARRAY(SELECT p.rolname FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles p ON p.oid = m.roleid
                   WHERE m.member = r.oid AND p.oid >= 16384 ORDER BY 1)::text[] AS "memberOf"
       FROM pg_catalog.pg_roles r JOIN wanted w ON w.oid = r.oid
      WHERE r.oid >= 16384 ORDER BY 1`,
    [names],
  );
  return rows;
}

/** Roles that policies and user mappings name: an archive needs them whether or not it carries privileges. */
export async function readRolesOfPoliciesAndMappings(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT r.rolname AS name FROM pg_catalog.pg_roles r
      WHERE r.oid IN (SELECT pg_catalog.unnest(p.polroles) FROM pg_catalog.pg_policy p) OR r.oid IN (SELECT u.umuser FROM pg_catalog.pg_user_mappings u)
      ORDER BY 1`,
  );
  return rows.map((r) => r.name);
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

/**
 * An object the archive does not create (an extension's member, pg_catalog's own) whose privileges
 * differ from those it starts with (pg_init_privs, else the built-in default): the archive carries
 * the difference, as pg_dump does.
 */
export interface ChangedInitialAccess {
  /** How GRANT names it: `ROUTINE "public"."gen_random_bytes"(integer)`, `TABLE "pg_catalog"."pg_authid"`. */
  on: string;
  /** For a column's privileges, its unquoted name. */
  column: string | null;
  initial: Grant[];
  current: Grant[];
}

/** Per catalog: the keyword GRANT takes, its name as SQL (in `x`), its namespace column, acl and owner, and acldefault's letter. */
const INITIAL_PRIVILEGE_CATALOGS: ReadonlyArray<{ catalog: string; on: string; namespace: string | null; acl: string; owner: string; type: string }> = [
  {
    catalog: "pg_class", namespace: "x.relnamespace", acl: "x.relacl", owner: "x.relowner",
    on: `CASE WHEN x.relkind = 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(x.relname)`,
    type: `CASE WHEN x.relkind = 'S' THEN 's' ELSE 'r' END`,
  },
  {
    catalog: "pg_proc", namespace: "x.pronamespace", acl: "x.proacl", owner: "x.proowner", type: "'f'",
    on: `CASE WHEN x.prokind = 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(x.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(x.oid) || ')'`,
  },
  {
    catalog: "pg_type", namespace: "x.typnamespace", acl: "x.typacl", owner: "x.typowner", type: "'T'",
    on: `'TYPE ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(x.typname)`,
  },
  { catalog: "pg_namespace", namespace: null, acl: "x.nspacl", owner: "x.nspowner", type: "'n'", on: `'SCHEMA ' || pg_catalog.quote_ident(x.nspname)` },
  { catalog: "pg_language", namespace: null, acl: "x.lanacl", owner: "x.lanowner", type: "'l'", on: `'LANGUAGE ' || pg_catalog.quote_ident(x.lanname)` },
  { catalog: "pg_foreign_data_wrapper", namespace: null, acl: "x.fdwacl", owner: "x.fdwowner", type: "'F'", on: `'FOREIGN DATA WRAPPER ' || pg_catalog.quote_ident(x.fdwname)` },
  { catalog: "pg_foreign_server", namespace: null, acl: "x.srvacl", owner: "x.srvowner", type: "'S'", on: `'FOREIGN SERVER ' || pg_catalog.quote_ident(x.srvname)` },
];

/**
 * Objects the archive does not create whose privileges were changed since they were made: members
 * of extensions, and pg_catalog's own objects (pg_catalog itself included; built-in languages
 * too). Column privileges of those tables as well. Read the same way from a restore's target to put
 * it back where a new database starts.
 */
export async function readChangedInitialPrivileges(client: pg.ClientBase): Promise<ChangedInitialAccess[]> {
  const changed: ChangedInitialAccess[] = [];
  for (const c of INITIAL_PRIVILEGE_CATALOGS) {
    const member = `EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = '${c.catalog}'::pg_catalog.regclass AND e.objid = x.oid AND e.deptype = 'e')`;
    const builtIn = c.namespace === null
      ? (c.catalog === "pg_namespace" ? "x.nspname = 'pg_catalog'" : c.catalog === "pg_language" ? "x.oid < 16384" : "false")
      : "n.nspname = 'pg_catalog'";
    const initial = `(SELECT i.initprivs FROM pg_catalog.pg_init_privs i WHERE i.classoid = '${c.catalog}'::pg_catalog.regclass AND i.objoid = x.oid AND i.objsubid = 0)`;
    const { rows } = await client.query<{ on: string; initial: Grant[] | null; current: Grant[] | null }>(
      `SELECT ${c.on} AS on,
              ${GRANTS(`COALESCE(${initial}, pg_catalog.acldefault((${c.type})::"char", ${c.owner}))`)} AS initial,
              ${GRANTS(`COALESCE(${c.acl}, pg_catalog.acldefault((${c.type})::"char", ${c.owner}))`)} AS current
         FROM pg_catalog.${c.catalog} x ${c.namespace === null ? "" : `JOIN pg_catalog.pg_namespace n ON n.oid = ${c.namespace}`}
        WHERE (${builtIn} OR ${member})
          ${c.catalog === "pg_type" ? "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = x.oid)" : ""}
          AND COALESCE(${c.acl}, pg_catalog.acldefault((${c.type})::"char", ${c.owner})) IS DISTINCT FROM COALESCE(${initial}, pg_catalog.acldefault((${c.type})::"char", ${c.owner}))
        ORDER BY 1`,
    );
    for (const row of rows) changed.push({ on: row.on, column: null, initial: row.initial ?? [], current: row.current ?? [] });
  }
  // Column privileges start empty unless pg_init_privs says otherwise.
  const { rows } = await client.query<{ on: string; column: string; initial: Grant[] | null; current: Grant[] | null }>(
    `SELECT 'TABLE ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS on, a.attname AS column,
            ${GRANTS("i.initprivs")} AS initial, ${GRANTS("a.attacl")} AS current
       FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_init_privs i ON i.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND i.objoid = c.oid AND i.objsubid = a.attnum
      WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS DISTINCT FROM i.initprivs
        AND (n.nspname = 'pg_catalog'
             OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid AND e.deptype = 'e'))
      ORDER BY 1, a.attnum`,
  );
  for (const row of rows) changed.push({ on: row.on, column: row.column, initial: row.initial ?? [], current: row.current ?? [] });
  return changed;
}

/**
 * The schemas of a database that are neither the system's nor an extension's, whose privileges
 * differ from the built-in default: an in-place restore keeps such a schema (it is in the archive,
 * or holds an extension) and must bring it back to the default before the archive's GRANTs run.
 */
export async function readChangedSchemaPrivileges(client: pg.ClientBase): Promise<ChangedInitialAccess[]> {
  const { rows } = await client.query<{ name: string; initial: Grant[] | null; current: Grant[] | null }>(
    `SELECT n.nspname AS name, ${GRANTS("pg_catalog.acldefault('n', n.nspowner)")} AS initial, ${GRANTS("n.nspacl")} AS current
       FROM pg_catalog.pg_namespace n
      WHERE n.nspacl IS NOT NULL AND n.nspacl IS DISTINCT FROM pg_catalog.acldefault('n', n.nspowner)
        AND ${userSchema("n")} AND ${notExtensionMember("pg_namespace", "n.oid")}
      ORDER BY 1`,
  );
  return rows.map((r) => ({ on: `SCHEMA ${quoteIdent(r.name)}`, column: null, initial: r.initial ?? [], current: r.current ?? [] }));
}
