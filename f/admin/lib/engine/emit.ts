// How each catalog object is written as SQL: one small function per kind, from the typed
// definitions read by catalog.ts to complete statements ending in `;`. No I/O, no ordering.
import type {
  AggregateDef, CastDef, CollationDef, ExtensionConfigDef, ColumnDef, CompositeDef, ConstraintDef, DomainConstraintDef, DomainDef, EnumDef, EventTriggerDef,
  ExtensionDef, FdwOptions, ForeignDataWrapperDef, ForeignServerDef, FunctionDef, IndexDef, PolicyDef, PublicationDef, RangeDef, RuleDef, SchemaDef, SequenceDef, TableDef,
  StatisticsDef, TextSearchConfigurationDef, TextSearchDictionaryDef, TriggerDef, UserMappingDef, ViewDef,
} from "./catalog.ts";
import type { Access, DatabaseSetting, DefaultPrivilegeDef, Grant, RoleDef } from "./privileges.ts";
import { dollarQuote, qualify, quoteIdent, quoteLiteral } from "./quote.ts";
import { copyFromStatement } from "./table-member.ts";

export function commentOn(target: string, text: string | undefined): string[] {
  return text === undefined ? [] : [`COMMENT ON ${target} IS ${quoteLiteral(text)};`];
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

export function createEnum(type: EnumDef): string[] {
  const name = qualify(type.schema, type.name);
  const labels = type.labels.map((label) => `    ${quoteLiteral(label)}`).join(",\n");
  return [`CREATE TYPE ${name} AS ENUM (\n${labels}\n);`, ...commentOn(`TYPE ${name}`, type.comment)];
}

export function createCollation(collation: CollationDef): string[] {
  const name = qualify(collation.schema, collation.name);
  const options = collation.options.map(([key, value]) => `${key} = ${key === "deterministic" ? value : quoteLiteral(value)}`);
  return [`CREATE COLLATION ${name} (${options.join(", ")});`, ...commentOn(`COLLATION ${name}`, collation.comment)];
}

/** Validated constraints inside CREATE DOMAIN; NOT VALID ones wait for the data (domainConstraint). */
export function createDomain(domain: DomainDef): string[] {
  const name = qualify(domain.schema, domain.name);
  const clauses = [
    ...(domain.collation === undefined ? [] : [`COLLATE ${domain.collation}`]),
    ...(domain.default === undefined ? [] : [`DEFAULT ${domain.default}`]),
    ...(domain.notNull ? ["NOT NULL"] : []),
    ...domain.constraints.filter((c) => c.validated).map((c) => `CONSTRAINT ${quoteIdent(c.name)} ${c.definition}`),
  ];
  return [
    `CREATE DOMAIN ${name} AS ${domain.baseType}${clauses.map((c) => `\n    ${c}`).join("")};`,
    ...commentOn(`DOMAIN ${name}`, domain.comment),
    ...domain.constraints.filter((c) => c.validated).flatMap((c) => commentOn(`CONSTRAINT ${quoteIdent(c.name)} ON DOMAIN ${name}`, c.comment)),
  ];
}

export function domainConstraint(constraint: DomainConstraintDef): string[] {
  const domain = qualify(constraint.schema, constraint.domain);
  return [
    `ALTER DOMAIN ${domain} ADD CONSTRAINT ${quoteIdent(constraint.name)} ${constraint.definition};`,
    ...commentOn(`CONSTRAINT ${quoteIdent(constraint.name)} ON DOMAIN ${domain}`, constraint.comment),
  ];
}

export function createComposite(type: CompositeDef): string[] {
  const name = qualify(type.schema, type.name);
  const fields = type.columns.map((c) => `    ${quoteIdent(c.name)} ${c.type}${c.collation === undefined ? "" : ` COLLATE ${c.collation}`}`);
  return [
    `CREATE TYPE ${name} AS (${fields.length === 0 ? "" : `\n${fields.join(",\n")}\n`});`,
    ...commentOn(`TYPE ${name}`, type.comment),
    ...type.columns.flatMap((c) => commentOn(`COLUMN ${name}.${quoteIdent(c.name)}`, c.comment)),
  ];
}

export function createRange(range: RangeDef): string[] {
  const name = qualify(range.schema, range.name);
  const options = [
    `subtype = ${range.subtype}`,
    `multirange_type_name = ${qualify(range.multirange.schema, range.multirange.name)}`,
    ...(range.opclass === undefined ? [] : [`subtype_opclass = ${range.opclass}`]),
    ...(range.collation === undefined ? [] : [`collation = ${range.collation}`]),
    ...(range.subdiff === undefined ? [] : [`subtype_diff = ${range.subdiff}`]),
    ...(range.canonical === undefined ? [] : [`canonical = ${range.canonical.name}`]),
  ];
  return [`CREATE TYPE ${name} AS RANGE (\n    ${options.join(",\n    ")}\n);`, ...commentOn(`TYPE ${name}`, range.comment)];
}

export function createFunction(fn: FunctionDef): string[] {
  return [
    `${fn.definition.trimEnd()};`,
    ...commentOn(`${fn.kind === "procedure" ? "PROCEDURE" : "FUNCTION"} ${qualify(fn.schema, fn.name)}(${fn.identityArgs})`, fn.comment),
  ];
}

const CAST_CONTEXT: Record<CastDef["context"], string> = { e: "", a: " AS ASSIGNMENT", i: " AS IMPLICIT" };

export function createCast(cast: CastDef): string[] {
  const signature = `(${cast.source} AS ${cast.target})`;
  const method = cast.method === "b" ? "WITHOUT FUNCTION" : cast.method === "i" ? "WITH INOUT" : `WITH FUNCTION ${cast.function}`;
  return [`CREATE CAST ${signature} ${method}${CAST_CONTEXT[cast.context]};`, ...commentOn(`CAST ${signature}`, cast.comment)];
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
      `ALTER TEXT SEARCH CONFIGURATION ${name}\n    ADD MAPPING FOR ${quoteIdent(m.token)} WITH ${m.dictionaries.join(", ")};`),
    ...commentOn(`TEXT SEARCH CONFIGURATION ${name}`, configuration.comment),
  ];
}

