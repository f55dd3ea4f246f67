// Reads what a database holds, through the backup's snapshot transaction, into typed definitions
// with their dependencies from pg_depend; then orders them (order.ts), renders them (emit.ts) and
// returns the SchemaDump the archive writer consumes. Refuses databases it cannot reproduce.
import type pg from "pg";
import { BackupError, UnsupportedObjectsError } from "../errors.ts";
import type { NamedObject, ObjectKind, ObjectRef } from "./kinds.ts";
import type { ExtensionRef, SchemaDump, SequenceValue, TableData } from "./model.ts";
import {
  defaultPrivilegesRef, readAccess, readChangedInitialPrivileges, readDatabaseSettings, readDefaultPrivileges, readRoles, readRolesOfPoliciesAndMappings,
  type Access, type AccessByObject, type ChangedInitialAccess, type DefaultPrivilegeDef,
} from "./privileges.ts";
import {
  addConstraint, attachIndex, attachPartition, copyStatements, createAggregate, createCast, createCollation, createComposite, createDomain,
  createForeignDataWrapper, createServer, createUserMapping, userMappingName, clearExtensionConfig, extensionConfigCopy,
  createEnum, createEventTrigger, createExtension, createFunction, createIndex, createPolicy, createPublication, createRange,
  aclChanges, createRole, createRule, createStatistics, createTextSearchConfiguration, createTextSearchDictionary, largeObjectComment, createSchema, createSequence, createTable, createTrigger, createView, databaseSetting, defaultPrivileges,
  domainConstraint, grants, ownerAndGrants, refreshMaterializedView, roleMemberships, rowSecurity, sequenceOwnedBy, setval,
} from "./emit.ts";
import { DependencyCycleError, dependencyOrder, type SortNode } from "./order.ts";
import { qualify, quoteIdent } from "./quote.ts";
import { Comments } from "./comments.ts";
import { CATALOG, isLockTimeout, notExtensionMember, notInternalPart, qualifiedName, rows, sqlState, userSchema } from "./sql.ts";
import { readDatabaseAccess } from "./database-access.ts";
import { createBaseType, createShellType, readBaseTypes, readShellTypes, type BaseTypeDef, type ShellTypeDef } from "./base-types.ts";
import { createConversion, readConversions, type ConversionDef } from "./conversions.ts";
import { createLanguage, createTransform, readLanguages, readTransforms, transformName, type LanguageDef, type TransformDef } from "./languages.ts";
import {
  createAccessMethod, createOperator, createOperatorClass, createOperatorFamily, methodScopedName, operatorName, operatorSignature, readAccessMethods,
  readOperatorClasses, readOperators, type AccessMethodDef, type OperatorClassDef, type OperatorDef, type OperatorFamilyDef,
} from "./operators.ts";
import {
  createTextSearchParser, createTextSearchTemplate, readTextSearchParsers, readTextSearchTemplates, type TextSearchParserDef, type TextSearchTemplateDef,
} from "./text-search-parts.ts";

export interface SchemaDef { oid: number; name: string; comment?: string }
export interface ExtensionDef { oid: number; name: string; version: string; schema: string; comment?: string }
export interface EnumDef { oid: number; arrayOid: number; schema: string; name: string; labels: string[]; comment?: string }
export interface FunctionDef {
  oid: number; schema: string; name: string;
  kind: "function" | "procedure";
  /** Argument types only, as ObjectRef names functions: `integer, text`. */
  argTypes: string;
  /** Arguments as COMMENT ON FUNCTION accepts them. */
  identityArgs: string;
  /** pg_get_functiondef: a complete CREATE OR REPLACE FUNCTION without the final `;`. */
  definition: string;
  comment?: string;
}
export interface AggregateDef {
  oid: number; schema: string; name: string;
  argTypes: string;
  /** pg_get_function_arguments: `text`, `double precision ORDER BY anyelement`, or "" for `(*)`. */
  args: string;
  identityArgs: string;
  /** pg_aggregate.aggkind: n normal, o ordered-set, h hypothetical-set. */
  aggKind: string;
  /** CREATE AGGREGATE's options in pg_dump's order: `KEY = value` (INITCOND values unquoted), or a flag. */
  options: Array<[key: string, value: string | true]>;
  comment?: string;
}
export interface DomainDef {
  oid: number; arrayOid: number; schema: string; name: string;
  baseType: string;
  /** Quoted collation, only when it differs from the base type's. */
  collation?: string;
  default?: string;
  /** NOT NULL without a named constraint row (PostgreSQL 16 and older). */
  notNull: boolean;
  /** Validated constraints, written inside CREATE DOMAIN (NOT NULL ones from PostgreSQL 17 included). */
  constraints: DomainConstraintDef[];
  comment?: string;
}
export interface DomainConstraintDef {
  oid: number; schema: string; domain: string; name: string; definition: string; validated: boolean; comment?: string;
}
export interface CompositeDef {
  oid: number; arrayOid: number; relOid: number; schema: string; name: string;
  columns: Array<{ name: string; type: string; collation?: string; comment?: string }>;
  comment?: string;
}
export interface RangeDef {
  oid: number; arrayOid: number; schema: string; name: string; subtype: string;
  multirange: { oid: number; arrayOid: number; schema: string; name: string };
  /** Quoted names, only when they differ from the subtype's defaults. */
  collation?: string; opclass?: string; subdiff?: string;
  /** Its canonical function (written in C, taking the range itself): the type is made a shell first, as a base type is. */
  canonical?: { oid: number; name: string };
  /** Constructor functions made by CREATE TYPE, for dependencies. */
  constructors: number[];
  comment?: string;
}
export interface CollationDef {
  oid: number; schema: string; name: string;
  /** `provider = icu, deterministic = false, locale = '…'` as CREATE COLLATION takes them. */
  options: Array<[key: string, value: string]>;
  comment?: string;
}
export interface TextSearchDictionaryDef {
  oid: number; schema: string; name: string;
  /** Quoted `schema.name` of its template. */
  template: string;
  /** pg_ts_dict.dictinitoption: the template's options as CREATE wrote them (`stopwords = 'english'`). */
  options?: string;
  comment?: string;
}
export interface TextSearchConfigurationDef {
  oid: number; schema: string; name: string;
  /** Quoted `schema.name` of its parser. */
  parser: string;
  /** One per mapped token type, in token type order; dictionaries quoted, in the order they are consulted. */
  mappings: Array<{ token: string; dictionaries: string[] }>;
  comment?: string;
}
export interface SequenceDef {
  oid: number; schema: string; name: string; unlogged: boolean; type: string;
  start: string; increment: string; min: string; max: string; cache: string; cycle: boolean;
  /** The column that owns it: a serial column (OWNED BY) or an identity column. */
  owner?: { oid: number; schema: string; table: string; column: string; identity: boolean };
  comment?: string;
}
export interface ColumnDef {
  name: string; type: string; notNull: boolean;
  /** A foreign table's column options (`column_name 'ident'`), as [key, value]. */
  fdwOptions?: Array<[key: string, value: string]>;
  /** From PostgreSQL 18 a NOT NULL is a named constraint (a partition's is named after its parent's). */
  notNullConstraint?: { name: string; noInherit: boolean };
  /** Quoted collation, only when it differs from the type's default. */
  collation?: string;
  /** Default expression, or the generation expression of a generated column. */
  default?: string;
  /** How a generated column keeps its value (virtual ones exist from PostgreSQL 18). */
  generated?: "stored" | "virtual";
  identity?: { always: boolean; sequence: SequenceDef };
  /** False for a column that only comes from an inheritance parent. */
  local: boolean;
  /** Settings written as ALTER COLUMN after CREATE TABLE, only when not the default. */
  storage?: string; compression?: string; statistics?: number; options?: string[];
  comment?: string;
}
export interface ConstraintDef {
  oid: number; schema: string; table: string; tableOid: number; name: string;
  /** n: a NOT NULL added NOT VALID (PostgreSQL 18), or an inherited one validated on this table alone. */
  type: "c" | "p" | "u" | "f" | "x" | "n";
  /** pg_get_constraintdef, e.g. `PRIMARY KEY (id)` or `CHECK ((price > 0)) NOT VALID`. */
  definition: string;
  validated: boolean;
  /** Defined on this table itself, not only inherited from a parent. */
  local: boolean;
  /** The table has partitions or inheritance children that the constraint reaches too. */
  recurse: boolean;
  /** The index behind a primary key, unique key or exclusion constraint. */
  indexOid: number;
  /** The referenced table of a foreign key. */
  referencedOid: number;
  /** ALTER TABLE … CLUSTER ON / REPLICA IDENTITY USING INDEX on the key's index. */
  clustered: boolean; replicaIdentity: boolean;
  /** The parent's NOT VALID constraint that this validated copy is made from (added first, then validated here). */
  validates?: number;
  comment?: string;
  indexComment?: string;
}
export interface TableDef {
  oid: number; rowTypeOid: number; schema: string; name: string; unlogged: boolean; options: string[];
  /** pg_get_partkeydef of a partitioned table: `RANGE (at)`. */
  partitionKey?: string;
  /** A partition: created as a table of its own, then attached as pg_dump does (keeps its column order). */
  partitionOf?: { oid: number; schema: string; name: string; bound: string };
  /** A typed table (CREATE TABLE … OF): the quoted composite type its columns come from. */
  ofType?: string;
  /** Its table access method when not heap (a partitioned table's whenever set): `USING …`. */
  accessMethod?: string;
  /** Inheritance parents (not partitioning), in inhseqno order. */
  inherits: Array<{ oid: number; schema: string; name: string }>;
  /**
   * Created alone, then joined to its parents by ALTER TABLE … INHERIT: PostgreSQL 15 refuses a
   * generation expression on a column merged in CREATE TABLE … INHERITS, but not through INHERIT.
   */
  inheritLater?: boolean;
  /** A foreign table: its server and options; its rows live elsewhere and are not dumped (as pg_dump). */
  foreign?: { server: string; options: Array<[key: string, value: string]> };
  /** pg_class.relreplident when FULL (f) or NOTHING (n); USING INDEX goes with the index. */
  replicaIdentity?: "f" | "n";
  rowSecurity: boolean; forceRowSecurity: boolean;
  columns: ColumnDef[];
  /** Validated CHECK constraints, written inside CREATE TABLE. */
  checks: ConstraintDef[];
  /** Inherited columns whose default or NOT NULL differ from the parent's: ALTER COLUMN after CREATE. */
  inheritedOverrides: Array<{ column: string; default?: string | null; notNull?: boolean }>;
  /** Catalog rows that CREATE TABLE also creates (defaults, identity sequences), for dependencies. */
  parts: Array<[classId: number, oid: number]>;
  comment?: string;
}
export interface ViewDef {
  oid: number; rowTypeOid: number; ruleOid: number; schema: string; name: string; options: string[];
  /** pg_get_viewdef: the SELECT the view runs. */
  query: string;
  columns: Array<{
    name: string; comment?: string; storage?: string; compression?: string; statistics?: number; options?: string[];
    /** ALTER VIEW … ALTER COLUMN … SET DEFAULT: what an INSERT through the view gets. */
    default?: string;
  }>;
  /** The column defaults' pg_attrdef rows, for dependencies (a default that calls a function). */
  parts: Array<[classId: number, oid: number]>;
  /** Materialized views only: refreshed after the data when the source had it populated, and their access method when not heap. */
  materialized?: { populated: boolean; accessMethod?: string };
  comment?: string;
}
export interface IndexDef {
  oid: number; schema: string; table: string; name: string; definition: string;
  clustered: boolean; replicaIdentity: boolean;
  /** The partitioned index this one is attached to. */
  parent?: { oid: number; schema: string; name: string };
  /** Statistics targets set on its expression columns (ALTER INDEX … ALTER COLUMN n SET STATISTICS). */
  columnStatistics: Array<{ column: number; target: number }>;
  comment?: string;
}
export interface StatisticsDef {
  oid: number; schema: string; name: string;
  /** The table or materialized view it describes. */
  table: { schema: string; name: string };
  /** pg_get_statisticsobjdef: `CREATE STATISTICS s.n (dependencies) ON a, lower(b) FROM s.t`, qualified. */
  definition: string;
  /** Its statistics target, only when set. */
  target?: number;
  comment?: string;
}
export interface TriggerDef {
  oid: number; schema: string; table: string; name: string; definition: string;
  /** pg_trigger.tgenabled: O fires normally, D disabled, R replica only, A always. */
  enabled: string;
  /** A partition's clone of its parent's trigger: only its state is written, when it differs. */
  clone: boolean;
  comment?: string;
}
export interface RuleDef { oid: number; schema: string; table: string; name: string; definition: string; enabled: string; comment?: string }
export interface PolicyDef { oid: number; schema: string; table: string; name: string; definition: string; comment?: string }
export interface EventTriggerDef { oid: number; name: string; event: string; tags: string[] | null; function: string; enabled: string; comment?: string }
export interface PublicationDef {
  oid: number; name: string; allTables: boolean;
  /** `publish = 'insert, update'`, `publish_via_partition_root = true`. */
  options: Array<[key: string, value: string]>;
  /** `TABLE ONLY "s"."t" (a, b) WHERE (…)` and `TABLES IN SCHEMA "s"` members. */
  members: Array<{ classId: number; oid: number; clause: string }>;
  comment?: string;
}

