// What exists, as pg_dump's getSchemaData reads it: the database's objects read through the backup's
// snapshot by each family module (objects/) in one documented order, their dependencies from
// pg_depend, then handed to the plan (plan/: selection, sections, order) and returned as the
// SchemaDump the archive writer consumes. Refuses databases it cannot reproduce.
import type pg from "pg";
import { BackupError, UnsupportedObjectsError } from "../errors.ts";
import { aclChanges, type Access } from "./grants.ts";
import { Comments, readComments } from "./comments.ts";
import type { NamedObject } from "./kinds.ts";
import type { SchemaDump, SequenceValue } from "./model.ts";
import { constraintNodes, readConstraints, readIndexes, readRules, readStatistics, readTriggers, type ConstraintDef, type IndexDef,
  type RuleDef, type StatisticsDef, type TriggerDef } from "./objects/constraints.ts";
import { conversionNodes, readConversions, type ConversionDef } from "./objects/conversions.ts";
import { databaseNodes, databaseSetting, extensionConfigData, readDatabaseAccess, readDatabaseSettings, readEventTriggers,
  readExtensionConfig, readExtensions, readLargeObjects, readPublications, readSchemas, type EventTriggerDef, type ExtensionConfigDef,
  type ExtensionDef, type LargeObjectDef, type PublicationDef, type SchemaDef } from "./objects/database.ts";
import { foreignDataNodes, readForeignData, type ForeignDataWrapperDef, type ForeignServerDef,
  type UserMappingDef } from "./objects/foreign-data.ts";
import { operatorNodes, readAccessMethods, readOperatorClasses, readOperators, type AccessMethodDef, type OperatorClassDef,
  type OperatorDef, type OperatorFamilyDef } from "./objects/operators.ts";
import { readAggregates, readCasts, readFunctions, readLanguages, readTransforms, routineNodes, type AggregateDef, type CastDef,
  type FunctionDef, type LanguageDef, type TransformDef } from "./objects/routines.ts";
import { createRole, defaultPrivileges, defaultPrivilegesRef, findUnrestorableOwners, readAccess, readChangedInitialPrivileges,
  readDefaultPrivileges, readPolicies, readRoles, readRolesOfPoliciesAndMappings, roleMemberships, securityNodes, type ChangedInitialAccess,
  type DefaultPrivilegeDef, type PolicyDef } from "./objects/security.ts";
import { readSequences, readSequenceValues, readTables, readViews, tableData, tableNodes, type SequenceDef, type TableDef,
  type ViewDef } from "./objects/tables.ts";
import { readTextSearch, readTextSearchParsers, readTextSearchTemplates, textSearchNodes, type TextSearchConfigurationDef,
  type TextSearchDictionaryDef, type TextSearchParserDef, type TextSearchTemplateDef } from "./objects/text-search.ts";
import { readBaseTypes, readCollations, readComposites, readDomains, readEnums, readRanges, readShellTypes, typeNodes, type BaseTypeDef,
  type CollationDef, type CompositeDef, type DomainConstraintDef, type DomainDef, type EnumDef, type RangeDef,
  type ShellTypeDef } from "./objects/types.ts";
import type { DumpNode } from "./plan/nodes.ts";
import { planArchive, type PlanOptions } from "./plan/plan.ts";
import { scope } from "./plan/select.ts";
import { qualify } from "./quote.ts";
import { RELATION_KINDS } from "./registry.ts";
import { CATALOG, isLockTimeout, notExtensionMember, rows, sqlState, userSchema } from "./sql.ts";

/** What a backup takes from the database; everything, and refusing what it cannot reproduce, by default. */
export interface SchemaOptions extends PlanOptions {
  /** How long to wait for each table's ACCESS SHARE lock (0 waits forever); default 30 s. */
  lockTimeoutMs?: number;
  /** Leave out objects this version cannot reproduce, listing them in `skipped`, instead of refusing. */
  skipUnsupported?: boolean;
  /** Create the roles that own objects, are granted privileges or are named by policies, where missing (no passwords). */
  roles?: boolean;
  /** The database's ALTER DATABASE … SET and ALTER ROLE … IN DATABASE … SET settings. */
  databaseSettings?: boolean;
}

/**
 * Read the database's schema inside the snapshot that `beginSnapshot` opened. Locks every table
 * first (ACCESS SHARE, as pg_dump does): the pg_get_*def functions read the current catalog, not
 * the snapshot, and the locks keep a concurrent ALTER or DROP from changing it under us.
 */
