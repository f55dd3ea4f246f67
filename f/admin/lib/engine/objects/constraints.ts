// The constraints-and-indexes family: CHECK, key, exclusion and foreign-key constraints (and NOT
// NULLs added NOT VALID), indexes with their CLUSTER and replica-identity use, extended statistics,
// triggers and rules. They belong to their tables: post-data, except the validated checks CREATE
// TABLE holds; an in-place restore drops them with their tables (statistics objects first).
import type pg from "pg";
import type { Comments } from "../comments.ts";
import type { InPlaceScope, OwnObject } from "../kinds.ts";
import { memberLabel, node, owned, ref, type DumpNode } from "../plan/nodes.ts";
import { qualify, quoteIdent } from "../quote.ts";
import { CATALOG, commentOn, namedInSchemas, notExtensionMember, rows } from "../sql.ts";

export interface ConstraintDef {
  oid: number;
  schema: string;
  table: string;
  tableOid: number;
  name: string;
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
  clustered: boolean;
  replicaIdentity: boolean;
  /** The parent's NOT VALID constraint that this validated copy is made from (added first, then validated here). */
  validates?: number;
  comment?: string;
  indexComment?: string;
}

export interface IndexDef {
  oid: number;
  schema: string;
  table: string;
  name: string;
  definition: string;
  clustered: boolean;
  replicaIdentity: boolean;
  /** The partitioned index this one is attached to. */
  parent?: { oid: number; schema: string; name: string };
  /** Statistics targets set on its expression columns (ALTER INDEX … ALTER COLUMN n SET STATISTICS). */
  columnStatistics: Array<{ column: number; target: number }>;
  comment?: string;
}

export interface StatisticsDef {
  oid: number;
  schema: string;
  name: string;
  /** The table or materialized view it describes. */
  table: { schema: string; name: string };
  /** pg_get_statisticsobjdef: `CREATE STATISTICS s.n (dependencies) ON a, lower(b) FROM s.t`, qualified. */
  definition: string;
  /** Its statistics target, only when set. */
  target?: number;
  comment?: string;
}

export interface TriggerDef {
  oid: number;
  schema: string;
  table: string;
  name: string;
  definition: string;
  /** pg_trigger.tgenabled: O fires normally, D disabled, R replica only, A always. */
  enabled: string;
  /** A partition's clone of its parent's trigger: only its state is written, when it differs. */
  clone: boolean;
  comment?: string;
}

export interface RuleDef {
  oid: number;
  schema: string;
  table: string;
  name: string;
  definition: string;
  enabled: string;
  comment?: string;
}

/** The OID of the NOT VALID NOT NULL of a parent that a table's inherited, validated NOT NULL copies, or NULL. */
const INVALID_PARENT_NOT_NULL = `(SELECT pc.oid FROM pg_catalog.pg_inherits i
    JOIN pg_catalog.pg_constraint pc ON pc.conrelid = i.inhparent AND pc.contype = 'n' AND NOT pc.convalidated AND pc.conname = co.conname
   WHERE co.contype = 'n' AND co.convalidated AND NOT co.conislocal AND i.inhrelid = co.conrelid LIMIT 1)`;

/**
 * CHECK, PRIMARY KEY, UNIQUE, EXCLUDE, FOREIGN KEY, and NOT NULL constraints added NOT VALID. A constraint copied to a partition by its
 * parent's (a foreign key, or the referencing side of one to a partitioned table) has conparentid.
 */
export async function readConstraints(
  client: pg.ClientBase,
  comments: Comments,
  tables: ReadonlyArray<{ oid: number }>,
): Promise<ConstraintDef[]> {
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
export async function readIndexes(client: pg.ClientBase, comments: Comments, relationOids: number[]): Promise<IndexDef[]> {
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
export async function readStatistics(client: pg.ClientBase, comments: Comments, relationOids: number[]): Promise<StatisticsDef[]> {
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
    ...s,
    table: { schema: tableSchema, name: tableName },
    ...(target === null ? {} : { target }),
    comment: comments.take(CATALOG.pg_statistic_ext, s.oid),
  }));
}

