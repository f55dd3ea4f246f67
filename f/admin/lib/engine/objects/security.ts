// The security family: row-level security and policies, default privileges, the owners and grants
// of every object (written by the plan when privileges are asked for), the privileges of objects the
// archive does not create (extension members, pg_catalog's), and the roles all of those name.
import type pg from "pg";
import type { Comments } from "../comments.ts";
import { grantee, type Access, type AccessByObject, type Grant } from "../grants.ts";
import type { OwnObject } from "../kinds.ts";
import { memberLabel, node, ref, type DumpNode } from "../plan/nodes.ts";
import { dollarQuote, qualify, quoteIdent, quoteLiteral } from "../quote.ts";
import { CATALOG, commentOn, notExtensionMember, rows, userSchema } from "../sql.ts";
import type { TableDef } from "./tables.ts";

export interface PolicyDef {
  oid: number;
  schema: string;
  table: string;
  name: string;
  definition: string;
  comment?: string;
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

const POLICY_COMMAND: Record<string, string> = { r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE", "*": "ALL" };

export async function readPolicies(client: pg.ClientBase, comments: Comments, tableOids: number[]): Promise<PolicyDef[]> {
  const found = await rows<{
    oid: number;
    schema: string;
    table: string;
    name: string;
    permissive: boolean;
    command: string;
    roles: string[];
    qual: string | null;
    check: string | null;
  }>(
    client,
    `SELECT p.oid, n.nspname AS schema, c.relname AS table, p.polname AS name, p.polpermissive AS permissive, p.polcmd AS command,
            ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END
                    FROM pg_catalog.unnest(p.polroles) r ORDER BY 1) AS roles,
            pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS qual, pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS check
       FROM pg_catalog.pg_policy p
       JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE p.polrelid = ANY($1::pg_catalog.oid[])`,
    [tableOids],
  );
  return found.map((p) => ({
    oid: p.oid,
    schema: p.schema,
    table: p.table,
    name: p.name,
    definition: `CREATE POLICY ${quoteIdent(p.name)} ON ${qualify(p.schema, p.table)}${p.permissive ? "" : " AS RESTRICTIVE"}` +
      ` FOR ${POLICY_COMMAND[p.command] ?? "ALL"}${p.roles.join() === "PUBLIC" ? "" : ` TO ${p.roles.join(", ")}`}` +
      `${p.qual === null ? "" : ` USING (${p.qual})`}${p.check === null ? "" : ` WITH CHECK (${p.check})`}`,
    comment: comments.take(CATALOG.pg_policy, p.oid),
  }));
}

/**
 * The grants of an ACL in the order its items have (the order of the GRANTs that made them): granted
 * again in that order, they give the same ACL, so `\dp` shows the same text.
 */
export const GRANTS = (acl: string) =>
  `(
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
    const { rows } = await client.query<
      { classid: number; oid: number; owner: string; grants: Grant[] | null; columns: Access["columns"] | null }
    >(
      `SELECT '${catalog}'::pg_catalog.regclass::pg_catalog.oid AS classid, x.oid,
              pg_catalog.pg_get_userbyid(x.${owner}) AS owner,
              ${acl === null ? "NULL" : `CASE WHEN x.${acl} IS NOT NULL THEN COALESCE(${GRANTS(`x.${acl}`)}, '[]') END`} AS grants,
              ${
        catalog === "pg_class"
          ? `(SELECT pg_catalog.json_agg(pg_catalog.json_build_object('column', a.attname, 'grants', ${
            GRANTS("a.attacl")
          }) ORDER BY a.attnum)
                      FROM pg_catalog.pg_attribute a WHERE a.attrelid = x.oid AND a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped)`
          : "NULL"
      } AS columns
         FROM pg_catalog.${catalog} x WHERE x.oid >= 16384 OR '${catalog}' IN ('pg_namespace', 'pg_largeobject_metadata')`,
    );
    for (const row of rows) result.set(`${row.classid}:${row.oid}`, { owner: row.owner, grants: row.grants, columns: row.columns ?? [] });
  }
  return result;
}

const DEFAULT_ACL_OBJECTS: Record<string, string> = { r: "TABLES", S: "SEQUENCES", f: "FUNCTIONS", T: "TYPES", n: "SCHEMAS",
  L: "LARGE OBJECTS" };

/** How manifests, previews and in-place restores name one role's default privileges for one kind of object (in one schema). */
export function defaultPrivilegesRef(
  defaults: Pick<DefaultPrivilegeDef, "role" | "schema" | "objects">,
): { kind: "default privileges"; schema: string; name: string } {
  return { kind: "default privileges", schema: defaults.schema ?? "",
    name: `for role ${defaults.role} on ${defaults.objects.toLowerCase()}` };
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

/** Per catalog: the keyword GRANT takes, its name as SQL (in `x`), its namespace column, acl and owner, and acldefault's letter. */
const INITIAL_PRIVILEGE_CATALOGS: ReadonlyArray<
  { catalog: string; on: string; namespace: string | null; acl: string; owner: string; type: string }
> = [
  {
    catalog: "pg_class",
    namespace: "x.relnamespace",
    acl: "x.relacl",
    owner: "x.relowner",
    on:
      `CASE WHEN x.relkind = 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(x.relname)`,
    type: `CASE WHEN x.relkind = 'S' THEN 's' ELSE 'r' END`,
  },
  {
    catalog: "pg_proc",
    namespace: "x.pronamespace",
    acl: "x.proacl",
    owner: "x.proowner",
    type: "'f'",
    on:
      `CASE WHEN x.prokind = 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(x.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(x.oid) || ')'`,
  },
  {
    catalog: "pg_type",
    namespace: "x.typnamespace",
    acl: "x.typacl",
    owner: "x.typowner",
    type: "'T'",
    on: `'TYPE ' || pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(x.typname)`,
  },
  { catalog: "pg_namespace", namespace: null, acl: "x.nspacl", owner: "x.nspowner", type: "'n'",
    on: `'SCHEMA ' || pg_catalog.quote_ident(x.nspname)` },
  { catalog: "pg_language", namespace: null, acl: "x.lanacl", owner: "x.lanowner", type: "'l'",
    on: `'LANGUAGE ' || pg_catalog.quote_ident(x.lanname)` },
  { catalog: "pg_foreign_data_wrapper", namespace: null, acl: "x.fdwacl", owner: "x.fdwowner", type: "'F'",
    on: `'FOREIGN DATA WRAPPER ' || pg_catalog.quote_ident(x.fdwname)` },
  { catalog: "pg_foreign_server", namespace: null, acl: "x.srvacl", owner: "x.srvowner", type: "'S'",
    on: `'FOREIGN SERVER ' || pg_catalog.quote_ident(x.srvname)` },
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
    const member =
      `EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = '${c.catalog}'::pg_catalog.regclass AND e.objid = x.oid AND e.deptype = 'e')`;
    const builtIn = c.namespace === null
      ? (c.catalog === "pg_namespace" ? "x.nspname = 'pg_catalog'" : c.catalog === "pg_language" ? "x.oid < 16384" : "false")
      : "n.nspname = 'pg_catalog'";
    const initial =
      `(SELECT i.initprivs FROM pg_catalog.pg_init_privs i WHERE i.classoid = '${c.catalog}'::pg_catalog.regclass AND i.objoid = x.oid AND i.objsubid = 0)`;
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

/**
 * Objects whose owner must be a superuser but no longer is (the role lost SUPERUSER after creating
 * them): the archive's ALTER … OWNER TO would fail, so the backup says so when it is made.
 */
export async function findUnrestorableOwners(client: pg.ClientBase): Promise<string[]> {
  const found = await rows<{ what: string; owner: string }>(
    client,
    `SELECT pg_catalog.format('event trigger %I', e.evtname) AS what, pg_catalog.pg_get_userbyid(e.evtowner) AS owner
       FROM pg_catalog.pg_event_trigger e JOIN pg_catalog.pg_roles r ON r.oid = e.evtowner
      WHERE NOT r.rolsuper AND ${notExtensionMember("pg_event_trigger", "e.oid")}
     UNION ALL
     SELECT pg_catalog.format('foreign-data wrapper %I', w.fdwname), pg_catalog.pg_get_userbyid(w.fdwowner)
       FROM pg_catalog.pg_foreign_data_wrapper w JOIN pg_catalog.pg_roles r ON r.oid = w.fdwowner
      WHERE NOT r.rolsuper AND ${notExtensionMember("pg_foreign_data_wrapper", "w.oid")}
      ORDER BY 1`,
  );
  return found.map(({ what, owner }) =>
    `${what} is owned by ${
      quoteIdent(owner)
    }, which is not a superuser: restoring its owner will fail (PostgreSQL requires a superuser). ` +
    `Make ${quoteIdent(owner)} a superuser again or give the object to one (ALTER … OWNER TO), then back up again.`
  );
}

/** Row-level security is switched on after the data, so that loading it never meets a policy. */
export function rowSecurity(table: TableDef): string[] {
  const name = qualify(table.schema, table.name);
  return [
    ...(table.rowSecurity ? [`ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY;`] : []),
    ...(table.forceRowSecurity ? [`ALTER TABLE ONLY ${name} FORCE ROW LEVEL SECURITY;`] : []),
  ];
}

export function createPolicy(policy: PolicyDef): string[] {
  return [
    `${policy.definition};`,
    ...commentOn(`POLICY ${quoteIdent(policy.name)} ON ${qualify(policy.schema, policy.table)}`, policy.comment),
  ];
}

/**
 * A role's defaults everywhere replace the built-in ones (so they are revoked first); in a schema
 * they add to them.
 */
export function defaultPrivileges(defaults: DefaultPrivilegeDef): string[] {
  const prefix = `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(defaults.role)}${
    defaults.schema === null ? "" : ` IN SCHEMA ${quoteIdent(defaults.schema)}`
  }`;
  return [
    ...(defaults.schema === null
      ? [`${prefix} REVOKE ALL ON ${defaults.objects} FROM PUBLIC;`,
        `${prefix} REVOKE ALL ON ${defaults.objects} FROM ${quoteIdent(defaults.role)};`]
      : []),
    ...defaults.grants.map((g) =>
      `${prefix} GRANT ${g.privileges.join(", ")} ON ${defaults.objects} TO ${grantee(g)}${g.grantable ? " WITH GRANT OPTION" : ""};`
    ),
  ];
}

/**
 * Statements that remove a role's default privileges (in one schema, or everywhere): every grantee's
 * are revoked, and everywhere the built-in ones are granted back, at which point PostgreSQL drops the
 * entry. What a new database has, so that objects an in-place restore creates pick up nothing extra.
 */
export function resetDefaultPrivileges(defaults: DefaultPrivilegeDef): string[] {
  const prefix = `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(defaults.role)}${
    defaults.schema === null ? "" : ` IN SCHEMA ${quoteIdent(defaults.schema)}`
  }`;
  const everyone = [...new Set(defaults.grants.map(grantee))];
  const builtIn = defaults.schema !== null
    ? []
    : [quoteIdent(defaults.role), ...(["FUNCTIONS", "TYPES"].includes(defaults.objects) ? ["PUBLIC"] : [])];
  return [
    ...everyone.map((who) => `${prefix} REVOKE ALL ON ${defaults.objects} FROM ${who} CASCADE;`),
    ...builtIn.map((who) => `${prefix} GRANT ALL ON ${defaults.objects} TO ${who};`),
  ];
}

/** Created only where missing (a restore on the same server keeps its roles as they are); never a password. */
export function createRole(role: RoleDef): string[] {
  const body = `BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(role.name)}) THEN ` +
    `CREATE ROLE ${quoteIdent(role.name)} WITH ${role.attributes}; END IF; END`;
  return [`DO ${dollarQuote(body, "role")};`];
}

export function roleMemberships(role: RoleDef): string[] {
  return role.memberOf.map((parent) => `GRANT ${quoteIdent(parent)} TO ${quoteIdent(role.name)};`);
}

/** Row-level security switched on after the data, then the policies. */
export function securityNodes(c: { tables: TableDef[]; policies: PolicyDef[] }): DumpNode[] {
  const { pg_class, pg_policy } = CATALOG;
  return [
    ...c.tables.flatMap((t) =>
      t.rowSecurity || t.forceRowSecurity ?
        [
          node("row-security", `row-security:${t.oid}`, qualify(t.schema, t.name), rowSecurity(t), [], [], [[pg_class, t.oid]]),
        ] :
        []
    ),
    ...c.policies.map((p) =>
      node("policy", `${pg_policy}:${p.oid}`, memberLabel(p.schema, p.table, p.name), createPolicy(p), [[pg_policy, p.oid]], [
        ref("policy", p.schema, p.name, p.table),
      ])
    ),
  ];
}

/** Default privileges first: no object the restore creates may pick them up. */
export async function listDefaultPrivileges(client: pg.ClientBase): Promise<OwnObject[]> {
  return (await readDefaultPrivileges(client)).map((d) => ({ ...defaultPrivilegesRef(d), drop: resetDefaultPrivileges(d).join(" ") }));
}