export async function readSchema(client: pg.ClientBase, options: SchemaOptions = {}): Promise<SchemaDump> {
  await lockTables(client, options.lockTimeoutMs ?? 30_000);
  const catalog = await readCatalog(client);
  const refused = (await refusedObjects(client, catalog)).map((o) => `${o.kind} ${o.name}`);
  if (refused.length > 0 && !options.skipUnsupported) throw new UnsupportedObjectsError(refused);
  const sequences = await readSequenceValues(client, [
    ...catalog.sequences,
    ...catalog.identitySequences,
    ...catalog.extensionConfig.filter((c) => c.sequence),
  ]);
  const access = options.privileges || options.roles ? await readAccess(client) : undefined;
  const defaults = options.privileges ? await readDefaultPrivileges(client) : [];
  // Privileges of objects the archive does not create (extension members, pg_catalog's), as changes from where they start.
  const initialChanges = options.privileges ? await readChangedInitialPrivileges(client) : [];
  const dump = planCatalog(catalog, sequences, options, refused, access);
  const named = rolesNamed(dump.accessUsed, defaults, initialChanges);
  const roles = options.roles ? await readRoles(client, [...named]) : [];
  const settings = options.databaseSettings ? await readDatabaseSettings(client) : [];
  const { accessUsed: _, ...schema } = dump;
  const needed = new Set([...(options.privileges ? named : []), ...(await readRolesOfPoliciesAndMappings(client))]);
  return {
    ...schema,
    warnings: options.privileges ? await findUnrestorableOwners(client) : [],
    ...(options.privileges ? { database: await readDatabaseAccess(client) } : {}),
    preData: [...roles.flatMap(createRole), ...roles.flatMap(roleMemberships), ...settings.map(databaseSetting), ...schema.preData],
    // After every object exists: default privileges last, so that no object the archive creates picks them up.
    postData: [...schema.postData, ...initialChanges.flatMap((c) => aclChanges(c.on, c.column, c.initial, c.current)),
      ...defaults.flatMap(defaultPrivileges)],
    objects: [...schema.objects, ...defaults.map(defaultPrivilegesRef)],
    roles: [...needed].sort(),
  };
}

function rolesNamed(accesses: Access[], defaults: DefaultPrivilegeDef[], initialChanges: ChangedInitialAccess[]): Set<string> {
  const names = new Set<string>();
  for (const c of initialChanges) for (const g of c.current) if (g.grantee !== null) names.add(g.grantee);
  for (const a of accesses) {
    names.add(a.owner);
    for (const g of [...(a.grants ?? []), ...a.columns.flatMap((c) => c.grants)]) if (g.grantee !== null) names.add(g.grantee);
  }
  for (const d of defaults) {
    names.add(d.role);
    for (const g of d.grants) if (g.grantee !== null) names.add(g.grantee);
  }
  return names;
}

/**
 * Tables only, as pg_dump: locking a view would lock its base tables with the view owner's rights,
 * which fails (even for a superuser) when that owner may not read them.
 */