/**
 * User triggers; the internal ones (foreign key checks) come back with their constraints. A
 * partition's clone of its parent's trigger is kept only to restore its state when it differs.
 */
export async function readTriggers(client: pg.ClientBase, comments: Comments, relationOids: number[]): Promise<TriggerDef[]> {
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
export async function readRules(client: pg.ClientBase, comments: Comments, relationOids: number[]): Promise<RuleDef[]> {
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
    ...index.columnStatistics.map((s) =>
      `ALTER INDEX ${qualify(index.schema, index.name)} ALTER COLUMN ${s.column} SET STATISTICS ${s.target};`
    ),
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

/**
 * Keys (and their indexes) and other indexes, partition indexes attached to their parents', extended
 * statistics, triggers, rules, and the late constraints: foreign keys and NOT VALID checks.
 */
export function constraintNodes(
  c: { constraints: ConstraintDef[]; indexes: IndexDef[]; statistics: StatisticsDef[]; triggers: TriggerDef[]; rules: RuleDef[] },
): DumpNode[] {
  const { pg_class, pg_constraint, pg_rewrite, pg_statistic_ext, pg_trigger } = CATALOG;
  const keyIndex = (x: ConstraintDef) => x.type === "p" || x.type === "u" || x.type === "x";
  return [
    ...c.indexes.filter((i) => !c.constraints.some((x) => keyIndex(x) && x.indexOid === i.oid)).map((i) =>
      node("index", `${pg_class}:${i.oid}`, qualify(i.schema, i.name), createIndex(i), [[pg_class, i.oid]], [
        ref("index", i.schema, i.name, i.table),
      ])
    ),
    ...c.indexes.flatMap((i) =>
      i.parent === undefined ? [] : [
        node("attach-index", `attach-index:${i.oid}`, qualify(i.schema, i.name), attachIndex(i), [], [], [[pg_class, i.oid], [pg_class,
          i.parent.oid]]),
      ]
    ),
    ...c.constraints.map((x) =>
      node(keyIndex(x) ? "constraint" : "late-constraint", `${pg_constraint}:${x.oid}`, memberLabel(x.schema, x.table, x.name),
        addConstraint(x), keyIndex(x) ? [[pg_constraint, x.oid], [pg_class, x.indexOid]] : [[pg_constraint, x.oid]],
        x.validates === undefined ? [ref("constraint", x.schema, x.name, x.table)] : [],
        x.validates === undefined ? [] : [[pg_constraint, x.validates]])
    ),
    // Named with its table, so that the table filters take it along, when both are in one schema.
    ...c.statistics.map((s) =>
      owned(
        node("statistics", `${pg_statistic_ext}:${s.oid}`, qualify(s.schema, s.name), createStatistics(s), [[pg_statistic_ext, s.oid]], [
          ref("statistics object", s.schema, s.name, s.table.schema === s.schema ? s.table.name : undefined),
        ]),
        `STATISTICS ${qualify(s.schema, s.name)}`,
      )
    ),
    ...c.triggers.map((t) =>
      node("trigger", `${pg_trigger}:${t.oid}`, memberLabel(t.schema, t.table, t.name), createTrigger(t), [[pg_trigger, t.oid]],
        t.clone ? [] : [ref("trigger", t.schema, t.name, t.table)])
    ),
    ...c.rules.map((r) =>
      node("rule", `${pg_rewrite}:${r.oid}`, memberLabel(r.schema, r.table, r.name), createRule(r), [[pg_rewrite, r.oid]], [
        ref("rule", r.schema, r.name, r.table),
      ])
    ),
  ];
}

/** Before the tables, which would take them along unreported. */
export async function listStatistics(client: pg.ClientBase, scope: InPlaceScope): Promise<OwnObject[]> {
  return (await namedInSchemas(client, scope.inside, "pg_statistic_ext", "stxname", "stxnamespace")).map((s) => ({
    kind: "statistics object",
    schema: s.schema,
    name: s.name,
    drop: `DROP STATISTICS IF EXISTS ${qualify(s.schema, s.name)}`,
  }));
}