export interface CastDef {
  oid: number;
  /** format_type names, as CREATE CAST and DROP CAST take them. */
  source: string; target: string;
  /** pg_cast.castmethod: f a function, b binary coercible (WITHOUT FUNCTION), i I/O conversion (WITH INOUT). */
  method: "f" | "b" | "i";
  /** regprocedure of the cast function: `public.json(public.color)`. */
  function?: string;
  /** pg_cast.castcontext: e explicit only, a AS ASSIGNMENT, i AS IMPLICIT. */
  context: "e" | "a" | "i";
  comment?: string;
}
/** Generic options as [key, value]; secrets are left out by the reader (see secretOption). */
export type FdwOptions = Array<[key: string, value: string]>;
export interface ForeignDataWrapperDef { oid: number; name: string; handler?: string; validator?: string; options: FdwOptions; comment?: string }
export interface ForeignServerDef {
  oid: number; name: string; wrapper: string; type?: string; version?: string; options: FdwOptions; comment?: string;
}
export interface UserMappingDef {
  oid: number; server: string;
  /** null: the mapping FOR PUBLIC. */
  role: string | null;
  options: FdwOptions;
}

/**
 * A table or sequence an extension marked with pg_extension_config_dump: CREATE EXTENSION makes it,
 * but the rows matching `condition` (e.g. PostGIS's custom SRIDs) and the sequence's position are the
 * user's, dumped as pg_dump does.
 */
export interface ExtensionConfigDef {
  extensionOid: number; oid: number; schema: string; name: string; sequence: boolean;
  /** `WHERE …` from pg_extension.extcondition, or "" for every row. */
  condition: string;
  /** Quoted names of the columns COPY carries (generated ones left out). */
  columns: string[];
}

/**
 * Read the database's schema inside the snapshot that `beginSnapshot` opened. Locks every table
 * first (ACCESS SHARE, as pg_dump does): the pg_get_*def functions read the current catalog, not
 * the snapshot, and the locks keep a concurrent ALTER or DROP from changing it under us.
 */