/** ` OPTIONS (key 'value', …)` of wrappers, servers, user mappings, foreign tables and their columns. */
function fdwOptions(options: FdwOptions | undefined): string {
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

const LITERAL_AGGREGATE_OPTIONS = new Set(["INITCOND", "MINITCOND"]);

export function createAggregate(aggregate: AggregateDef): string[] {
  const signature = `${qualify(aggregate.schema, aggregate.name)}(${aggregate.args === "" ? "*" : aggregate.args})`;
  const options = aggregate.options.map(([key, value]) =>
    value === true ? key : `${key} = ${LITERAL_AGGREGATE_OPTIONS.has(key) ? quoteLiteral(value) : value}`);
  return [
    `CREATE AGGREGATE ${signature} (\n    ${options.join(",\n    ")}\n);`,
    ...commentOn(`AGGREGATE ${qualify(aggregate.schema, aggregate.name)}(${aggregate.identityArgs === "" ? "*" : aggregate.identityArgs})`, aggregate.comment),
  ];
}

/** Explicit values for every option, so the result never depends on the restoring server's defaults. */
function sequenceOptions(seq: SequenceDef): string {
  return (
    `START WITH ${seq.start} INCREMENT BY ${seq.increment} MINVALUE ${seq.min} MAXVALUE ${seq.max} ` +
    `CACHE ${seq.cache}${seq.cycle ? " CYCLE" : " NO CYCLE"}`
  );
}

export function createSequence(seq: SequenceDef): string[] {
  const name = qualify(seq.schema, seq.name);
  return [
    `CREATE ${seq.unlogged ? "UNLOGGED " : ""}SEQUENCE ${name} AS ${seq.type} ${sequenceOptions(seq)};`,
    ...commentOn(`SEQUENCE ${name}`, seq.comment),
  ];
}

/** Serial columns: the sequence exists before its table, and is tied to the column once both do. */
export function sequenceOwnedBy(seq: SequenceDef): string[] {
  if (seq.owner === undefined) return [];
  const column = `${qualify(seq.owner.schema, seq.owner.table)}.${quoteIdent(seq.owner.column)}`;
  return [`ALTER SEQUENCE ${qualify(seq.schema, seq.name)} OWNED BY ${column};`];
}

function columnClause(column: ColumnDef): string {
  const parts = [quoteIdent(column.name), column.type + fdwOptions(column.fdwOptions)];
  if (column.collation !== undefined) parts.push(`COLLATE ${column.collation}`);
  return [...parts, ...columnConstraints(column)].join(" ");
}

/** A typed table's column: its type and collation come from the composite type, only what is added here is written. */
function typedColumnClause(column: ColumnDef): string[] {
  const constraints = columnConstraints(column);
  return constraints.length === 0 ? [] : [`${quoteIdent(column.name)} WITH OPTIONS ${constraints.join(" ")}`];
}

/** Default, generation or identity, then NOT NULL. */
function columnConstraints(column: ColumnDef): string[] {
  const parts: string[] = [];
  if (column.generated !== undefined) {
    parts.push(`GENERATED ALWAYS AS (${column.default}) ${column.generated === "virtual" ? "VIRTUAL" : "STORED"}`);
  } else if (column.identity !== undefined) {
    const seq = column.identity.sequence;
    parts.push(
      `GENERATED ${column.identity.always ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY ` +
        `(SEQUENCE NAME ${qualify(seq.schema, seq.name)} ${sequenceOptions(seq)})`,
    );
  } else if (column.default !== undefined) {
    parts.push(`DEFAULT ${column.default}`);
  }
  if (column.notNullConstraint !== undefined) {
    parts.push(`CONSTRAINT ${quoteIdent(column.notNullConstraint.name)} NOT NULL${column.notNullConstraint.noInherit ? " NO INHERIT" : ""}`);
  } else if (column.notNull) {
    parts.push("NOT NULL");
  }
  return parts;
}

/** `WITH (key='value', …)`: quoted values are accepted for every option and survive any content. */
function withOptions(options: readonly string[]): string {
  if (options.length === 0) return "";
  const pairs = options.map((option) => {
    const eq = option.indexOf("=");
    return `${option.slice(0, eq)}=${quoteLiteral(option.slice(eq + 1))}`;
  });
  return ` WITH (${pairs.join(", ")})`;
}

/** ALTER COLUMN statements for what CREATE TABLE cannot say: storage, compression, statistics, options. */
function columnSettings(
  relation: string,
  columns: ReadonlyArray<Pick<ColumnDef, "name" | "storage" | "compression" | "statistics" | "options">>,
): string[] {
  return columns.flatMap((c) => {
    const column = `${relation} ALTER COLUMN ${quoteIdent(c.name)}`;
    return [
      ...(c.statistics === undefined ? [] : [`${column} SET STATISTICS ${c.statistics};`]),
      ...(c.options === undefined ? [] : [`${column} SET (${c.options.join(", ")});`]),
      ...(c.storage === undefined ? [] : [`${column} SET STORAGE ${c.storage};`]),
      ...(c.compression === undefined ? [] : [`${column} SET COMPRESSION ${c.compression};`]),
    ];
  });
}

/**
 * Validated CHECK constraints go inside CREATE TABLE; keys and foreign keys wait for post-data. A
 * child of inheritance declares only its own columns; a partition is a table of its own here and is
 * attached by attachPartition, which keeps its column order. A typed table takes its columns from
 * its type and declares only their defaults and NOT NULLs.
 */
export function createTable(table: TableDef): string[] {
  const name = qualify(table.schema, table.name);
  const lines = [
    ...(table.ofType === undefined ? table.columns.filter((c) => c.local).map(columnClause) : table.columns.flatMap(typedColumnClause)),
    ...table.checks.map((check) => `CONSTRAINT ${quoteIdent(check.name)} ${check.definition}`),
  ];
  const list = `(\n    ${lines.join(",\n    ")}\n)`;
  // A typed table's list is optional; any other table needs one, even empty.
  const body = table.ofType !== undefined ? `OF ${table.ofType}${lines.length === 0 ? "" : ` ${list}`}` : lines.length === 0 ? "()" : list;
  const inherits = table.inherits.length === 0 || table.inheritLater ? "" : `\nINHERITS (${table.inherits.map((p) => qualify(p.schema, p.name)).join(", ")})`;
  const partitioned = table.partitionKey === undefined ? "" : `\nPARTITION BY ${table.partitionKey}`;
  const method = table.accessMethod === undefined ? "" : `\nUSING ${quoteIdent(table.accessMethod)}`;
  const storage = table.foreign === undefined
    ? withOptions(table.options)
    : `\nSERVER ${quoteIdent(table.foreign.server)}${fdwOptions(table.foreign.options)}`;
  return [
    `CREATE ${table.unlogged ? "UNLOGGED " : ""}${table.foreign ? "FOREIGN " : ""}TABLE ${name} ${body}${inherits}${partitioned}${method}${storage};`,
    ...(table.inheritLater ? table.inherits.map((p) => `ALTER TABLE ONLY ${name} INHERIT ${qualify(p.schema, p.name)};`) : []),
    ...table.inheritedOverrides.flatMap((o) => [
      ...(o.default === undefined ? [] : [
        `ALTER TABLE ONLY ${name} ALTER COLUMN ${quoteIdent(o.column)} ${o.default === null ? "DROP DEFAULT" : `SET DEFAULT ${o.default}`};`,
      ]),
      ...(o.notNull ? [`ALTER TABLE ONLY ${name} ALTER COLUMN ${quoteIdent(o.column)} SET NOT NULL;`] : []),
    ]),
    ...columnSettings(`ALTER TABLE ONLY ${name}`, table.columns),
    // An identity sequence takes its table's persistence; one changed since (PostgreSQL 15) is set again.
    ...table.columns.flatMap((c) => c.identity === undefined || c.identity.sequence.unlogged === table.unlogged ? [] : [
      `ALTER SEQUENCE ${qualify(c.identity.sequence.schema, c.identity.sequence.name)} SET ${c.identity.sequence.unlogged ? "UNLOGGED" : "LOGGED"};`,
    ]),
    ...(table.replicaIdentity === undefined ? [] : [`ALTER TABLE ONLY ${name} REPLICA IDENTITY ${table.replicaIdentity === "f" ? "FULL" : "NOTHING"};`]),
    ...commentOn(`${table.foreign ? "FOREIGN TABLE" : "TABLE"} ${name}`, table.comment),
    ...table.columns.flatMap((column) => commentOn(`COLUMN ${name}.${quoteIdent(column.name)}`, column.comment)),
    ...table.checks.flatMap((check) => commentOn(`CONSTRAINT ${quoteIdent(check.name)} ON ${name}`, check.comment)),
    ...table.columns.flatMap((column) =>
      column.identity ? commentOn(`SEQUENCE ${qualify(column.identity.sequence.schema, column.identity.sequence.name)}`, column.identity.sequence.comment) : [],
    ),
  ];
}

export function attachPartition(table: TableDef): string[] {
  if (table.partitionOf === undefined) return [];
  const parent = qualify(table.partitionOf.schema, table.partitionOf.name);
  return [`ALTER TABLE ONLY ${parent} ATTACH PARTITION ${qualify(table.schema, table.name)} ${table.partitionOf.bound};`];
}

/** A materialized view is created empty; refreshMaterializedView fills it after the data. */
export function createView(view: ViewDef): string[] {
  const name = qualify(view.schema, view.name);
  const query = view.query.trim().replace(/;$/, "");
  const keyword = view.materialized ? "MATERIALIZED VIEW" : "VIEW";
  return [
    `CREATE ${keyword} ${name}${view.materialized?.accessMethod === undefined ? "" : ` USING ${quoteIdent(view.materialized.accessMethod)}`}${withOptions(view.options)} AS\n${query}${view.materialized ? "\n  WITH NO DATA" : ""};`,
    ...columnSettings(`ALTER ${keyword} ${name}`, view.columns),
    ...view.columns.flatMap((c) => (c.default === undefined ? [] : [`ALTER VIEW ${name} ALTER COLUMN ${quoteIdent(c.name)} SET DEFAULT ${c.default};`])),
    ...commentOn(`${keyword} ${name}`, view.comment),
    ...view.columns.flatMap((column) => commentOn(`COLUMN ${name}.${quoteIdent(column.name)}`, column.comment)),
  ];
}

export function refreshMaterializedView(view: ViewDef): string[] {
  return view.materialized?.populated ? [`REFRESH MATERIALIZED VIEW ${qualify(view.schema, view.name)};`] : [];
}

/** The index settings pg_dump writes with the index: CLUSTER ON and REPLICA IDENTITY USING INDEX. */
function indexUse(schema: string, table: string, index: string, use: { clustered: boolean; replicaIdentity: boolean }): string[] {
  const name = qualify(schema, table);
  return [
    ...(use.clustered ? [`ALTER TABLE ${name} CLUSTER ON ${quoteIdent(index)};`] : []),
    ...(use.replicaIdentity ? [`ALTER TABLE ONLY ${name} REPLICA IDENTITY USING INDEX ${quoteIdent(index)};`] : []),
  ];
}

/**
 * ONLY, as pg_dump writes it, except for checks and foreign keys that the table's partitions or
 * children inherit: those are added once on the parent and reach the children from there.
 */
export function addConstraint(constraint: ConstraintDef): string[] {
  const table = qualify(constraint.schema, constraint.table);
  // A child's copy of its parent's NOT VALID NOT NULL that was validated on the child alone.
  if (constraint.validates !== undefined) return [`ALTER TABLE ONLY ${table} VALIDATE CONSTRAINT ${quoteIdent(constraint.name)};`];
  const only = constraint.recurse && (constraint.type === "c" || constraint.type === "f" || constraint.type === "n") ? "" : "ONLY ";
  return [
    `ALTER TABLE ${only}${table} ADD CONSTRAINT ${quoteIdent(constraint.name)} ${constraint.definition};`,
    ...indexUse(constraint.schema, constraint.table, constraint.name, constraint),
    ...commentOn(`CONSTRAINT ${quoteIdent(constraint.name)} ON ${table}`, constraint.comment),
    ...commentOn(`INDEX ${qualify(constraint.schema, constraint.name)}`, constraint.indexComment),
  ];
}

export function createIndex(index: IndexDef): string[] {
  return [
    `${index.definition};`,
    ...index.columnStatistics.map((s) => `ALTER INDEX ${qualify(index.schema, index.name)} ALTER COLUMN ${s.column} SET STATISTICS ${s.target};`),
    ...indexUse(index.schema, index.table, index.name, index),
    ...commentOn(`INDEX ${qualify(index.schema, index.name)}`, index.comment),
  ];
}

export function createStatistics(statistics: StatisticsDef): string[] {
  const name = qualify(statistics.schema, statistics.name);
  return [
    `${statistics.definition};`,
    ...(statistics.target === undefined ? [] : [`ALTER STATISTICS ${name} SET STATISTICS ${statistics.target};`]),
    ...commentOn(`STATISTICS ${name}`, statistics.comment),
  ];
}

/** A partition's index (or key's index) joins its parent's partitioned index once both exist. */
export function attachIndex(index: { schema: string; name: string; parent?: { schema: string; name: string } }): string[] {
  if (index.parent === undefined) return [];
  return [`ALTER INDEX ${qualify(index.parent.schema, index.parent.name)} ATTACH PARTITION ${qualify(index.schema, index.name)};`];
}

const TRIGGER_STATE: Record<string, string | undefined> = { D: "DISABLE", R: "ENABLE REPLICA", A: "ENABLE ALWAYS" };

/** A partition's clone of its parent's trigger comes with the parent's; only its own state is written. */
export function createTrigger(trigger: TriggerDef): string[] {
  const table = qualify(trigger.schema, trigger.table);
  const state = trigger.clone ? (TRIGGER_STATE[trigger.enabled] ?? "ENABLE") : TRIGGER_STATE[trigger.enabled];
  return [
    ...(trigger.clone ? [] : [`${trigger.definition};`]),
    ...(state === undefined ? [] : [`ALTER TABLE ${table} ${state} TRIGGER ${quoteIdent(trigger.name)};`]),
    ...commentOn(`TRIGGER ${quoteIdent(trigger.name)} ON ${table}`, trigger.comment),
  ];
}

export function createRule(rule: RuleDef): string[] {
  const table = qualify(rule.schema, rule.table);
  const state = TRIGGER_STATE[rule.enabled];
  return [
    rule.definition.trimEnd().endsWith(";") ? rule.definition.trimEnd() : `${rule.definition.trimEnd()};`,
    ...(state === undefined ? [] : [`ALTER TABLE ${table} ${state} RULE ${quoteIdent(rule.name)};`]),
    ...commentOn(`RULE ${quoteIdent(rule.name)} ON ${table}`, rule.comment),
  ];
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

export function copyStatements(table: TableDef): { columns: string[]; copyIn: string; copyOut: string } {
  const columns = table.columns.filter((column) => column.generated === undefined).map((column) => quoteIdent(column.name));
  // A table without columns still has rows; COPY takes no column list then, as `()` is a syntax error.
  const name = qualify(table.schema, table.name);
  const target = columns.length === 0 ? name : `${name} (${columns.join(", ")})`;
  return { columns, copyIn: copyFromStatement(table.schema, table.name, columns), copyOut: `COPY ${target} TO STDOUT` };
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

export function setval(schema: string, name: string, lastValue: string, isCalled: boolean): string {
  return `SELECT pg_catalog.setval(${quoteLiteral(qualify(schema, name))}, ${lastValue}, ${isCalled});`;
}

const grantee = (grant: Grant) => (grant.grantee === null ? "PUBLIC" : quoteIdent(grant.grantee));

/**
 * The owner, then the grants exactly as the source has them: the defaults are revoked first (from
 * PUBLIC and the owner), so that what is granted afterwards is the whole list. `grantOn` is absent
 * for kinds that take no GRANT (collations, event triggers, publications).
 */
export function ownerAndGrants(target: { owner: string; grantOn?: string }, access: Access): string[] {
  return [`ALTER ${target.owner} OWNER TO ${quoteIdent(access.owner)};`, ...(target.grantOn === undefined ? [] : grants(target.grantOn, access))];
}

/** The object's grants and its columns', exactly as the source has them (see ownerAndGrants). */
export function grants(on: string, access: Access): string[] {
  const objectGrants = access.grants === null ? [] : [
    `REVOKE ALL ON ${on} FROM PUBLIC;`,
    `REVOKE ALL ON ${on} FROM ${quoteIdent(access.owner)};`,
    ...access.grants.map((g) => `GRANT ${g.privileges.join(", ")} ON ${on} TO ${grantee(g)}${g.grantable ? " WITH GRANT OPTION" : ""};`),
  ];
  const columns = access.columns.flatMap((c) =>
    c.grants.map((g) =>
      `GRANT ${g.privileges.map((p) => `${p} (${quoteIdent(c.column)})`).join(", ")} ON ${on} TO ${grantee(g)}${g.grantable ? " WITH GRANT OPTION" : ""};`));
  return [...objectGrants, ...columns];
}

/**
 * The REVOKEs and GRANTs that turn the privileges `from` into `to` on an object that exists
 * already (an extension's member, a pg_catalog object, a schema a restore keeps), per grantee,
 * revokes first. A column's privileges take the column in each privilege.
 */
export function aclChanges(on: string, column: string | null, from: Grant[], to: Grant[]): string[] {
  const held = (grants: Grant[]) => {
    const byGrantee = new Map<string, Map<string, boolean>>();
    for (const g of grants) {
      const key = grantee(g);
      const privileges = byGrantee.get(key) ?? new Map<string, boolean>();
      for (const p of g.privileges) privileges.set(p, (privileges.get(p) ?? false) || g.grantable);
      byGrantee.set(key, privileges);
    }
    return byGrantee;
  };
  const before = held(from);
  const after = held(to);
  const list = (privileges: string[]) => privileges.map((p) => (column === null ? p : `${p} (${quoteIdent(column)})`)).join(", ");
  const revokes: string[] = [];
  const grantsToMake: string[] = [];
  for (const who of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const had = before.get(who) ?? new Map<string, boolean>();
    const has = after.get(who) ?? new Map<string, boolean>();
    const gone = [...had.keys()].filter((p) => !has.has(p));
    const optionGone = [...had.keys()].filter((p) => has.get(p) === false && had.get(p) === true);
    const plain = [...has.keys()].filter((p) => has.get(p) === false && !had.has(p));
    const withOption = [...has.keys()].filter((p) => has.get(p) === true && had.get(p) !== true);
    if (gone.length > 0) revokes.push(`REVOKE ${list(gone)} ON ${on} FROM ${who} CASCADE;`);
    if (optionGone.length > 0) revokes.push(`REVOKE GRANT OPTION FOR ${list(optionGone)} ON ${on} FROM ${who} CASCADE;`);
    if (plain.length > 0) grantsToMake.push(`GRANT ${list(plain)} ON ${on} TO ${who};`);
    if (withOption.length > 0) grantsToMake.push(`GRANT ${list(withOption)} ON ${on} TO ${who} WITH GRANT OPTION;`);
  }
  return [...revokes, ...grantsToMake];
}

/**
 * A role's defaults everywhere replace the built-in ones (so they are revoked first); in a schema
 * they add to them.
 */
export function defaultPrivileges(defaults: DefaultPrivilegeDef): string[] {
  const prefix = `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(defaults.role)}${defaults.schema === null ? "" : ` IN SCHEMA ${quoteIdent(defaults.schema)}`}`;
  return [
    ...(defaults.schema === null
      ? [`${prefix} REVOKE ALL ON ${defaults.objects} FROM PUBLIC;`, `${prefix} REVOKE ALL ON ${defaults.objects} FROM ${quoteIdent(defaults.role)};`]
      : []),
    ...defaults.grants.map((g) =>
      `${prefix} GRANT ${g.privileges.join(", ")} ON ${defaults.objects} TO ${grantee(g)}${g.grantable ? " WITH GRANT OPTION" : ""};`),
  ];
}

/**
 * Statements that remove a role's default privileges (in one schema, or everywhere): every grantee's
 * are revoked, and everywhere the built-in ones are granted back, at which point PostgreSQL drops the
 * entry. What a new database has, so that objects an in-place restore creates pick up nothing extra.
 */
export function resetDefaultPrivileges(defaults: DefaultPrivilegeDef): string[] {
  const prefix = `ALTER DEFAULT PRIVILEGES FOR ROLE ${quoteIdent(defaults.role)}${defaults.schema === null ? "" : ` IN SCHEMA ${quoteIdent(defaults.schema)}`}`;
  const everyone = [...new Set(defaults.grants.map(grantee))];
  const builtIn = defaults.schema !== null ? [] : [quoteIdent(defaults.role), ...(["FUNCTIONS", "TYPES"].includes(defaults.objects) ? ["PUBLIC"] : [])];
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

/** Settings whose value is a list PostgreSQL keeps quoted element by element (pg_dump's GUC_LIST_QUOTE). */
const LIST_SETTINGS = new Set(["search_path", "temp_tablespaces", "session_preload_libraries", "shared_preload_libraries", "local_preload_libraries"]);

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