async function lockTables(client: pg.ClientBase, timeoutMs: number): Promise<void> {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
    throw new BackupError(`lockTimeoutMs must be a whole number of milliseconds (0 waits forever), got ${timeoutMs}`);
  }
  await client.query(`SET LOCAL lock_timeout = '${timeoutMs}ms'`);
  const relations = await rows<{ schema: string; name: string }>(
    client,
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}
      ORDER BY 1, 2`,
  );
  for (const relation of relations) {
    const name = qualify(relation.schema, relation.name);
    try {
      await client.query(`LOCK TABLE ${name} IN ACCESS SHARE MODE`);
    } catch (error) {
      if (isLockTimeout(error)) {
        throw new BackupError(
          `Could not lock table ${name} within ${timeoutMs} ms: another session holds a conflicting lock on it ` +
            `(e.g. a migration or ALTER TABLE in progress). Retry the backup later, or raise the lock timeout.`,
          { cause: error },
        );
      }
      if (sqlState(error) === "42P01") {
        throw new BackupError(`Table ${name} was dropped while the backup started; retry the backup.`, { cause: error });
      }
      throw error;
    }
  }
}

/** Everything read, family by family. */
export interface Catalog {
  schemas: SchemaDef[];
  extensions: ExtensionDef[];
  extensionConfig: ExtensionConfigDef[];
  collations: CollationDef[];
  enums: EnumDef[];
  domains: DomainDef[];
  /** Domain constraints added NOT VALID: after the data, which they were never checked against. */
  domainConstraints: DomainConstraintDef[];
  composites: CompositeDef[];
  ranges: RangeDef[];
  baseTypes: BaseTypeDef[];
  shellTypes: ShellTypeDef[];
  functions: FunctionDef[];
  aggregates: AggregateDef[];
  casts: CastDef[];
  languages: LanguageDef[];
  transforms: TransformDef[];
  accessMethods: AccessMethodDef[];
  operators: OperatorDef[];
  operatorFamilies: OperatorFamilyDef[];
  operatorClasses: OperatorClassDef[];
  conversions: ConversionDef[];
  textSearchParsers: TextSearchParserDef[];
  textSearchTemplates: TextSearchTemplateDef[];
  textSearchDictionaries: TextSearchDictionaryDef[];
  textSearchConfigurations: TextSearchConfigurationDef[];
  wrappers: ForeignDataWrapperDef[];
  servers: ForeignServerDef[];
  userMappings: UserMappingDef[];
  /** Credentials the archive leaves out (see foreign-data.ts), named for the backup's result. */
  secretsLeftOut: string[];
  /** Sequences created on their own (standalone and serial), not by an identity column. */
  sequences: SequenceDef[];
  identitySequences: SequenceDef[];
  tables: TableDef[];
  views: ViewDef[];
  /** Primary keys, unique keys, exclusion and foreign keys and NOT VALID checks: added after the data. */
  constraints: ConstraintDef[];
  indexes: IndexDef[];
  statistics: StatisticsDef[];
  triggers: TriggerDef[];
  rules: RuleDef[];
  policies: PolicyDef[];
  eventTriggers: EventTriggerDef[];
  publications: PublicationDef[];
  largeObjects: LargeObjectDef[];
  /** `classid:objid` → `classid:objid`: what depends on what (normal, automatic, internal). */
  depends: Array<[from: string, to: string]>;
  /** `classid:objid` of every extension member → OID of its extension. */
  members: Map<string, number>;
  comments: Comments;
}

/**
 * Each family reads its kinds, in this order: a reader that needs another's objects comes after it
 * (constraints, indexes, triggers, rules, statistics and policies after the tables and views; the
 * tables after the sequences, for their identity columns).
 */
async function readCatalog(client: pg.ClientBase): Promise<Catalog> {
  const comments = await readComments(client);
  const schemas = await readSchemas(client, comments);
  const extensions = await readExtensions(client, comments);
  const extensionConfig = await readExtensionConfig(client);
  const types = {
    collations: await readCollations(client, comments),
    enums: await readEnums(client, comments),
    domains: await readDomains(client, comments),
    composites: await readComposites(client, comments),
    ranges: await readRanges(client, comments),
    baseTypes: await readBaseTypes(client, comments),
    shellTypes: await readShellTypes(client, comments),
  };
  const routines = {
    functions: await readFunctions(client, comments),
    aggregates: await readAggregates(client, comments),
    casts: await readCasts(client, comments),
    languages: await readLanguages(client, comments),
    transforms: await readTransforms(client, comments),
  };
  const { families: operatorFamilies, classes: operatorClasses } = await readOperatorClasses(client, comments);
  const operators = { accessMethods: await readAccessMethods(client, comments), operators: await readOperators(client, comments),
    operatorFamilies, operatorClasses };
  const { dictionaries: textSearchDictionaries, configurations: textSearchConfigurations } = await readTextSearch(client, comments);
  const textSearch = {
    textSearchParsers: await readTextSearchParsers(client, comments),
    textSearchTemplates: await readTextSearchTemplates(client, comments),
    textSearchDictionaries,
    textSearchConfigurations,
  };
  const secretsLeftOut: string[] = [];
  const foreignData = await readForeignData(client, comments, secretsLeftOut);
  const allSequences = await readSequences(client, comments);
  const tables = await readTables(client, comments, allSequences);
  const views = await readViews(client, comments);
  const tableOids = tables.map((t) => t.oid);
  const constraints = await readConstraints(client, comments, tables);
  for (const table of tables) {
    // A partition is created on its own before it is attached, so it needs its inherited checks too.
    table.checks = constraints.filter((c) =>
      c.tableOid === table.oid && c.type === "c" && c.validated && (c.local || table.partitionOf !== undefined)
    );
    table.parts.push(
      ...constraints.filter((c) => c.tableOid === table.oid && c.type === "c" && c.validated).map((
        c,
      ): [number, number] => [CATALOG.pg_constraint, c.oid]),
    );
  }
  const relationOids = [...tableOids, ...views.map((v) => v.oid)];
  return {
    schemas,
    extensions,
    extensionConfig,
    ...types,
    ...routines,
    ...operators,
    conversions: await readConversions(client, comments),
    ...textSearch,
    ...foreignData,
    secretsLeftOut,
    sequences: allSequences.filter((s) => !s.owner?.identity),
    identitySequences: allSequences.filter((s) => s.owner?.identity),
    tables,
    views,
    // Inherited copies come back with the parent's constraint, except a partition's keys, which are
    // created on the partition and attached (as pg_dump does).
    constraints: constraints.filter((c) =>
      (c.type !== "c" || !c.validated) && (c.local || c.type === "p" || c.type === "u" || c.type === "x" || c.validates !== undefined)
    ),
    domainConstraints: types.domains.flatMap((d) => d.constraints.filter((c) => !c.validated)),
    indexes: await readIndexes(client, comments, relationOids),
    statistics: await readStatistics(client, comments, relationOids),
    triggers: await readTriggers(client, comments, relationOids),
    rules: await readRules(client, comments, relationOids),
    policies: await readPolicies(client, comments, tableOids),
    eventTriggers: await readEventTriggers(client, comments),
    publications: await readPublications(client, comments),
    largeObjects: await readLargeObjects(client, comments),
    ...(await readDependencies(client)),
    comments,
  };
}

/** pg_depend: what depends on what among the objects users made, and which objects belong to an extension. */
async function readDependencies(client: pg.ClientBase): Promise<Pick<Catalog, "depends" | "members">> {
  const depends = (
    await rows<{ classid: number; objid: number; refclassid: number; refobjid: number }>(
      client,
      `SELECT classid, objid, refclassid, refobjid FROM pg_catalog.pg_depend
        WHERE deptype IN ('n', 'a', 'i') AND objid >= 16384 AND refobjid >= 16384`,
    )
  ).map((d): [string, string] => [`${d.classid}:${d.objid}`, `${d.refclassid}:${d.refobjid}`]);
  const members = new Map(
    (
      await rows<{ classid: number; objid: number; refobjid: number }>(
        client,
        `SELECT classid, objid, refobjid FROM pg_catalog.pg_depend
          WHERE deptype = 'e' AND refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass`,
      )
    ).map((m) => [`${m.classid}:${m.objid}`, m.refobjid]),
  );
  return { depends, members };
}

/** Every family's nodes (pg_dump's dumpable objects). */
function buildNodes(catalog: Catalog): DumpNode[] {
  return [
    ...databaseNodes(catalog),
    ...typeNodes(catalog),
    ...routineNodes(catalog),
    ...operatorNodes(catalog),
    ...conversionNodes(catalog),
    ...textSearchNodes(catalog),
    ...foreignDataNodes(catalog),
    ...tableNodes(catalog),
    ...constraintNodes(catalog),
    ...securityNodes(catalog),
  ];
}

/**
 * The archive's schema from what was read, without a server: the families' nodes through the plan.
 * With `access`, the owners and grants of the objects kept are collected, and written when
 * `privileges` asks.
 */
export function planCatalog(
  catalog: Catalog,
  sequences: SequenceValue[],
  options: SchemaOptions,
  skipped: string[],
  access: Map<string, Access> | undefined,
): Omit<SchemaDump, "roles" | "warnings"> & { accessUsed: Access[] } {
  // An extension's configuration rows are replaced only where the backup has them.
  const inScope = scope(options);
  const config = catalog.extensionConfig.filter((c) =>
    !inScope.schemaOut(c.schema) && !inScope.tableOut(`${c.schema}.${c.name}`) &&
    (c.sequence || !(options.excludeTableData ?? []).includes(`${c.schema}.${c.name}`))
  );
  const { pg_class, pg_extension } = CATALOG;
  const plan = planArchive({
    nodes: buildNodes({ ...catalog, extensionConfig: config }),
    depends: catalog.depends,
    members: new Map([...catalog.members].map(([member, extension]) => [member, `${pg_extension}:${extension}`])),
    relations: new Set([...catalog.tables, ...catalog.views, ...catalog.sequences].map((r) => `${r.schema}.${r.name}`)),
    relationKinds: RELATION_KINDS,
    // Rows live in the leaf partitions, which are loaded directly, as pg_dump does.
    tables: catalog.tables.filter((t) => t.partitionKey === undefined && t.foreign === undefined).map((t) => ({
      key: `${pg_class}:${t.oid}`,
      schema: t.schema,
      name: t.name,
      data: tableData(t),
      references: catalog.constraints.filter((c) => c.type === "f" && c.tableOid === t.oid).map((c) => `${pg_class}:${c.referencedOid}`),
    })),
  }, options, access);
  const keptSequences = new Set([
    ...plan.objects.filter((r) => r.kind === "sequence").map((r) => qualify(r.schema, r.name)),
    ...config.filter((c) => c.sequence).map((c) => qualify(c.schema, c.name)),
  ]);
  return {
    preData: plan.preData,
    // Configuration rows first: the user's tables may reference them.
    tables: [...config.filter((c) => !c.sequence).map(extensionConfigData), ...plan.tables],
    sequences: sequences.filter((s) => keptSequences.has(s.qualifiedName)),
    postData: plan.postData,
    objects: plan.objects,
    extensions: catalog.extensions.map((e) => ({ name: e.name, version: e.version, schema: e.schema })),
    skipped: [...skipped, ...catalog.secretsLeftOut],
    accessUsed: plan.accessUsed,
  };
}

/**
 * What this version cannot reproduce yet, one query per catalog, each row `kind` + `name`.
 * Extension members are excluded everywhere: CREATE EXTENSION brings them back.
 */
const UNSUPPORTED_CHECKS: readonly string[] = [
  `SELECT 'user mapping whose options this role may not read (back up as a superuser or the server owner)' AS kind,
          pg_catalog.format('for %s server %s', CASE WHEN u.umuser <> 0 THEN u.usename ELSE 'PUBLIC' END, u.srvname) AS name
     FROM pg_catalog.pg_user_mappings u JOIN pg_catalog.pg_foreign_server s ON s.oid = u.srvid
    WHERE NOT ((u.umuser <> 0 AND u.usename = current_user AND (pg_catalog.pg_has_role(s.srvowner, 'USAGE') OR pg_catalog.has_server_privilege(s.oid, 'USAGE')))
               OR (u.umuser = 0 AND pg_catalog.pg_has_role(s.srvowner, 'USAGE'))
               OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user))`,
  `SELECT 'relation in a non-default tablespace' AS kind, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.reltablespace <> 0 AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  `SELECT 'invalid index (left by a failed CREATE INDEX CONCURRENTLY: drop or REINDEX it)' AS kind,
          pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
     FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT i.indisvalid AND c.relkind = 'i' AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  `SELECT 'subscription' AS kind, pg_catalog.quote_ident(subname) AS name FROM pg_catalog.pg_subscription
    WHERE subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())`,
  `SELECT 'security label on' AS kind, pg_catalog.pg_describe_object(classoid, objoid, objsubid) AS name FROM pg_catalog.pg_seclabel`,
];

/** What no archive of this version can hold: the objects UNSUPPORTED_CHECKS finds, and comments no reader claimed. */
async function refusedObjects(client: pg.ClientBase, catalog: Catalog): Promise<NamedObject[]> {
  const found: NamedObject[] = [];
  for (const sql of UNSUPPORTED_CHECKS) {
    for (const row of await rows<{ kind: string; name: string }>(client, sql)) found.push({ kind: row.kind, schema: "", name: row.name });
  }
  const named = (o: NamedObject) => `${o.kind} ${o.name}`;
  found.sort((a, b) => (named(a) < named(b) ? -1 : named(a) > named(b) ? 1 : 0));
  return [...found, ...catalog.comments.unclaimed(catalog.members).map((what) => ({ kind: "comment on", schema: "", name: what }))];
}

/**
 * What an in-place restore would destroy in the database `client` is connected to that no archive
 * of ours holds, whatever the backup (with skip_unsupported the backup left them out; the
 * pre-restore backup would too): nothing could bring them back. Subscriptions are left alone by a
 * restore, so they are not among them.
 */
export async function unrecoverableObjects(client: pg.ClientBase): Promise<NamedObject[]> {
  // Named as a backup names them: with an empty search_path, everything qualified (for the caller's transaction only, then put back).
  const path = (await rows<{ path: string }>(client, "SELECT pg_catalog.current_setting('search_path') AS path"))[0]?.path ?? "";
  await client.query("SELECT pg_catalog.set_config('search_path', '', true)");
  const lost = (await refusedObjects(client, await readCatalog(client))).filter((o) => o.kind !== "subscription");
  await client.query("SELECT pg_catalog.set_config('search_path', $1, true)", [path]);
  return lost;
}
