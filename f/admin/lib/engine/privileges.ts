// Reads who owns what and who may do what (owners, GRANTs incl. column grants, default privileges),
// the roles those name, and the database's own settings (ALTER DATABASE … SET): the parts of a
// database that the dump writes only when asked, as they need the same roles on the restoring server.
import type pg from "pg";

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

const GRANTS = (acl: string) => `(
  SELECT pg_catalog.json_agg(pg_catalog.json_build_object('grantee', g.grantee, 'privileges', g.privileges, 'grantable', g.grantable) ORDER BY g.grantee, g.grantable)
    FROM (SELECT CASE WHEN a.grantee <> 0 THEN pg_catalog.pg_get_userbyid(a.grantee) END AS grantee,
                 a.is_grantable AS grantable, pg_catalog.array_agg(a.privilege_type ORDER BY a.privilege_type) AS privileges
            FROM pg_catalog.aclexplode(${acl}) a GROUP BY 1, 2) g)`;

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

const DEFAULT_ACL_OBJECTS: Record<string, string> = { r: "TABLES", S: "SEQUENCES", f: "FUNCTIONS", T: "TYPES", n: "SCHEMAS" };

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