/** What a backup takes from the database; everything, and refusing what it cannot reproduce, by default. */
export interface SchemaOptions {
  /** How long to wait for each table's ACCESS SHARE lock (0 waits forever); default 30 s. */
  lockTimeoutMs?: number;
  /** Only these schemas (names as PostgreSQL shows them); default all. */
  includeSchemas?: string[];
  excludeSchemas?: string[];
  /** Only these tables, views, materialized views and sequences (`schema.name`); default all. */
  includeTables?: string[];
  excludeTables?: string[];
  /** Tables (`schema.name`) whose definition is kept but whose rows are not dumped, e.g. bulky logs. */
  excludeTableData?: string[];
  /** Leave out objects this version cannot reproduce, listing them in `skipped`, instead of refusing. */
  skipUnsupported?: boolean;
  /** Owners, GRANTs (column grants too) and default privileges; the roles must exist where it is restored. */
  privileges?: boolean;
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
  await lockRelations(client, options.lockTimeoutMs ?? 30_000);
  const catalog = await readCatalog(client);
  const refused = (await refusedObjects(client, catalog)).map((o) => `${o.kind} ${o.name}`);
  if (refused.length > 0 && !options.skipUnsupported) throw new UnsupportedObjectsError(refused);
  const sequences = await readSequenceValues(client, [
    ...catalog.sequences, ...catalog.identitySequences, ...catalog.extensionConfig.filter((c) => c.sequence),
  ]);
  const access = options.privileges || options.roles ? await readAccess(client) : undefined;
  const defaults = options.privileges ? await readDefaultPrivileges(client) : [];
  // Privileges of objects the archive does not create (extension members, pg_catalog's), as changes from where they start.
  const initialChanges = options.privileges ? await readChangedInitialPrivileges(client) : [];
  const dump = assembleDump(catalog, sequences, options, refused, access);
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
    postData: [...schema.postData, ...initialChanges.flatMap((c) => aclChanges(c.on, c.column, c.initial, c.current)), ...defaults.flatMap(defaultPrivileges)],
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
async function lockRelations(client: pg.ClientBase, timeoutMs: number): Promise<void> {
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

interface Catalog {
  schemas: SchemaDef[];
  extensions: ExtensionDef[];
  collations: CollationDef[];
  enums: EnumDef[];
  domains: DomainDef[];
  composites: CompositeDef[];
  ranges: RangeDef[];
  functions: FunctionDef[];
  aggregates: AggregateDef[];
  casts: CastDef[];
  languages: LanguageDef[];
  transforms: TransformDef[];
  baseTypes: BaseTypeDef[];
  shellTypes: ShellTypeDef[];
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
  extensionConfig: ExtensionConfigDef[];
  /** Credentials the archive leaves out (see publicOptions), named for the backup's result. */
  secretsLeftOut: string[];
  /** Sequences created on their own (standalone and serial), not by an identity column. */
  sequences: SequenceDef[];
  identitySequences: SequenceDef[];
  tables: TableDef[];
  views: ViewDef[];
  /** Primary keys, unique keys, exclusion and foreign keys and NOT VALID checks: added after the data. */
  constraints: ConstraintDef[];
  /** Domain constraints added NOT VALID: after the data, which they were never checked against. */
  domainConstraints: DomainConstraintDef[];
  indexes: IndexDef[];
  statistics: StatisticsDef[];
  triggers: TriggerDef[];
  rules: RuleDef[];
  policies: PolicyDef[];
  eventTriggers: EventTriggerDef[];
  publications: PublicationDef[];
  /** Large objects by OID (their data is streamed by the dump); comments are on pg_largeobject. */
  largeObjects: Array<{ oid: number; comment?: string }>;
  /** `classid:objid` → `classid:objid`: what depends on what (normal, automatic, internal). */
  depends: Array<[from: string, to: string]>;
  /** `classid:objid` of every extension member → OID of its extension. */
  members: Map<string, number>;
  comments: Comments;
}

async function readCatalog(client: pg.ClientBase): Promise<Catalog> {
  const comments = new Comments(
    await rows(
      client,
      `SELECT d.classoid, d.objoid, d.objsubid, d.description,
              pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) AS what
         FROM pg_catalog.pg_description d
        WHERE (d.objoid >= 16384 OR (d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objoid = 2200)
               OR d.classoid = 'pg_catalog.pg_largeobject'::pg_catalog.regclass)
          -- A comment can outlive its object (COMMENT ON SUBSCRIPTION wrote pg_description, DROP cleared pg_shdescription).
          AND pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) IS NOT NULL`,
    ),
  );
  const schemas = await readSchemas(client, comments);
  const extensions = await readExtensions(client, comments);
  const collations = await readCollations(client, comments);
  const enums = await readEnums(client, comments);
  const domains = await readDomains(client, comments);
  const composites = await readComposites(client, comments);
  const ranges = await readRanges(client, comments);
  const functions = await readFunctions(client, comments);
  const aggregates = await readAggregates(client, comments);
  const casts = await readCasts(client, comments);
  const { families: operatorFamilies, classes: operatorClasses } = await readOperatorClasses(client, comments);
  const kindsOfOperators = {
    languages: await readLanguages(client, comments), transforms: await readTransforms(client, comments),
    baseTypes: await readBaseTypes(client, comments), shellTypes: await readShellTypes(client, comments),
    accessMethods: await readAccessMethods(client, comments), operators: await readOperators(client, comments), operatorFamilies, operatorClasses,
    conversions: await readConversions(client, comments),
    textSearchParsers: await readTextSearchParsers(client, comments), textSearchTemplates: await readTextSearchTemplates(client, comments),
  };
  const { dictionaries: textSearchDictionaries, configurations: textSearchConfigurations } = await readTextSearch(client, comments);
  const secretsLeftOut: string[] = [];
  const { wrappers, servers, userMappings } = await readForeignData(client, comments, secretsLeftOut);
  const allSequences = await readSequences(client, comments);
  const tables = await readTables(client, comments, allSequences);
  const views = await readViews(client, comments);
  const tableOids = tables.map((t) => t.oid);
  const constraints = await readConstraints(client, comments, tables);
  for (const table of tables) {
    // A partition is created on its own before it is attached, so it needs its inherited checks too.
    table.checks = constraints.filter((c) => c.tableOid === table.oid && c.type === "c" && c.validated && (c.local || table.partitionOf !== undefined));
    table.parts.push(...constraints.filter((c) => c.tableOid === table.oid && c.type === "c" && c.validated).map((c): [number, number] => [CATALOG.pg_constraint, c.oid]));
  }
  const relationOids = [...tableOids, ...views.map((v) => v.oid)];
  const indexes = await readIndexes(client, comments, relationOids);
  const triggers = await readTriggers(client, comments, relationOids);
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
  return {
    schemas, extensions, collations, enums, domains, composites, ranges, functions, aggregates, tables, views, indexes, triggers,
    ...kindsOfOperators, casts, textSearchDictionaries, textSearchConfigurations, wrappers, servers, userMappings, secretsLeftOut, extensionConfig: await readExtensionConfig(client),
    rules: await readRules(client, comments, relationOids),
    statistics: await readStatistics(client, comments, relationOids),
    policies: await readPolicies(client, comments, tableOids),
    eventTriggers: await readEventTriggers(client, comments),
    publications: await readPublications(client, comments),
    largeObjects: (await rows<{ oid: number }>(client, "SELECT oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid"))
      .map(({ oid }) => ({ oid, comment: comments.take(CATALOG.pg_largeobject, oid) })),
    depends, members, comments,
    sequences: allSequences.filter((s) => !s.owner?.identity),
    identitySequences: allSequences.filter((s) => s.owner?.identity),
    // Inherited copies come back with the parent's constraint, except a partition's keys, which are
    // created on the partition and attached (as pg_dump does).
    constraints: constraints.filter((c) =>
      (c.type !== "c" || !c.validated) && (c.local || c.type === "p" || c.type === "u" || c.type === "x" || c.validates !== undefined)),
    domainConstraints: domains.flatMap((d) => d.constraints.filter((c) => !c.validated)),
  };
}

async function readSchemas(client: pg.ClientBase, comments: Comments): Promise<SchemaDef[]> {
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
async function readExtensions(client: pg.ClientBase, comments: Comments): Promise<ExtensionDef[]> {
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

async function readEnums(client: pg.ClientBase, comments: Comments): Promise<EnumDef[]> {
  const found = await rows<EnumDef>(
    client,
    `SELECT t.oid, t.typarray AS "arrayOid", n.nspname AS schema, t.typname AS name,
            ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype = 'e' AND ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`,
  );
  return found.map((t) => ({ ...t, comment: comments.take(CATALOG.pg_type, t.oid) }));
}

/**
 * Collations, read as whole rows: their columns changed between versions (colliculocale in 15 and
 * 16, colllocale from 17, collicurules from 16, the builtin provider from 17).
 */
async function readCollations(client: pg.ClientBase, comments: Comments): Promise<CollationDef[]> {
  const found = await rows<{ oid: number; schema: string; name: string; row: Record<string, string | boolean | null> }>(
    client,
    `SELECT co.oid, n.nspname AS schema, co.collname AS name, pg_catalog.to_jsonb(co) AS row
       FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_collation", "co.oid")}`,
  );
  return found.map(({ row, ...c }) => {
    const provider = { c: "libc", i: "icu", b: "builtin" }[String(row.collprovider)];
    if (provider === undefined) throw new BackupError(`collation ${qualify(c.schema, c.name)} has an unknown provider ${String(row.collprovider)}`);
    const options: Array<[string, string]> = [["provider", provider]];
    if (row.collisdeterministic === false) options.push(["deterministic", "false"]);
    if (provider === "libc") {
      if (row.collcollate === row.collctype) options.push(["locale", String(row.collcollate)]);
      else options.push(["lc_collate", String(row.collcollate)], ["lc_ctype", String(row.collctype)]);
    } else {
      options.push(["locale", String(row.colllocale ?? row.colliculocale ?? row.collcollate)]);
      if (typeof row.collicurules === "string") options.push(["rules", row.collicurules]);
    }
    return { ...c, options, comment: comments.take(CATALOG.pg_collation, c.oid) };
  });
}

async function readDomains(client: pg.ClientBase, comments: Comments): Promise<DomainDef[]> {
  const found = await rows<Omit<DomainDef, "constraints" | "collation" | "default"> & { collation: string | null; default: string | null }>(
    client,
    `SELECT t.oid, t.typarray AS "arrayOid", n.nspname AS schema, t.typname AS name,
            pg_catalog.format_type(t.typbasetype, t.typtypmod) AS "baseType",
            CASE WHEN t.typcollation <> b.typcollation THEN ${qualifiedName("cn.nspname", "co.collname")} END AS collation,
            pg_catalog.pg_get_expr(t.typdefaultbin, 0) AS "default",
            t.typnotnull AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint nn WHERE nn.contypid = t.oid AND nn.contype = 'n') AS "notNull"
       FROM pg_catalog.pg_type t
       JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_catalog.pg_type b ON b.oid = t.typbasetype
       LEFT JOIN pg_catalog.pg_collation co ON co.oid = t.typcollation
       LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
      WHERE t.typtype = 'd' AND ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`,
  );
  const constraints = await rows<DomainConstraintDef & { domainOid: number }>(
    client,
    `SELECT co.oid, co.contypid AS "domainOid", n.nspname AS schema, t.typname AS domain, co.conname AS name,
            pg_catalog.pg_get_constraintdef(co.oid) AS definition, co.convalidated AS validated
       FROM pg_catalog.pg_constraint co JOIN pg_catalog.pg_type t ON t.oid = co.contypid
       JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE co.contypid = ANY($1::pg_catalog.oid[]) ORDER BY co.conname`,
    [found.map((d) => d.oid)],
  );
  return found.map(({ collation, default: defaultValue, ...d }) => ({
    ...d,
    ...(collation === null ? {} : { collation }),
    ...(defaultValue === null ? {} : { default: defaultValue }),
    constraints: constraints
      .filter((c) => c.domainOid === d.oid)
      .map(({ domainOid: _, ...c }) => ({ ...c, comment: comments.take(CATALOG.pg_constraint, c.oid) })),
    comment: comments.take(CATALOG.pg_type, d.oid),
  }));
}

async function readComposites(client: pg.ClientBase, comments: Comments): Promise<CompositeDef[]> {
  const found = await rows<Omit<CompositeDef, "columns">>(
    client,
    `SELECT t.oid, t.typarray AS "arrayOid", t.typrelid AS "relOid", n.nspname AS schema, t.typname AS name
       FROM pg_catalog.pg_type t
       JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_catalog.pg_class c ON c.oid = t.typrelid
      WHERE t.typtype = 'c' AND c.relkind = 'c' AND ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`,
  );
  const columns = await readColumns(client, found.map((t) => t.relOid));
  return found.map((t) => ({
    ...t,
    columns: columns.filter((c) => c.relid === t.relOid).map((c) => ({
      name: c.name, type: c.type,
      ...(c.collationName === null ? {} : { collation: qualify(c.collationSchema ?? "", c.collationName) }),
      comment: comments.take(CATALOG.pg_class, t.relOid, c.attnum),
    })),
    comment: comments.take(CATALOG.pg_type, t.oid),
  }));
}

async function readRanges(client: pg.ClientBase, comments: Comments): Promise<RangeDef[]> {
  const found = await rows<Omit<RangeDef, "multirange" | "collation" | "opclass" | "subdiff"> & {
    multiOid: number; multiArrayOid: number; multiSchema: string; multiName: string;
    collation: string | null; opclass: string | null; subdiff: string | null; canonicalOid: number; canonicalName: string | null;
  }>(
    client,
    `SELECT t.oid, t.typarray AS "arrayOid", n.nspname AS schema, t.typname AS name,
            pg_catalog.format_type(r.rngsubtype, NULL) AS subtype,
            m.oid AS "multiOid", m.typarray AS "multiArrayOid", mn.nspname AS "multiSchema", m.typname AS "multiName",
            CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> s.typcollation THEN ${qualifiedName("cn.nspname", "co.collname")} END AS collation,
            CASE WHEN NOT oc.opcdefault THEN ${qualifiedName("ocn.nspname", "oc.opcname")} END AS opclass,
            CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::pg_catalog.regproc::text END AS subdiff,
            r.rngcanonical::pg_catalog.oid AS "canonicalOid", CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::pg_catalog.regproc::text END AS "canonicalName",
            ARRAY(SELECT d.objid FROM pg_catalog.pg_depend d
                   WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_type'::pg_catalog.regclass
                     AND d.refobjid IN (t.oid, m.oid) AND d.deptype = 'i') AS constructors
       FROM pg_catalog.pg_range r
       JOIN pg_catalog.pg_type t ON t.oid = r.rngtypid
       JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_catalog.pg_type s ON s.oid = r.rngsubtype
       JOIN pg_catalog.pg_type m ON m.oid = r.rngmultitypid
       JOIN pg_catalog.pg_namespace mn ON mn.oid = m.typnamespace
       JOIN pg_catalog.pg_opclass oc ON oc.oid = r.rngsubopc
       JOIN pg_catalog.pg_namespace ocn ON ocn.oid = oc.opcnamespace
       LEFT JOIN pg_catalog.pg_collation co ON co.oid = r.rngcollation
       LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_type", "t.oid")}`,
  );
  return found.map(({ multiOid, multiArrayOid, multiSchema, multiName, collation, opclass, subdiff, canonicalOid, canonicalName, ...r }) => ({
    ...r,
    ...(canonicalName === null ? {} : { canonical: { oid: canonicalOid, name: canonicalName } }),
    multirange: { oid: multiOid, arrayOid: multiArrayOid, schema: multiSchema, name: multiName },
    ...(collation === null ? {} : { collation }),
    ...(opclass === null ? {} : { opclass }),
    ...(subdiff === null ? {} : { subdiff }),
    comment: comments.take(CATALOG.pg_type, r.oid),
  }));
}

/** Functions and procedures in any language; aggregates are read on their own. */
async function readFunctions(client: pg.ClientBase, comments: Comments): Promise<FunctionDef[]> {
  const found = await rows<FunctionDef>(
    client,
    `SELECT p.oid, n.nspname AS schema, p.proname AS name,
            CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind,
            pg_catalog.oidvectortypes(p.proargtypes) AS "argTypes",
            pg_catalog.pg_get_function_identity_arguments(p.oid) AS "identityArgs",
            pg_catalog.pg_get_functiondef(p.oid) AS definition
       FROM pg_catalog.pg_proc p
       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE p.prokind IN ('f', 'p', 'w')
        AND ${userSchema("n")} AND ${notExtensionMember("pg_proc", "p.oid")} AND ${notInternalPart("pg_proc", "p.oid")}`,
  );
  return found.map((f) => ({ ...f, comment: comments.take(CATALOG.pg_proc, f.oid) }));
}

async function readExtensionConfig(client: pg.ClientBase): Promise<ExtensionConfigDef[]> {
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

/** User-defined casts; those CREATE TYPE makes (a range's) come back with their type. */
async function readCasts(client: pg.ClientBase, comments: Comments): Promise<CastDef[]> {
  const found = await rows<CastDef & { function: string | null }>(
    client,
    `SELECT x.oid, pg_catalog.format_type(x.castsource, NULL) AS source, pg_catalog.format_type(x.casttarget, NULL) AS target,
            x.castmethod AS method, x.castcontext AS context,
            CASE WHEN x.castfunc <> 0 THEN x.castfunc::pg_catalog.regprocedure::text END AS function
       FROM pg_catalog.pg_cast x
      WHERE x.oid >= 16384 AND ${notExtensionMember("pg_cast", "x.oid")} AND ${notInternalPart("pg_cast", "x.oid")}`,
  );
  return found.map(({ function: fn, ...c }) => ({
    ...c, ...(fn === null ? {} : { function: fn }), comment: comments.take(CATALOG.pg_cast, c.oid),
  }));
}

/**
 * Text search dictionaries and configurations. Their templates and parsers come from pg_catalog or
 * an extension (user-made ones are refused), so only the dictionaries and configurations are written.
 */
async function readTextSearch(client: pg.ClientBase, comments: Comments): Promise<{
  dictionaries: TextSearchDictionaryDef[]; configurations: TextSearchConfigurationDef[];
}> {
  const dictionaries = await rows<Omit<TextSearchDictionaryDef, "options"> & { options: string | null }>(
    client,
    `SELECT d.oid, n.nspname AS schema, d.dictname AS name, ${qualifiedName("tn.nspname", "t.tmplname")} AS template, d.dictinitoption AS options
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
      ...d, ...(options === null ? {} : { options }), comment: comments.take(CATALOG.pg_ts_dict, d.oid),
    })),
    configurations: configurations.map((c) => ({
      ...c,
      mappings: mappings.filter((m) => m.config === c.oid).map(({ config: _, ...m }) => m),
      comment: comments.take(CATALOG.pg_ts_config, c.oid),
    })),
  };
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
async function readForeignData(client: pg.ClientBase, comments: Comments, leftOut: string[]): Promise<{
  wrappers: ForeignDataWrapperDef[]; servers: ForeignServerDef[]; userMappings: UserMappingDef[];
}> {
  const notCredential = (key: string) => !CREDENTIAL.test(key);
  const wrappers = await rows<{ oid: number; name: string; handler: string | null; validator: string | null; options: string[] | null }>(
    client,
    `SELECT w.oid, w.fdwname AS name,
            CASE WHEN w.fdwhandler <> 0 THEN w.fdwhandler::pg_catalog.regproc::text END AS handler,
            CASE WHEN w.fdwvalidator <> 0 THEN w.fdwvalidator::pg_catalog.regproc::text END AS validator, w.fdwoptions AS options
       FROM pg_catalog.pg_foreign_data_wrapper w WHERE ${notExtensionMember("pg_foreign_data_wrapper", "w.oid")}`,
  );
  const servers = await rows<{ oid: number; name: string; wrapper: string; type: string | null; version: string | null; options: string[] | null }>(
    client,
    `SELECT s.oid, s.srvname AS name, w.fdwname AS wrapper, s.srvtype AS type, s.srvversion AS version, s.srvoptions AS options
       FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
      WHERE ${notExtensionMember("pg_foreign_server", "s.oid")}`,
  );
  // pg_user_mappings shows options only to whom may see them; a mapping whose options are hidden is
  // refused (UNSUPPORTED_CHECKS), so here they are all visible.
  const mappings = await rows<{ oid: number; server: string; role: string | null; options: string[] | null }>(
    client,
    `SELECT u.umid AS oid, u.srvname AS server, CASE WHEN u.umuser <> 0 THEN u.usename END AS role, u.umoptions AS options
       FROM pg_catalog.pg_user_mappings u`,
  );
  return {
    wrappers: wrappers.map((w) => ({
      oid: w.oid, name: w.name, ...(w.handler === null ? {} : { handler: w.handler }), ...(w.validator === null ? {} : { validator: w.validator }),
      options: publicOptions(w.options, notCredential, `foreign-data wrapper ${w.name}`, leftOut),
      comment: comments.take(CATALOG.pg_foreign_data_wrapper, w.oid),
    })),
    servers: servers.map((s) => ({
      oid: s.oid, name: s.name, wrapper: s.wrapper, ...(s.type === null ? {} : { type: s.type }), ...(s.version === null ? {} : { version: s.version }),
      options: publicOptions(s.options, notCredential, `foreign server ${s.name}`, leftOut),
      comment: comments.take(CATALOG.pg_foreign_server, s.oid),
    })),
    userMappings: mappings.map((m) => ({
      oid: m.oid, server: m.server, role: m.role,
      options: publicOptions(m.options, (key) => USER_MAPPING_OPTIONS.has(key),
        `user mapping ${userMappingName(m)}`, leftOut),
    })),
  };
}

/** pg_catalog's functions print unqualified with an empty search_path, everyone else's qualified. */
const REGPROC = (column: string) => `CASE WHEN a.${column} <> 0 THEN a.${column}::pg_catalog.regproc::text END`;

async function readAggregates(client: pg.ClientBase, comments: Comments): Promise<AggregateDef[]> {
  const found = await rows<{
    oid: number; schema: string; name: string; argTypes: string; args: string; identityArgs: string; aggKind: string;
    sfunc: string; stype: string; sspace: number; finalfunc: string | null; finalExtra: boolean; finalModify: string;
    combinefunc: string | null; serialfunc: string | null; deserialfunc: string | null; initcond: string | null;
    msfunc: string | null; minvfunc: string | null; mstype: string | null; msspace: number; mfinalfunc: string | null;
    mfinalExtra: boolean; mfinalModify: string; minitcond: string | null; sortop: string | null; parallel: string;
  }>(
    client,
    `SELECT p.oid, n.nspname AS schema, p.proname AS name, pg_catalog.oidvectortypes(p.proargtypes) AS "argTypes",
            pg_catalog.pg_get_function_arguments(p.oid) AS args,
            pg_catalog.pg_get_function_identity_arguments(p.oid) AS "identityArgs", a.aggkind AS "aggKind",
            ${REGPROC("aggtransfn")} AS sfunc, pg_catalog.format_type(a.aggtranstype, NULL) AS stype, a.aggtransspace AS sspace,
            ${REGPROC("aggfinalfn")} AS finalfunc, a.aggfinalextra AS "finalExtra", a.aggfinalmodify AS "finalModify",
            ${REGPROC("aggcombinefn")} AS combinefunc, ${REGPROC("aggserialfn")} AS serialfunc,
            ${REGPROC("aggdeserialfn")} AS deserialfunc, a.agginitval AS initcond,
            ${REGPROC("aggmtransfn")} AS msfunc, ${REGPROC("aggminvtransfn")} AS minvfunc,
            CASE WHEN a.aggmtranstype <> 0 THEN pg_catalog.format_type(a.aggmtranstype, NULL) END AS mstype,
            a.aggmtransspace AS msspace, ${REGPROC("aggmfinalfn")} AS mfinalfunc, a.aggmfinalextra AS "mfinalExtra",
            a.aggmfinalmodify AS "mfinalModify", a.aggminitval AS minitcond,
            CASE WHEN a.aggsortop <> 0 THEN pg_catalog.format('OPERATOR(%I.%s)', opn.nspname, op.oprname) END AS sortop,
            p.proparallel AS parallel
       FROM pg_catalog.pg_aggregate a
       JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid
       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
       LEFT JOIN pg_catalog.pg_operator op ON op.oid = a.aggsortop
       LEFT JOIN pg_catalog.pg_namespace opn ON opn.oid = op.oprnamespace
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_proc", "p.oid")}`,
  );
  const MODIFY: Record<string, string> = { r: "READ_ONLY", s: "SHAREABLE", w: "READ_WRITE" };
  return found.map((a) => {
    // The modify flag is written only when it is not the kind's default, as pg_dump does.
    const defaultModify = a.aggKind === "n" ? "r" : "w";
    const options: Array<[string, string | true]> = [["SFUNC", a.sfunc], ["STYPE", a.stype]];
    const add = (key: string, value: string | true | null | false) => {
      if (value !== null && value !== false) options.push([key, value]);
    };
    add("SSPACE", a.sspace > 0 ? String(a.sspace) : null);
    add("FINALFUNC", a.finalfunc);
    add("FINALFUNC_EXTRA", a.finalExtra);
    add("FINALFUNC_MODIFY", a.finalfunc !== null && a.finalModify !== defaultModify ? MODIFY[a.finalModify] ?? null : null);
    add("INITCOND", a.initcond);
    add("COMBINEFUNC", a.combinefunc);
    add("SERIALFUNC", a.serialfunc);
    add("DESERIALFUNC", a.deserialfunc);
    add("MSFUNC", a.msfunc);
    add("MINVFUNC", a.minvfunc);
    add("MSTYPE", a.mstype);
    add("MSSPACE", a.msspace > 0 ? String(a.msspace) : null);
    add("MFINALFUNC", a.mfinalfunc);
    add("MFINALFUNC_EXTRA", a.mfinalExtra);
    add("MFINALFUNC_MODIFY", a.mfinalfunc !== null && a.mfinalModify !== defaultModify ? MODIFY[a.mfinalModify] ?? null : null);
    add("MINITCOND", a.minitcond);
    add("SORTOP", a.sortop);
    add("HYPOTHETICAL", a.aggKind === "h");
    add("PARALLEL", a.parallel === "s" ? "safe" : a.parallel === "r" ? "restricted" : null);
    return {
      oid: a.oid, schema: a.schema, name: a.name, argTypes: a.argTypes, args: a.args, identityArgs: a.identityArgs,
      aggKind: a.aggKind, options, comment: comments.take(CATALOG.pg_proc, a.oid),
    };
  });
}

async function readSequences(client: pg.ClientBase, comments: Comments): Promise<SequenceDef[]> {
  const found = await rows<Omit<SequenceDef, "owner"> & {
    ownerOid: number | null; ownerSchema: string; ownerTable: string; ownerColumn: string; ownerDeptype: string;
  }>(
    client,
    `SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relpersistence = 'u' AS unlogged,
            pg_catalog.format_type(s.seqtypid, NULL) AS type, s.seqstart::text AS start,
            s.seqincrement::text AS increment, s.seqmin::text AS min, s.seqmax::text AS max,
            s.seqcache::text AS cache, s.seqcycle AS cycle,
            o.refobjid AS "ownerOid", o.deptype AS "ownerDeptype", otn.nspname AS "ownerSchema",
            ot.relname AS "ownerTable", oa.attname AS "ownerColumn"
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid
       LEFT JOIN pg_catalog.pg_depend o ON o.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.objid = c.oid
            AND o.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND o.refobjsubid > 0 AND o.deptype IN ('a', 'i')
       LEFT JOIN pg_catalog.pg_class ot ON ot.oid = o.refobjid
       LEFT JOIN pg_catalog.pg_namespace otn ON otn.oid = ot.relnamespace
       LEFT JOIN pg_catalog.pg_attribute oa ON oa.attrelid = o.refobjid AND oa.attnum = o.refobjsubid
      WHERE c.relkind = 'S' AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  );
  return found.map(({ ownerOid, ownerSchema, ownerTable, ownerColumn, ownerDeptype, ...seq }) => ({
    ...seq,
    comment: comments.take(CATALOG.pg_class, seq.oid),
    ...(ownerOid === null
      ? {}
      : { owner: { oid: ownerOid, schema: ownerSchema, table: ownerTable, column: ownerColumn, identity: ownerDeptype === "i" } }),
  }));
}

interface ColumnRow {
  relid: number; attnum: number; name: string; type: string; notNull: boolean; identity: string; generated: string;
  default: string | null; attrdef: number | null; collationSchema: string | null; collationName: string | null;
  local: boolean; storage: string | null; compression: string | null; statistics: number | null; options: string[] | null;
  notNullName: string | null; notNullNoInherit: boolean | null; notNullValidated: boolean | null; fdwOptions: string[] | null;
  /** Also inherited from a parent (a local column merged with the parent's). */
  inherited: boolean;
}

const STORAGE: Record<string, string> = { p: "PLAIN", e: "EXTERNAL", m: "MAIN", x: "EXTENDED" };

async function readColumns(client: pg.ClientBase, relationOids: number[]): Promise<ColumnRow[]> {
  return await rows<ColumnRow>(
    client,
    `SELECT a.attrelid AS relid, a.attnum, a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS "notNull", a.attidentity AS identity, a.attgenerated AS generated,
            pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS "default", d.oid AS attrdef,
            CASE WHEN a.attcollation <> t.typcollation THEN cn.nspname END AS "collationSchema",
            CASE WHEN a.attcollation <> t.typcollation THEN co.collname END AS "collationName",
            a.attislocal AS local, a.attinhcount > 0 AS inherited,
            CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END AS storage,
            NULLIF(a.attcompression::text, '') AS compression,
            NULLIF(COALESCE(a.attstattarget::int, -1), -1) AS statistics,
            NULLIF(ARRAY(SELECT o FROM pg_catalog.unnest(a.attoptions) o WHERE o NOT LIKE 'pg\\_attver=%'), '{}') AS options,
            nn.conname AS "notNullName", nn.connoinherit AS "notNullNoInherit", nn.convalidated AS "notNullValidated", a.attfdwoptions AS "fdwOptions"
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_catalog.pg_constraint nn ON nn.conrelid = a.attrelid AND nn.contype = 'n' AND nn.conkey[1] = a.attnum
       LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation
       LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
      WHERE a.attrelid = ANY($1::pg_catalog.oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [relationOids],
  );
}

/**
 * ALTER COLUMN settings that are not the default: storage, compression, statistics target, options.
 * Debian's PostgreSQL 15 here stamps every column with a `pg_attver` option the server sets itself:
 * readColumns leaves it out, as pg_dump does.
 */
function columnSettings(row: ColumnRow): Pick<ColumnDef, "storage" | "compression" | "statistics" | "options"> {
  return {
    ...(row.storage === null ? {} : { storage: STORAGE[row.storage] ?? row.storage }),
    ...(row.compression === null ? {} : { compression: row.compression === "p" ? "pglz" : row.compression === "l" ? "lz4" : row.compression }),
    ...(row.statistics === null ? {} : { statistics: row.statistics }),
    ...(row.options === null ? {} : { options: row.options }),
  };
}

/** `key=value` catalog options as pairs (the value may hold `=`). */
function keyValues(options: string[]): FdwOptions {
  return options.map((option) => {
    const eq = option.indexOf("=");
    return [option.slice(0, eq), option.slice(eq + 1)];
  });
}

/** A NOT NULL added NOT VALID is written after the data, as its own constraint (see readConstraints). */
function toColumn(row: ColumnRow, identitySequence: SequenceDef | undefined, comment: string | undefined): ColumnDef {
  if (row.notNullValidated === false) row = { ...row, notNull: false, notNullName: null };
  if (row.identity !== "" && identitySequence === undefined) {
    throw new BackupError(`identity column ${quoteIdent(row.name)} has no identity sequence in pg_depend; the catalog looks damaged`);
  }
  return {
    name: row.name,
    type: row.type,
    ...(row.fdwOptions === null ? {} : { fdwOptions: keyValues(row.fdwOptions) }),
    notNull: row.notNull,
    ...(row.notNullName === null ? {} : { notNullConstraint: { name: row.notNullName, noInherit: row.notNullNoInherit === true } }),
    local: row.local,
    ...(row.generated === "" ? {} : { generated: row.generated === "v" ? "virtual" : "stored" }),
    ...(row.collationName === null ? {} : { collation: qualify(row.collationSchema ?? "", row.collationName) }),
    ...(row.default === null ? {} : { default: row.default }),
    ...(identitySequence === undefined ? {} : { identity: { always: row.identity === "a", sequence: identitySequence } }),
    ...columnSettings(row),
    ...(comment === undefined ? {} : { comment }),
  };
}

async function readTables(client: pg.ClientBase, comments: Comments, sequences: SequenceDef[]): Promise<TableDef[]> {
  const found = await rows<{
    oid: number; rowTypeOid: number; schema: string; name: string; unlogged: boolean; options: string[];
    partitionKey: string | null; parentOid: number | null; parentSchema: string | null; parentName: string | null; bound: string | null;
    parents: Array<{ oid: number; schema: string; name: string }>; replicaIdentity: string; rowSecurity: boolean; forceRowSecurity: boolean;
    server: string | null; serverOptions: string[] | null; ofType: string | null; accessMethod: string | null;
  }>(
    client,
    `SELECT c.oid, c.reltype AS "rowTypeOid", n.nspname AS schema, c.relname AS name,
            c.relpersistence = 'u' AS unlogged,
            COALESCE(c.reloptions, '{}')::text[] ||
              ARRAY(SELECT 'toast.' || o FROM pg_catalog.pg_class tc, pg_catalog.unnest(tc.reloptions) o WHERE tc.oid = c.reltoastrelid) AS options,
            CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END AS "partitionKey",
            pi.inhparent AS "parentOid", pn.nspname AS "parentSchema", pc.relname AS "parentName",
            CASE WHEN c.relispartition THEN pg_catalog.pg_get_expr(c.relpartbound, c.oid) END AS bound,
            COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object('oid', i.inhparent::int8, 'schema', ipn.nspname, 'name', ipc.relname) ORDER BY i.inhseqno)
                        FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class ipc ON ipc.oid = i.inhparent
                        JOIN pg_catalog.pg_namespace ipn ON ipn.oid = ipc.relnamespace
                       WHERE i.inhrelid = c.oid AND NOT c.relispartition), '[]') AS parents,
            c.relreplident AS "replicaIdentity", c.relrowsecurity AS "rowSecurity", c.relforcerowsecurity AS "forceRowSecurity",
            fs.srvname AS server, ft.ftoptions AS "serverOptions", CASE WHEN c.reloftype <> 0 THEN ${qualifiedName("otn.nspname", "ot.typname")} END AS "ofType",
            CASE WHEN c.relkind = 'p' OR am.amname <> 'heap' THEN am.amname END AS "accessMethod"
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
       LEFT JOIN pg_catalog.pg_type ot ON ot.oid = c.reloftype
       LEFT JOIN pg_catalog.pg_namespace otn ON otn.oid = ot.typnamespace
       LEFT JOIN pg_catalog.pg_foreign_table ft ON ft.ftrelid = c.oid
       LEFT JOIN pg_catalog.pg_foreign_server fs ON fs.oid = ft.ftserver
       LEFT JOIN pg_catalog.pg_inherits pi ON c.relispartition AND pi.inhrelid = c.oid
       LEFT JOIN pg_catalog.pg_class pc ON pc.oid = pi.inhparent
       LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
      WHERE c.relkind IN ('r', 'p', 'f') AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  );
  const columns = await readColumns(client, found.map((t) => t.oid));
  const identityOf = (tableOid: number, column: string) =>
    sequences.find((s) => s.owner?.identity && s.owner.oid === tableOid && s.owner.column === column);
  const columnsOf = (oid: number) => columns.filter((c) => c.relid === oid);
  return found.map(({ partitionKey, parentOid, parentSchema, parentName, bound, parents, replicaIdentity, server, serverOptions, ofType, accessMethod, ...table }) => {
    const own = columnsOf(table.oid);
    const parts: Array<[number, number]> = own.flatMap((c) => (c.attrdef === null ? [] : [[CATALOG.pg_attrdef, c.attrdef] as [number, number]]));
    const partition = parentOid === null ? undefined : { oid: parentOid, schema: parentSchema ?? "", name: parentName ?? "", bound: bound ?? "" };
    // A column inherited (not partitioned) from a parent keeps the parent's definition unless changed on the child.
    const inherited = own.filter((c) => !c.local && partition === undefined);
    const parentColumns = parents.flatMap((p) => columnsOf(p.oid));
    const inheritedOverrides = inherited.flatMap((c) => {
      const fromParent = parentColumns.find((p) => p.name === c.name);
      const override: TableDef["inheritedOverrides"][number] = { column: c.name };
      if (c.default !== (fromParent?.default ?? null)) override.default = c.default;
      if (c.notNull && !fromParent?.notNull) override.notNull = true;
      return Object.keys(override).length > 1 ? [override] : [];
    });
    const inheritLater = parents.length > 0 && own.every((c) => c.local) && own.some((c) => c.inherited && c.generated !== "");
    return {
      ...table,
      ...(inheritLater ? { inheritLater } : {}),
      ...(partitionKey === null ? {} : { partitionKey }),
      ...(partition === undefined ? {} : { partitionOf: partition }),
      ...(ofType === null ? {} : { ofType }),
      ...(accessMethod === null ? {} : { accessMethod }),
      ...(server === null ? {} : { foreign: { server, options: keyValues(serverOptions ?? []) } }),
      inherits: parents,
      // A foreign table's is always NOTHING, and cannot be set.
      ...(server === null && (replicaIdentity === "f" || replicaIdentity === "n") ? { replicaIdentity } : {}),
      columns: own.map((c) => {
        const identity = c.identity === "" ? undefined : identityOf(table.oid, c.name);
        if (identity) parts.push([CATALOG.pg_class, identity.oid]);
        // A partition is created standalone, so it declares every column; from PostgreSQL 17 its
        // identity columns use the parent's sequence and become identity again when it is attached.
        const column = partition === undefined ? c : { ...c, local: true, identity: identity === undefined ? "" : c.identity };
        return toColumn(column, identity, comments.take(CATALOG.pg_class, table.oid, c.attnum));
      }),
      checks: [],
      inheritedOverrides,
      parts,
      comment: comments.take(CATALOG.pg_class, table.oid),
    };
  });
}

/** Views and materialized views. */
async function readViews(client: pg.ClientBase, comments: Comments): Promise<ViewDef[]> {
  const found = await rows<Omit<ViewDef, "columns" | "materialized" | "parts"> & { relkind: string; populated: boolean; accessMethod: string | null }>(
    client,
    `SELECT c.oid, c.reltype AS "rowTypeOid", r.oid AS "ruleOid", n.nspname AS schema, c.relname AS name,
            COALESCE(c.reloptions, '{}')::text[] AS options, pg_catalog.pg_get_viewdef(c.oid) AS query,
            c.relkind::text AS relkind, c.relispopulated AS populated,
            (SELECT am.amname FROM pg_catalog.pg_am am WHERE am.oid = c.relam AND am.amname <> 'heap') AS "accessMethod"
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_rewrite r ON r.ev_class = c.oid AND r.rulename = '_RETURN'
      WHERE c.relkind IN ('v', 'm') AND ${userSchema("n")} AND ${notExtensionMember("pg_class", "c.oid")}`,
  );
  const columns = await readColumns(client, found.map((v) => v.oid));
  return found.map(({ relkind, populated, accessMethod, ...view }) => ({
    ...view,
    ...(relkind === "m" ? { materialized: { populated, ...(accessMethod === null ? {} : { accessMethod }) } } : {}),
    columns: columns
      .filter((c) => c.relid === view.oid)
      .map((c) => ({
        name: c.name, ...columnSettings(c), ...(c.default === null ? {} : { default: c.default }),
        comment: comments.take(CATALOG.pg_class, view.oid, c.attnum),
      })),
    parts: columns.flatMap((c) => (c.relid === view.oid && c.attrdef !== null ? [[CATALOG.pg_attrdef, c.attrdef] as [number, number]] : [])),
    comment: comments.take(CATALOG.pg_class, view.oid),
  }));
}

/** The OID of the NOT VALID NOT NULL of a parent that a table's inherited, validated NOT NULL copies, or NULL. */
const INVALID_PARENT_NOT_NULL = `(SELECT pc.oid FROM pg_catalog.pg_inherits i
    JOIN pg_catalog.pg_constraint pc ON pc.conrelid = i.inhparent AND pc.contype = 'n' AND NOT pc.convalidated AND pc.conname = co.conname
   WHERE co.contype = 'n' AND co.convalidated AND NOT co.conislocal AND i.inhrelid = co.conrelid LIMIT 1)`;

/**
 * CHECK, PRIMARY KEY, UNIQUE, EXCLUDE, FOREIGN KEY, and NOT NULL constraints added NOT VALID. A constraint copied to a partition by its
 * parent's (a foreign key, or the referencing side of one to a partitioned table) has conparentid.
 */
async function readConstraints(client: pg.ClientBase, comments: Comments, tables: TableDef[]): Promise<ConstraintDef[]> {
  const found = await rows<ConstraintDef & { parentConstraint: number; validates: number | null }>(
    client,
    `SELECT co.oid, n.nspname AS schema, c.relname AS table, co.conrelid AS "tableOid", co.conname AS name,
            co.contype AS type, pg_catalog.pg_get_constraintdef(co.oid) AS definition, co.convalidated AS validated,
            co.conislocal AS local, co.conindid AS "indexOid", co.confrelid AS "referencedOid", co.conparentid AS "parentConstraint",
            EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid) AND NOT co.connoinherit AS recurse,
            COALESCE(x.indisclustered, false) AS clustered, COALESCE(x.indisreplident, false) AS "replicaIdentity",
            ${INVALID_PARENT_NOT_NULL} AS validates
       FROM pg_catalog.pg_constraint co
       JOIN pg_catalog.pg_class c ON c.oid = co.conrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_index x ON x.indexrelid = co.conindid AND co.contype IN ('p', 'u', 'x')
      WHERE co.conrelid = ANY($1::pg_catalog.oid[])
        AND (co.contype IN ('c', 'p', 'u', 'f', 'x') OR (co.contype = 'n' AND (NOT co.convalidated OR ${INVALID_PARENT_NOT_NULL} IS NOT NULL)))`,
    [tables.map((t) => t.oid)],
  );
  return found
    .filter((c) => c.type !== "f" || c.parentConstraint === 0)
    .map(({ parentConstraint: _, validates, ...c }) => ({
      ...c,
      ...(validates === null ? {} : { validates }),
      comment: comments.take(CATALOG.pg_constraint, c.oid),
      ...(c.type === "p" || c.type === "u" || c.type === "x" ? { indexComment: comments.take(CATALOG.pg_class, c.indexOid) } : {}),
    }));
}

/** Indexes of their own; those behind a key or exclusion constraint come back with the constraint. */
async function readIndexes(client: pg.ClientBase, comments: Comments, relationOids: number[]): Promise<IndexDef[]> {
  const found = await rows<Omit<IndexDef, "parent"> & { parentOid: number | null; parentSchema: string | null; parentName: string | null }>(
    client,
    `SELECT i.indexrelid AS oid, n.nspname AS schema, t.relname AS table, ic.relname AS name,
            pg_catalog.pg_get_indexdef(i.indexrelid) AS definition,
            i.indisclustered AS clustered, i.indisreplident AS "replicaIdentity",
            pi.inhparent AS "parentOid", pn.nspname AS "parentSchema", pc.relname AS "parentName",
            COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object('column', a.attnum, 'target', a.attstattarget::int) ORDER BY a.attnum)
                        FROM pg_catalog.pg_attribute a WHERE a.attrelid = i.indexrelid AND a.attstattarget::int >= 0), '[]') AS "columnStatistics"
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_catalog.pg_class t ON t.oid = i.indrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = ic.relnamespace
       LEFT JOIN pg_catalog.pg_inherits pi ON pi.inhrelid = i.indexrelid
       LEFT JOIN pg_catalog.pg_class pc ON pc.oid = pi.inhparent
       LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
      WHERE i.indrelid = ANY($1::pg_catalog.oid[])`,
    [relationOids],
  );
  return found.map(({ parentOid, parentSchema, parentName, ...i }) => ({
    ...i,
    ...(parentOid === null ? {} : { parent: { oid: parentOid, schema: parentSchema ?? "", name: parentName ?? "" } }),
    comment: comments.take(CATALOG.pg_class, i.oid),
  }));
}

/**
 * Extended statistics objects of the tables and materialized views read. The target is -1 when unset up to PostgreSQL 16
 * and NULL from 17.
 */
async function readStatistics(client: pg.ClientBase, comments: Comments, relationOids: number[]): Promise<StatisticsDef[]> {
  const found = await rows<Omit<StatisticsDef, "table" | "target"> & { tableSchema: string; tableName: string; target: number | null }>(
    client,
    `SELECT s.oid, n.nspname AS schema, s.stxname AS name, tn.nspname AS "tableSchema", t.relname AS "tableName",
            pg_catalog.pg_get_statisticsobjdef(s.oid) AS definition,
            NULLIF(COALESCE(s.stxstattarget::int, -1), -1) AS target
       FROM pg_catalog.pg_statistic_ext s
       JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
       JOIN pg_catalog.pg_class t ON t.oid = s.stxrelid
       JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
      WHERE s.stxrelid = ANY($1::pg_catalog.oid[]) AND ${notExtensionMember("pg_statistic_ext", "s.oid")}`,
    [relationOids],
  );
  return found.map(({ tableSchema, tableName, target, ...s }) => ({
    ...s, table: { schema: tableSchema, name: tableName }, ...(target === null ? {} : { target }),
    comment: comments.take(CATALOG.pg_statistic_ext, s.oid),
  }));
}

/**
 * User triggers; the internal ones (foreign key checks) come back with their constraints. A
 * partition's clone of its parent's trigger is kept only to restore its state when it differs.
 */
async function readTriggers(client: pg.ClientBase, comments: Comments, relationOids: number[]): Promise<TriggerDef[]> {
  const found = await rows<TriggerDef>(
    client,
    `SELECT t.oid, n.nspname AS schema, c.relname AS table, t.tgname AS name,
            pg_catalog.pg_get_triggerdef(t.oid) AS definition, t.tgenabled AS enabled, t.tgparentid <> 0 AS clone
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_trigger parent ON parent.oid = t.tgparentid
      WHERE t.tgrelid = ANY($1::pg_catalog.oid[]) AND NOT t.tgisinternal
        AND (t.tgparentid = 0 OR t.tgenabled <> parent.tgenabled)`,
    [relationOids],
  );
  return found.map((t) => ({ ...t, comment: comments.take(CATALOG.pg_trigger, t.oid) }));
}

/** Rules other than the `_RETURN` rule that makes a view. */
async function readRules(client: pg.ClientBase, comments: Comments, relationOids: number[]): Promise<RuleDef[]> {
  const found = await rows<RuleDef>(
    client,
    `SELECT r.oid, n.nspname AS schema, c.relname AS table, r.rulename AS name,
            pg_catalog.pg_get_ruledef(r.oid) AS definition, r.ev_enabled AS enabled
       FROM pg_catalog.pg_rewrite r
       JOIN pg_catalog.pg_class c ON c.oid = r.ev_class
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE r.ev_class = ANY($1::pg_catalog.oid[]) AND r.rulename <> '_RETURN'`,
    [relationOids],
  );
  return found.map((r) => ({ ...r, comment: comments.take(CATALOG.pg_rewrite, r.oid) }));
}

const POLICY_COMMAND: Record<string, string> = { r: "SELECT", a: "INSERT", w: "UPDATE", d: "DELETE", "*": "ALL" };

async function readPolicies(client: pg.ClientBase, comments: Comments, tableOids: number[]): Promise<PolicyDef[]> {
  const found = await rows<{
    oid: number; schema: string; table: string; name: string; permissive: boolean; command: string;
    roles: string[]; qual: string | null; check: string | null;
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
    oid: p.oid, schema: p.schema, table: p.table, name: p.name,
    definition:
      `CREATE POLICY ${quoteIdent(p.name)} ON ${qualify(p.schema, p.table)}${p.permissive ? "" : " AS RESTRICTIVE"}` +
      ` FOR ${POLICY_COMMAND[p.command] ?? "ALL"}${p.roles.join() === "PUBLIC" ? "" : ` TO ${p.roles.join(", ")}`}` +
      `${p.qual === null ? "" : ` USING (${p.qual})`}${p.check === null ? "" : ` WITH CHECK (${p.check})`}`,
    comment: comments.take(CATALOG.pg_policy, p.oid),
  }));
}

async function readEventTriggers(client: pg.ClientBase, comments: Comments): Promise<EventTriggerDef[]> {
  const found = await rows<EventTriggerDef>(
    client,
    `SELECT e.oid, e.evtname AS name, e.evtevent AS event, e.evttags::text[] AS tags,
            e.evtfoid::pg_catalog.regproc::text AS function, e.evtenabled AS enabled
       FROM pg_catalog.pg_event_trigger e WHERE ${notExtensionMember("pg_event_trigger", "e.oid")}`,
  );
  return found.map((e) => ({ ...e, comment: comments.take(CATALOG.pg_event_trigger, e.oid) }));
}

/** Publications; their row filters and column lists exist from PostgreSQL 15, schemas too. */
async function readPublications(client: pg.ClientBase, comments: Comments): Promise<PublicationDef[]> {
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
            ${version >= 150000
              ? `COALESCE(' (' || (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY k.i)
                                      FROM pg_catalog.unnest(pr.prattrs) WITH ORDINALITY k(attnum, i)
                                      JOIN pg_catalog.pg_attribute a ON a.attrelid = pr.prrelid AND a.attnum = k.attnum) || ')', '') ||
                 COALESCE(' WHERE (' || pg_catalog.pg_get_expr(pr.prqual, pr.prrelid) || ')', '')`
              : "''"} AS clause
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
    oid: p.oid, name: p.name, allTables: p.allTables,
    options: [["publish", p.publish], ...(p.viaRoot ? [["publish_via_partition_root", "true"] as [string, string]] : [])],
    members: [
      ...tables.filter((t) => t.publication === p.oid).map((t) => ({ classId: CATALOG.pg_publication_rel, oid: t.oid, clause: t.clause })),
      ...schemas.filter((s) => s.publication === p.oid).map((s) => ({ classId: CATALOG.pg_publication_namespace, oid: s.oid, clause: s.clause })),
    ],
    comment: comments.take(CATALOG.pg_publication, p.oid),
  }));
}

/**
 * Sequence positions, read inside the snapshot's transaction. Sequences are not transactional:
 * this is their position now, which is at or after the snapshot's, so restored sequences never
 * hand out a value the dumped rows already use.
 */
async function readSequenceValues(client: pg.ClientBase, sequences: Array<{ schema: string; name: string }>): Promise<SequenceValue[]> {
  const values: SequenceValue[] = [];
  for (const seq of [...sequences].sort((a, b) => compareNames([a.schema, a.name], [b.schema, b.name]))) {
    const qualifiedName = qualify(seq.schema, seq.name);
    const [row] = await rows<{ last_value: string; is_called: boolean }>(client, `SELECT last_value, is_called FROM ${qualifiedName}`);
    if (row === undefined) throw new BackupError(`sequence ${qualifiedName} returned no row; the catalog looks damaged`);
    values.push({ qualifiedName, setval: setval(seq.schema, seq.name, row.last_value, row.is_called) });
  }
  return values;
}

function compareNames(a: readonly string[], b: readonly string[]): number {
  const x = a.join("\u0000");
  const y = b.join("\u0000");
  return x < y ? -1 : x > y ? 1 : 0;
}

/** One statement group of the archive, with the catalog rows it creates. */
interface DumpNode extends SortNode {
  statements: string[];
  refs: ObjectRef[];
  /** `classid:objid` of every catalog row this node creates. */
  creates: string[];
  /** `classid:objid` of catalog rows that must exist first, beyond pg_depend (a partition's parent). */
  needs: string[];
  /** How ALTER … OWNER TO and GRANT name the object (`TABLE "s"."t"`), for the privileges option. */
  access?: { owner: string; grantOn?: string };
  /** Parts with grants of their own but the node's owner (a table's identity sequences): `classid:objid` → GRANT target. */
  partGrants?: Array<{ row: string; grantOn: string }>;
  /**
   * A shell type: it stands in for the base type `typeKey` for the nodes that create one of `rows`
   * (the type's I/O functions, which the whole type needs in turn).
   */
  shellOf?: { typeKey: string; rows: string[] };
  kind: keyof typeof RANK;
}

/**
 * Tie-break ranks: pre-data in pg_dump's kind order, then post-data as pg_dump writes it: keys
 * before other indexes (a foreign key binds to the first unique index on its columns, and in the
 * source that is the key), then rules, triggers, and the "late-constraint"s, foreign keys and NOT
 * VALID checks, which need the keys (and the data) first. Materialized views are refreshed near the
 * end, and event triggers come last of all so that none fires while the archive is restored.
 */
const RANK = {
  schema: 0, language: 0.5, extension: 1, "extension config": 1.5, collation: 2, "shell type": 2.5, type: 3, function: 4,
  "access method": 4.01, operator: 4.02, "operator family": 4.03, "operator class": 4.04, conversion: 4.05,
  "text search parser": 4.06, "text search template": 4.07, transform: 4.08, "text search dictionary": 4.1, "text search configuration": 4.15, cast: 4.2, "foreign-data wrapper": 4.4, "foreign server": 4.6, "user mapping": 4.8,
  sequence: 5, table: 6, view: 7, "owned-by": 8, "attach-partition": 9,
  "large-object": 9.5, constraint: 10, index: 11, "attach-index": 12, statistics: 12.5, rule: 13, trigger: 14, "late-constraint": 15, "row-security": 16, policy: 17,
  publication: 18, refresh: 19, "event-trigger": 20,
} as const;

const PRE_DATA_KINDS = new Set<DumpNode["kind"]>([
  "language", "shell type", "access method", "operator", "operator family", "operator class", "conversion", "text search parser",
  "text search template", "transform", "schema", "extension", "extension config", "collation", "type", "function", "text search dictionary", "text search configuration", "cast", "foreign-data wrapper", "foreign server", "user mapping",
  "sequence", "table", "view", "owned-by", "attach-partition",
]);

function node(
  kind: DumpNode["kind"], key: string, label: string, statements: string[], creates: Array<[number, number]>, refs: ObjectRef[],
  needs: Array<[number, number]> = [],
): DumpNode {
  const row = ([classId, oid]: [number, number]) => `${classId}:${oid}`;
  return { kind, key, rank: RANK[kind], sortName: `${kind} ${label}`, deps: [], statements, refs, creates: creates.map(row), needs: needs.map(row) };
}

/** `grantOn` "" means GRANT names the object as ALTER … OWNER does; absent, the kind takes no GRANT. */
function owned(n: DumpNode, owner: string, grantOn?: string, partGrants?: DumpNode["partGrants"]): DumpNode {
  return {
    ...n, access: { owner, ...(grantOn === undefined ? {} : { grantOn: grantOn === "" ? owner : grantOn }) },
    ...(partGrants === undefined || partGrants.length === 0 ? {} : { partGrants }),
  };
}

/** An identity sequence belongs to its table's owner (it cannot be given away) but has grants of its own. */
function identityGrants(table: TableDef): DumpNode["partGrants"] {
  return table.columns.flatMap((c) => c.identity === undefined ? [] : [{
    row: `${CATALOG.pg_class}:${c.identity.sequence.oid}`, grantOn: `SEQUENCE ${qualify(c.identity.sequence.schema, c.identity.sequence.name)}`,
  }]);
}

function buildNodes(catalog: Catalog): DumpNode[] {
  const { pg_class, pg_collation, pg_constraint, pg_event_trigger, pg_extension, pg_namespace, pg_policy, pg_proc, pg_publication, pg_rewrite, pg_trigger, pg_type } = CATALOG;
  const ref = (kind: ObjectKind, schema: string, name: string, table?: string): ObjectRef =>
    table === undefined ? { kind, schema, name } : { kind, schema, name, table };
  const label = (schema: string, table: string, name: string) => `${qualify(schema, table)} ${quoteIdent(name)}`;
  const keyIndex = (c: ConstraintDef) => c.type === "p" || c.type === "u" || c.type === "x";
  return [
    ...catalog.schemas.map((s) =>
      owned(node("schema", `${pg_namespace}:${s.oid}`, quoteIdent(s.name), createSchema(s), [[pg_namespace, s.oid]], [ref("schema", "", s.name)]),
        `SCHEMA ${quoteIdent(s.name)}`, "")),
    ...catalog.extensions.map((e) =>
      node("extension", `${pg_extension}:${e.oid}`, quoteIdent(e.name), createExtension(e), [[pg_extension, e.oid]], [ref("extension", "", e.name)])),
    ...catalog.extensionConfig.filter((c) => !c.sequence).map((c) =>
      node("extension config", `extension-config:${c.oid}`, qualify(c.schema, c.name), clearExtensionConfig(c), [], [], [[pg_extension, c.extensionOid]])),
    ...catalog.collations.map((c) =>
      owned(node("collation", `${pg_collation}:${c.oid}`, qualify(c.schema, c.name), createCollation(c), [[pg_collation, c.oid]], [ref("collation", c.schema, c.name)]),
        `COLLATION ${qualify(c.schema, c.name)}`)),
    ...catalog.enums.map((t) =>
      owned(node("type", `${pg_type}:${t.oid}`, qualify(t.schema, t.name), createEnum(t), [[pg_type, t.oid], [pg_type, t.arrayOid]], [ref("type", t.schema, t.name)]),
        `TYPE ${qualify(t.schema, t.name)}`, "")),
    ...catalog.domains.map((d) =>
      owned(node("type", `${pg_type}:${d.oid}`, qualify(d.schema, d.name), createDomain(d),
        [[pg_type, d.oid], [pg_type, d.arrayOid], ...d.constraints.filter((c) => c.validated).map((c): [number, number] => [pg_constraint, c.oid])],
        [ref("domain", d.schema, d.name)]), `DOMAIN ${qualify(d.schema, d.name)}`, "")),
    ...catalog.composites.map((t) =>
      owned(node("type", `${pg_type}:${t.oid}`, qualify(t.schema, t.name), createComposite(t), [[pg_type, t.oid], [pg_type, t.arrayOid], [pg_class, t.relOid]],
        [ref("type", t.schema, t.name)]), `TYPE ${qualify(t.schema, t.name)}`, "")),
    ...catalog.ranges.flatMap((r) => {
      const full = owned(node("type", `${pg_type}:${r.oid}`, qualify(r.schema, r.name), createRange(r),
        [[pg_type, r.oid], [pg_type, r.arrayOid], [pg_type, r.multirange.oid], [pg_type, r.multirange.arrayOid], ...r.constructors.map((oid): [number, number] => [pg_proc, oid])],
        [ref("type", r.schema, r.name), ref("type", r.multirange.schema, r.multirange.name)]), `TYPE ${qualify(r.schema, r.name)}`, "");
      if (r.canonical === undefined) return [full];
      // The canonical function takes and returns the range: it is created between the shell and the range.
      const shell = { ...node("shell type", `shell:${r.oid}`, qualify(r.schema, r.name), createShellType({ schema: r.schema, name: r.name }), [], []),
        shellOf: { typeKey: full.key, rows: [`${pg_proc}:${r.canonical.oid}`] } };
      return [shell, { ...full, deps: [shell.key] }];
    }),
    ...catalog.shellTypes.map((t) =>
      owned(node("shell type", `${pg_type}:${t.oid}`, qualify(t.schema, t.name), createShellType(t), [[pg_type, t.oid]], [ref("type", t.schema, t.name)]),
        `TYPE ${qualify(t.schema, t.name)}`)),
    ...catalog.baseTypes.flatMap((t) => {
      const key = `${pg_type}:${t.oid}`;
      const shell = { ...node("shell type", `shell:${t.oid}`, qualify(t.schema, t.name), createShellType({ schema: t.schema, name: t.name }), [], []),
        shellOf: { typeKey: key, rows: t.functions.map((oid) => `${pg_proc}:${oid}`) } };
      const full = owned(node("type", key, qualify(t.schema, t.name), createBaseType(t), [[pg_type, t.oid], [pg_type, t.arrayOid]],
        [ref("type", t.schema, t.name)]), `TYPE ${qualify(t.schema, t.name)}`, "");
      return [shell, { ...full, deps: [shell.key] }];
    }),
    ...catalog.languages.map((l) =>
      owned(node("language", `${CATALOG.pg_language}:${l.oid}`, quoteIdent(l.name), createLanguage(l), [[CATALOG.pg_language, l.oid]],
        [ref("language", "", l.name)]), `LANGUAGE ${quoteIdent(l.name)}`, "")),
    ...catalog.transforms.map((t) =>
      node("transform", `${CATALOG.pg_transform}:${t.oid}`, transformName(t), createTransform(t), [[CATALOG.pg_transform, t.oid]],
        [ref("transform", "", transformName(t))])),
    ...catalog.accessMethods.map((a) =>
      node("access method", `${CATALOG.pg_am}:${a.oid}`, quoteIdent(a.name), createAccessMethod(a), [[CATALOG.pg_am, a.oid]], [ref("access method", "", a.name)])),
    ...catalog.operators.map((o) =>
      owned(node("operator", `${CATALOG.pg_operator}:${o.oid}`, operatorName(o.schema, operatorSignature(o.name, o.left, o.right)), createOperator(o),
        [[CATALOG.pg_operator, o.oid]], [ref("operator", o.schema, operatorSignature(o.name, o.left, o.right))]),
        `OPERATOR ${operatorName(o.schema, o.name)} (${o.left ?? "NONE"}, ${o.right})`)),
    ...catalog.operatorFamilies.map((f) =>
      owned(node("operator family", `${CATALOG.pg_opfamily}:${f.oid}`, `${qualify(f.schema, f.name)} ${f.method}`, createOperatorFamily(f),
        [[CATALOG.pg_opfamily, f.oid], ...f.members.map((m): [number, number] => [m.classId, m.oid])],
        [ref("operator family", f.schema, methodScopedName(f.name, f.method))]), `OPERATOR FAMILY ${qualify(f.schema, f.name)} USING ${quoteIdent(f.method)}`)),
    ...catalog.operatorClasses.map((c) =>
      owned(node("operator class", `${CATALOG.pg_opclass}:${c.oid}`, `${qualify(c.schema, c.name)} ${c.method}`, createOperatorClass(c),
        [[CATALOG.pg_opclass, c.oid], ...c.members.map((m): [number, number] => [m.classId, m.oid])],
        [ref("operator class", c.schema, methodScopedName(c.name, c.method))]), `OPERATOR CLASS ${qualify(c.schema, c.name)} USING ${quoteIdent(c.method)}`)),
    ...catalog.conversions.map((c) =>
      owned(node("conversion", `${CATALOG.pg_conversion}:${c.oid}`, qualify(c.schema, c.name), createConversion(c), [[CATALOG.pg_conversion, c.oid]],
        [ref("conversion", c.schema, c.name)]), `CONVERSION ${qualify(c.schema, c.name)}`)),
    ...catalog.textSearchParsers.map((p) =>
      node("text search parser", `${CATALOG.pg_ts_parser}:${p.oid}`, qualify(p.schema, p.name), createTextSearchParser(p), [[CATALOG.pg_ts_parser, p.oid]],
        [ref("text search parser", p.schema, p.name)])),
    ...catalog.textSearchTemplates.map((t) =>
      node("text search template", `${CATALOG.pg_ts_template}:${t.oid}`, qualify(t.schema, t.name), createTextSearchTemplate(t), [[CATALOG.pg_ts_template, t.oid]],
        [ref("text search template", t.schema, t.name)])),
    ...catalog.functions.map((f) =>
      owned(node("function", `${pg_proc}:${f.oid}`, `${qualify(f.schema, f.name)}(${f.argTypes})`, createFunction(f), [[pg_proc, f.oid]],
        [ref(f.kind, f.schema, `${f.name}(${f.argTypes})`)]), `${f.kind.toUpperCase()} ${qualify(f.schema, f.name)}(${f.identityArgs})`, "")),
    ...catalog.aggregates.map((a) =>
      owned(node("function", `${pg_proc}:${a.oid}`, `${qualify(a.schema, a.name)}(${a.argTypes})`, createAggregate(a), [[pg_proc, a.oid]],
        [ref("aggregate", a.schema, `${a.name}(${a.argTypes})`)]),
        `AGGREGATE ${qualify(a.schema, a.name)}(${a.identityArgs === "" ? "*" : a.identityArgs})`, `FUNCTION ${qualify(a.schema, a.name)}(${a.argTypes})`)),
    ...catalog.textSearchDictionaries.map((d) =>
      owned(node("text search dictionary", `${CATALOG.pg_ts_dict}:${d.oid}`, qualify(d.schema, d.name), createTextSearchDictionary(d),
        [[CATALOG.pg_ts_dict, d.oid]], [ref("text search dictionary", d.schema, d.name)]), `TEXT SEARCH DICTIONARY ${qualify(d.schema, d.name)}`)),
    ...catalog.textSearchConfigurations.map((c) =>
      owned(node("text search configuration", `${CATALOG.pg_ts_config}:${c.oid}`, qualify(c.schema, c.name), createTextSearchConfiguration(c),
        [[CATALOG.pg_ts_config, c.oid]], [ref("text search configuration", c.schema, c.name)]), `TEXT SEARCH CONFIGURATION ${qualify(c.schema, c.name)}`)),
    ...catalog.casts.map((c) =>
      node("cast", `${CATALOG.pg_cast}:${c.oid}`, `(${c.source} AS ${c.target})`, createCast(c), [[CATALOG.pg_cast, c.oid]],
        [ref("cast", "", `(${c.source} AS ${c.target})`)])),
    ...catalog.wrappers.map((w) =>
      owned(node("foreign-data wrapper", `${CATALOG.pg_foreign_data_wrapper}:${w.oid}`, quoteIdent(w.name), createForeignDataWrapper(w),
        [[CATALOG.pg_foreign_data_wrapper, w.oid]], [ref("foreign-data wrapper", "", w.name)]), `FOREIGN DATA WRAPPER ${quoteIdent(w.name)}`, "")),
    ...catalog.servers.map((s) =>
      owned(node("foreign server", `${CATALOG.pg_foreign_server}:${s.oid}`, quoteIdent(s.name), createServer(s),
        [[CATALOG.pg_foreign_server, s.oid]], [ref("foreign server", "", s.name)]), `SERVER ${quoteIdent(s.name)}`, `FOREIGN SERVER ${quoteIdent(s.name)}`)),
    ...catalog.userMappings.map((m) =>
      node("user mapping", `${CATALOG.pg_user_mapping}:${m.oid}`, userMappingName(m), createUserMapping(m),
        [[CATALOG.pg_user_mapping, m.oid]], [ref("user mapping", "", userMappingName(m))])),
    ...catalog.sequences.map((s) =>
      owned(node("sequence", `${pg_class}:${s.oid}`, qualify(s.schema, s.name), createSequence(s), [[pg_class, s.oid]], [ref("sequence", s.schema, s.name)]),
        `SEQUENCE ${qualify(s.schema, s.name)}`, "")),
    ...catalog.sequences.flatMap((s) => s.owner === undefined ? [] : [
      node("owned-by", `owned-by:${s.oid}`, qualify(s.schema, s.name), sequenceOwnedBy(s), [], [], [[pg_class, s.oid], [pg_class, s.owner.oid]]),
    ]),
    ...catalog.tables.map((t) =>
      owned(node("table", `${pg_class}:${t.oid}`, qualify(t.schema, t.name), createTable(t), [[pg_class, t.oid], [pg_type, t.rowTypeOid], ...t.parts], [
        ref(t.foreign ? "foreign table" : "table", t.schema, t.name),
        ...t.columns.flatMap((c) => (c.identity ? [ref("sequence", c.identity.sequence.schema, c.identity.sequence.name)] : [])),
        ...t.checks.map((c) => ref("constraint", c.schema, c.name, c.table)),
      ], t.inherits.map((p): [number, number] => [pg_class, p.oid])), `${t.foreign ? "FOREIGN TABLE" : "TABLE"} ${qualify(t.schema, t.name)}`,
      `TABLE ${qualify(t.schema, t.name)}`, identityGrants(t))),
    ...catalog.tables.flatMap((t) => t.partitionOf === undefined ? [] : [
      node("attach-partition", `attach-partition:${t.oid}`, qualify(t.schema, t.name), attachPartition(t), [], [],
        [[pg_class, t.oid], [pg_class, t.partitionOf.oid]]),
    ]),
    ...catalog.views.map((v) =>
      owned(node("view", `${pg_class}:${v.oid}`, qualify(v.schema, v.name), createView(v), [[pg_class, v.oid], [pg_type, v.rowTypeOid], [pg_rewrite, v.ruleOid], ...v.parts],
        [ref(v.materialized ? "materialized view" : "view", v.schema, v.name)]),
        `${v.materialized ? "MATERIALIZED VIEW" : "VIEW"} ${qualify(v.schema, v.name)}`, `TABLE ${qualify(v.schema, v.name)}`)),
    ...catalog.views.flatMap((v) => v.materialized?.populated ? [
      node("refresh", `refresh:${v.oid}`, qualify(v.schema, v.name), refreshMaterializedView(v), [], [], [[pg_class, v.oid]]),
    ] : []),
    ...catalog.indexes.filter((i) => !catalog.constraints.some((c) => keyIndex(c) && c.indexOid === i.oid)).map((i) =>
      node("index", `${pg_class}:${i.oid}`, qualify(i.schema, i.name), createIndex(i), [[pg_class, i.oid]], [ref("index", i.schema, i.name, i.table)])),
    ...catalog.indexes.flatMap((i) => i.parent === undefined ? [] : [
      node("attach-index", `attach-index:${i.oid}`, qualify(i.schema, i.name), attachIndex(i), [], [], [[pg_class, i.oid], [pg_class, i.parent.oid]]),
    ]),
    ...catalog.constraints.map((c) =>
      node(keyIndex(c) ? "constraint" : "late-constraint", `${pg_constraint}:${c.oid}`, label(c.schema, c.table, c.name),
        addConstraint(c),
        keyIndex(c) ? [[pg_constraint, c.oid], [pg_class, c.indexOid]] : [[pg_constraint, c.oid]],
        c.validates === undefined ? [ref("constraint", c.schema, c.name, c.table)] : [],
        c.validates === undefined ? [] : [[pg_constraint, c.validates]])),
    ...catalog.domainConstraints.map((c) =>
      node("late-constraint", `${pg_constraint}:${c.oid}`, label(c.schema, c.domain, c.name), domainConstraint(c), [[pg_constraint, c.oid]],
        [ref("constraint", c.schema, c.name, c.domain)])),
    // Named with its table, so that the table filters take it along, when both are in one schema.
    ...catalog.statistics.map((s) =>
      owned(node("statistics", `${CATALOG.pg_statistic_ext}:${s.oid}`, qualify(s.schema, s.name), createStatistics(s), [[CATALOG.pg_statistic_ext, s.oid]],
        [ref("statistics object", s.schema, s.name, s.table.schema === s.schema ? s.table.name : undefined)]), `STATISTICS ${qualify(s.schema, s.name)}`)),
    ...catalog.triggers.map((t) =>
      node("trigger", `${pg_trigger}:${t.oid}`, label(t.schema, t.table, t.name), createTrigger(t), [[pg_trigger, t.oid]],
        t.clone ? [] : [ref("trigger", t.schema, t.name, t.table)])),
    ...catalog.rules.map((r) =>
      node("rule", `${pg_rewrite}:${r.oid}`, label(r.schema, r.table, r.name), createRule(r), [[pg_rewrite, r.oid]], [ref("rule", r.schema, r.name, r.table)])),
    ...catalog.tables.flatMap((t) => t.rowSecurity || t.forceRowSecurity ? [
      node("row-security", `row-security:${t.oid}`, qualify(t.schema, t.name), rowSecurity(t), [], [], [[pg_class, t.oid]]),
    ] : []),
    ...catalog.policies.map((p) =>
      node("policy", `${pg_policy}:${p.oid}`, label(p.schema, p.table, p.name), createPolicy(p), [[pg_policy, p.oid]], [ref("policy", p.schema, p.name, p.table)])),
    ...catalog.publications.map((p) =>
      owned(node("publication", `${pg_publication}:${p.oid}`, quoteIdent(p.name), createPublication(p),
        [[pg_publication, p.oid], ...p.members.map((m): [number, number] => [m.classId, m.oid])], [ref("publication", "", p.name)]),
        `PUBLICATION ${quoteIdent(p.name)}`)),
    // Created and filled by the dump's large-object member after the data; here only what follows.
    ...catalog.largeObjects.map((o) =>
      owned(node("large-object", `${CATALOG.pg_largeobject_metadata}:${o.oid}`, String(o.oid), largeObjectComment(o), [[CATALOG.pg_largeobject_metadata, o.oid]],
        [ref("large object", "", String(o.oid))]), `LARGE OBJECT ${o.oid}`, "")),
    ...catalog.eventTriggers.map((e) =>
      owned(node("event-trigger", `${pg_event_trigger}:${e.oid}`, quoteIdent(e.name), createEventTrigger(e), [[pg_event_trigger, e.oid]],
        [ref("event trigger", "", e.name)]), `EVENT TRIGGER ${quoteIdent(e.name)}`)),
  ];
}

/**
 * Attach pg_depend edges to nodes. A catalog row stands for the node that creates it; an extension
 * member stands for its extension (a column of type hstore needs CREATE EXTENSION hstore first).
 * Sequence → table edges are skipped: they record ownership (OWNED BY), written after both exist.
 * A materialized view is refreshed after those it reads, even through views and functions between.
 */
function linkDependencies(nodes: DumpNode[], catalog: Catalog): void {
  const owner = new Map<string, DumpNode>();
  for (const n of nodes) for (const row of n.creates) owner.set(row, n);
  const extensionNode = new Map(nodes.filter((n) => n.kind === "extension").map((n) => [n.key, n]));
  for (const [member, extensionOid] of catalog.members) {
    const ext = extensionNode.get(`${CATALOG.pg_extension}:${extensionOid}`);
    if (ext !== undefined && !owner.has(member)) owner.set(member, ext);
  }
  const deps = new Map<string, Set<string>>(nodes.map((n) => [n.key, new Set(n.deps)]));
  const shells = new Map(nodes.flatMap((n) => (n.shellOf === undefined ? [] : [[n.shellOf.typeKey, n] as const])));
  const link = (source: DumpNode | undefined, target: DumpNode | undefined) => {
    if (source === undefined || target === undefined || source === target) return;
    const shell = shells.get(target.key);
    const early = shell !== undefined && source.creates.some((row) => shell.shellOf?.rows.includes(row));
    deps.get(source.key)?.add(early ? shell.key : target.key);
  };
  for (const [from, to] of catalog.depends) {
    const source = owner.get(from);
    const target = owner.get(to);
    if (source?.kind === "sequence" && target?.kind === "table") continue;
    link(source, target);
  }
  for (const n of nodes) for (const row of n.needs) link(n, owner.get(row));
  for (const n of nodes) n.deps = [...(deps.get(n.key) ?? [])];

  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const refreshOf = new Map(nodes.filter((n) => n.kind === "refresh").map((n) => [n.needs[0]!, n]));
  for (const [viewKey, refresh] of refreshOf) {
    const seen = new Set([viewKey]);
    const stack = [...(byKey.get(viewKey)?.deps ?? [])];
    while (stack.length > 0) {
      const key = stack.pop()!;
      if (seen.has(key)) continue;
      seen.add(key);
      const earlier = refreshOf.get(key);
      if (earlier !== undefined) refresh.deps = [...refresh.deps, earlier.key];
      const reached = byKey.get(key);
      if (reached?.kind === "view" || reached?.kind === "function") stack.push(...reached.deps);
    }
  }
}

/**
 * Split into sections. A key that a pre-data object needs (a view grouping by a primary key relies
 * on it for functional dependency) moves into pre-data, as pg_dump does.
 */
function splitSections(nodes: DumpNode[]): { pre: DumpNode[]; post: DumpNode[] } {
  const keys = new Set(nodes.filter((n) => n.kind === "constraint").map((n) => n.key));
  const pre = new Set(nodes.filter((n) => PRE_DATA_KINDS.has(n.kind)).map((n) => n.key));
  for (const n of nodes) {
    if (!pre.has(n.key)) continue;
    for (const dep of n.deps) if (keys.has(dep)) pre.add(dep);
  }
  return { pre: nodes.filter((n) => pre.has(n.key)), post: nodes.filter((n) => !pre.has(n.key)) };
}

function ordered(nodes: DumpNode[]): DumpNode[] {
  try {
    return dependencyOrder(nodes, "throw");
  } catch (error) {
    if (error instanceof DependencyCycleError) {
      throw new UnsupportedObjectsError(error.members.map((m) => `circular dependency through ${m}`));
    }
    throw error;
  }
}

/** With `access`, the owners and grants of the objects kept are collected, and written when `privileges` asks. */
function assembleDump(
  catalog: Catalog, sequences: SequenceValue[], options: SchemaOptions, skipped: string[], access: AccessByObject | undefined,
): Omit<SchemaDump, "roles" | "warnings"> & { accessUsed: Access[] } {
  // An extension's configuration rows are replaced only where the backup has them.
  const inScope = scope(options);
  const config = catalog.extensionConfig.filter((c) =>
    !inScope.schemaOut(c.schema) && !inScope.tableOut(`${c.schema}.${c.name}`) && (c.sequence || !(options.excludeTableData ?? []).includes(`${c.schema}.${c.name}`)));
  const nodes = buildNodes({ ...catalog, extensionConfig: config });
  linkDependencies(nodes, catalog);
  const selected = selectNodes(nodes, catalog, options);
  const accessUsed: Access[] = [];
  for (const n of selected) {
    const found = n.access === undefined ? undefined : access?.get(n.creates[0] ?? "");
    if (found === undefined || n.access === undefined) continue;
    accessUsed.push(found);
    if (options.privileges) n.statements = [...n.statements, ...ownerAndGrants(n.access, found)];
    for (const part of n.partGrants ?? []) {
      const partAccess = access?.get(part.row);
      if (partAccess === undefined) continue;
      accessUsed.push(partAccess);
      if (options.privileges) n.statements = [...n.statements, ...grants(part.grantOn, partAccess)];
    }
  }
  const { pre, post } = splitSections(selected);
  const preOrder = ordered(pre);
  const postOrder = ordered(post);
  const kept = new Set(selected.map((n) => n.key));
  const keptSequences = new Set([
    ...selected.flatMap((n) => n.refs).filter((r) => r.kind === "sequence").map((r) => qualify(r.schema, r.name)),
    ...config.filter((c) => c.sequence).map((c) => qualify(c.schema, c.name)),
  ]);
  const noData = new Set(options.excludeTableData ?? []);
  return {
    preData: preOrder.flatMap((n) => n.statements),
    // Configuration rows first (the user's tables may reference them); rows live in the leaf
    // partitions, which are loaded directly, as pg_dump does.
    tables: [...config.filter((c) => !c.sequence).map(extensionConfigData), ...dataOrder(
      catalog.tables.filter((t) => t.partitionKey === undefined && t.foreign === undefined && kept.has(`${CATALOG.pg_class}:${t.oid}`) && !noData.has(`${t.schema}.${t.name}`)),
      catalog.constraints,
    ).map(tableData)],
    sequences: sequences.filter((s) => keptSequences.has(s.qualifiedName)),
    postData: postOrder.flatMap((n) => n.statements),
    objects: [...preOrder, ...postOrder].flatMap((n) => n.refs),
    extensions: catalog.extensions.map((e): ExtensionRef => ({ name: e.name, version: e.version, schema: e.schema })),
    skipped: [...skipped, ...catalog.secretsLeftOut],
    accessUsed,
  };
}

const RELATION_KINDS = new Set(["table", "foreign table", "view", "materialized view", "sequence"]);

/**
 * The nodes the schema and table filters keep. Statements without an object of their own (attach,
 * refresh, OWNED BY, row security) go with what they need. A kept object that needs a left-out one
 * would fail to restore: that is an error naming both, never a silently broken archive.
 */
function selectNodes(nodes: DumpNode[], catalog: Catalog, options: SchemaOptions): DumpNode[] {
  const { includeSchemas, excludeSchemas = [], includeTables, excludeTables = [] } = options;
  if (includeSchemas === undefined && includeTables === undefined && excludeSchemas.length === 0 && excludeTables.length === 0) return nodes;
  const relations = new Set(
    [...catalog.tables, ...catalog.views, ...catalog.sequences].map((r) => `${r.schema}.${r.name}`),
  );
  const { schemaOut, tableOut } = scope(options);
  const relationOut = (name: string) => relations.has(name) && tableOut(name);
  const outOfScope = (ref: ObjectRef) => {
    if (ref.schema === "") return ref.kind === "schema" && schemaOut(ref.name);
    if (schemaOut(ref.schema)) return true;
    const relation = ref.table ?? (RELATION_KINDS.has(ref.kind) ? ref.name : undefined);
    return relation !== undefined && relationOut(`${ref.schema}.${relation}`);
  };
  const out = new Set(nodes.filter((n) => n.refs[0] !== undefined && outOfScope(n.refs[0])).map((n) => n.key));
  for (let changed = true; changed; ) {
    changed = false;
    for (const n of nodes) {
      if (n.refs.length === 0 && !out.has(n.key) && n.deps.some((d) => out.has(d))) {
        out.add(n.key);
        changed = true;
      }
    }
  }
  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const broken = nodes.flatMap((n) =>
    out.has(n.key) ? [] : n.deps.filter((d) => out.has(d)).map((d) => `${n.sortName} needs ${byKey.get(d)?.sortName}`));
  if (broken.length > 0) {
    throw new BackupError(
      `The schema and table filters leave out objects that kept ones need, so the archive could not be restored: ` +
        `${broken.slice(0, 20).join("; ")}. Include those objects too, or leave out what needs them.`,
    );
  }
  return nodes.filter((n) => !out.has(n.key));
}

/** What the schema and table filters leave out; `tableOut` takes `schema.name`. */
function scope(options: SchemaOptions): { schemaOut: (schema: string) => boolean; tableOut: (name: string) => boolean } {
  const { includeSchemas, excludeSchemas = [], includeTables, excludeTables = [] } = options;
  return {
    schemaOut: (schema) => excludeSchemas.includes(schema) || (includeSchemas !== undefined && !includeSchemas.includes(schema)),
    tableOut: (name) => excludeTables.includes(name) || (includeTables !== undefined && !includeTables.includes(name)),
  };
}

/** Referenced tables first (cycles broken by name): foreign keys come after the data anyway. */
function dataOrder(tables: TableDef[], constraints: ConstraintDef[]): TableDef[] {
  return dependencyOrder(
    tables.map((t) => ({
      key: String(t.oid), rank: 0, sortName: qualify(t.schema, t.name), table: t,
      deps: constraints.filter((c) => c.type === "f" && c.tableOid === t.oid).map((c) => String(c.referencedOid)),
    })),
    "break",
  ).map((n) => n.table);
}

function extensionConfigData(config: ExtensionConfigDef): TableData {
  return { schema: config.schema, name: config.name, qualifiedName: qualify(config.schema, config.name), ...extensionConfigCopy(config) };
}

function tableData(table: TableDef): TableData {
  return { schema: table.schema, name: table.name, qualifiedName: qualify(table.schema, table.name), ...copyStatements(table) };
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

/**
 * Objects whose owner must be a superuser but no longer is (the role lost SUPERUSER after creating
 * them): the archive's ALTER … OWNER TO would fail, so the backup says so when it is made.
 */
async function findUnrestorableOwners(client: pg.ClientBase): Promise<string[]> {
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
    `${what} is owned by ${quoteIdent(owner)}, which is not a superuser: restoring its owner will fail (PostgreSQL requires a superuser). ` +
      `Make ${quoteIdent(owner)} a superuser again or give the object to one (ALTER … OWNER TO), then back up again.`);
}

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
