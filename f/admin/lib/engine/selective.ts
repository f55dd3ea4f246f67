// A selective restore: the rows of chosen tables replaced by the backup's, inside the caller's
// transaction, reading only those tables' gzip members (each proven the backup's before COMMIT).
// Foreign keys to or from tables left out are refused unless asked; the sequences the tables own
// are set in a way that a rollback takes back.
import type pg from "pg";
import type { Manifest, TableEntry } from "../archive/manifest.ts";
import type { ProvenArchive } from "../archive/reader.ts";
import { RestoreRefusedError } from "../errors.ts";
import { qualify, quoteIdent } from "./quote.ts";
import { archivedSequenceValues, loadTable, setSequences, type TableCheck } from "./restore.ts";

export interface ForeignKey {
  constraint: string;
  /** `schema.table` holding the constraint. */
  from: string;
  /** `schema.table` it references. */
  to: string;
  /** pg_constraint.confdeltype: a no action, r restrict, c cascade, n set null, d set default. */
  on_delete: string;
}

/** Pure: the manifest's entries for the names asked for (`schema.table`, or `table` when only one schema has it). */
export function selectTables(manifest: Manifest, requested: string[]): TableEntry[] {
  const chosen = new Map<string, TableEntry>();
  for (const name of requested) {
    const matches = manifest.tables.filter((t) => `${t.schema}.${t.name}` === name || (!name.includes(".") && t.name === name));
    if (matches.length !== 1) {
      const known = manifest.tables.map((t) => `${t.schema}.${t.name}`).join(", ");
      throw new RestoreRefusedError(
        `Restore refused: ${
          matches.length === 0
            ? `the backup has no table ${JSON.stringify(name)}`
            : `${JSON.stringify(name)} is in several schemas; write it as schema.table`
        }. ` +
          `Nothing was changed. Its tables: ${known}.`,
      );
    }
    chosen.set(`${matches[0]!.schema}.${matches[0]!.name}`, matches[0]!);
  }
  return [...chosen.values()];
}

/**
 * Pure: foreign keys of tables left out that point at chosen ones: emptying a chosen table could
 * leave their rows pointing at nothing. A chosen table pointing at one left out is fine: PostgreSQL
 * checks each restored row against it (the restore rolls back if one points at a missing row).
 */
export function brokenForeignKeys(chosen: Set<string>, keys: ForeignKey[]): ForeignKey[] {
  return keys.filter((k) => chosen.has(k.to) && !chosen.has(k.from));
}

/** Pure: the refusal naming each foreign key and the two ways on. */
export function foreignKeyRefusal(chosen: Set<string>, broken: ForeignKey[]): string {
  const lines = broken.map((k) => `${k.from} → ${k.to} (constraint ${k.constraint})`);
  const missing = [...new Set(broken.map((k) => k.from).filter((t) => !chosen.has(t)))];
  return (
    `Restore refused: the restore empties the chosen tables, and ${broken.length} foreign key(s) of tables left out point at their rows: ${
      lines.join("; ")
    }. ` +
    `Nothing was changed. Add those tables to tables (${missing.join(", ")}), or pass skip_foreign_key_check: true to let PostgreSQL ` +
    "check that every row they point at comes back (the restore then rolls back if one does not)."
  );
}

/** Pure: chosen tables with every table they reference first (a cycle keeps the given order). */
export function parentsFirst(tables: TableEntry[], keys: ForeignKey[]): TableEntry[] {
  const byName = new Map(tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const ordered: TableEntry[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string) => {
    if (state.has(name)) return;
    state.set(name, "visiting");
    for (const k of keys) if (k.from === name && k.to !== name && byName.has(k.to)) visit(k.to);
    state.set(name, "done");
    ordered.push(byName.get(name)!);
  };
  for (const name of byName.keys()) visit(name);
  return ordered;
}

/** For each name (`schema.table`, or `table`) of a partitioned table in the target, its leaf partitions as `schema.table`. */
export async function partitionLeaves(client: pg.ClientBase, names: string[]): Promise<Map<string, string[]>> {
  const { rows } = await client.query<{ asked: string; leaves: string[] }>(
    `SELECT w.name AS asked,
            ARRAY(SELECT ln.nspname || '.' || l.relname FROM pg_catalog.pg_partition_tree(c.oid) t
                    JOIN pg_catalog.pg_class l ON l.oid = t.relid JOIN pg_catalog.pg_namespace ln ON ln.oid = l.relnamespace
                   WHERE t.isleaf ORDER BY 1) AS leaves
       FROM unnest($1::text[]) w(name)
       JOIN pg_catalog.pg_class c ON c.relkind = 'p'
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND (n.nspname || '.' || c.relname = w.name OR (strpos(w.name, '.') = 0 AND c.relname = w.name))`,
    [names],
  );
  const leaves = new Map<string, string[]>();
  for (const row of rows) leaves.set(row.asked, [...(leaves.get(row.asked) ?? []), ...row.leaves]);
  return leaves;
}

/** The target's foreign keys (schema-qualified table names, unquoted). */
export async function foreignKeys(client: pg.ClientBase): Promise<ForeignKey[]> {
  const { rows } = await client.query<ForeignKey>(
    `SELECT c.conname AS constraint, fn.nspname || '.' || f.relname AS from, tn.nspname || '.' || t.relname AS to, c.confdeltype::text AS on_delete
       FROM pg_catalog.pg_constraint c
       JOIN pg_catalog.pg_class f ON f.oid = c.conrelid JOIN pg_catalog.pg_namespace fn ON fn.oid = f.relnamespace
       JOIN pg_catalog.pg_class t ON t.oid = c.confrelid JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
      WHERE c.contype = 'f' AND c.conparentid = 0
      ORDER BY 2, 1`,
  );
  return rows;
}

export interface SelectiveOutcome {
  checks: TableCheck[];
  sequences: string[];
}

/**
 * Refuse, before anything is written, a selection the target cannot take: tables it lacks, foreign
 * keys from tables left out (unless skipped), ON DELETE actions that would change other tables.
 * Returns the target's foreign keys.
 */
export async function checkSelection(client: pg.ClientBase, tables: TableEntry[], skipForeignKeyCheck: boolean): Promise<ForeignKey[]> {
  const names = tables.map((t) => `${t.schema}.${t.name}`);
  const present = await client.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname || '.' || c.relname = ANY($1)`,
    [names],
  );
  const missing = names.filter((n) => !present.rows.some((r) => r.name === n));
  if (missing.length > 0) {
    throw new RestoreRefusedError(
      `Restore refused: ${missing.join(", ")} does not exist in the target database, and a selective restore replaces rows only. ` +
        "Nothing was changed. Restore the whole backup (without tables), or create the table first.",
    );
  }
  const keys = await foreignKeys(client);
  const chosen = new Set(names);
  const broken = brokenForeignKeys(chosen, keys);
  if (broken.length > 0 && !skipForeignKeyCheck) throw new RestoreRefusedError(foreignKeyRefusal(chosen, broken));
  const cascading = broken.filter((k) => ["c", "n", "d"].includes(k.on_delete));
  if (cascading.length > 0) {
    throw new RestoreRefusedError(
      `Restore refused: emptying ${cascading.map((k) => k.to).join(", ")} would change ${cascading.map((k) => k.from).join(", ")} ` +
        `through ON DELETE actions (${
          cascading.map((k) => k.constraint).join(", ")
        }), even with skip_foreign_key_check. Nothing was changed. ` +
        "Add those tables to tables.",
    );
  }
  return keys;
}

/**
 * Replace the chosen tables' rows inside the caller's transaction, set the sequences they own, and
 * verify them. Tables are emptied with one TRUNCATE when nothing else references them, else by
 * DELETE children first (PostgreSQL then checks every remaining reference).
 */
export async function restoreTables(
  client: pg.ClientBase,
  archive: ProvenArchive,
  tables: TableEntry[],
  options: { skipForeignKeyCheck: boolean; onTable?: (table: TableEntry, index: number, total: number) => void },
): Promise<SelectiveOutcome> {
  const keys = await checkSelection(client, tables, options.skipForeignKeyCheck);
  const chosen = new Set(tables.map((t) => `${t.schema}.${t.name}`));
  const ordered = parentsFirst(tables, keys);
  await client.query("SET CONSTRAINTS ALL DEFERRED");
  // Locks first, in one statement: a busy table fails here, on lock_timeout, before any row moves.
  await client.query(`LOCK TABLE ${ordered.map((t) => qualify(t.schema, t.name)).join(", ")} IN ACCESS EXCLUSIVE MODE`);
  if (brokenForeignKeys(chosen, keys).length > 0) {
    for (const t of [...ordered].reverse()) await client.query(`DELETE FROM ${qualify(t.schema, t.name)}`);
  } else {
    await client.query(`TRUNCATE TABLE ${ordered.map((t) => qualify(t.schema, t.name)).join(", ")}`);
  }
  // The rows are the backup's as they were: the tables' own triggers (an updated_at stamp, an
  // audit copy) must not rewrite them on the way in. Foreign keys' internal triggers stay on.
  const triggers = await userTriggers(client, ordered);
  for (const t of triggers) await client.query(`ALTER TABLE ${t.table} DISABLE TRIGGER ${quoteIdent(t.name)}`);
  const checks: TableCheck[] = [];
  for (const [index, table] of ordered.entries()) {
    checks.push(await loadTable(client, archive, table));
    options.onTable?.(table, index, ordered.length);
  }
  for (const t of triggers) await client.query(`ALTER TABLE ${t.table} ENABLE ${ENABLE_MODE[t.mode] ?? ""} TRIGGER ${quoteIdent(t.name)}`);
  const owned = await ownedSequences(client, tables);
  const settings = owned.size === 0 ? [] : (await archivedSequenceValues(archive)).filter((s) => owned.has(s.sequence));
  await setSequences(client, settings);
  return { checks, sequences: settings.map((s) => owned.get(s.sequence)!) };
}

/** pg_trigger.tgenabled → the ENABLE form that puts a trigger back as it was. */
const ENABLE_MODE: Record<string, string> = { O: "", R: "REPLICA", A: "ALWAYS" };

/** The enabled triggers users made on the tables (not those of foreign keys), with how each was enabled. */
async function userTriggers(client: pg.ClientBase, tables: TableEntry[]): Promise<Array<{ table: string; name: string; mode: string }>> {
  const { rows } = await client.query<{ schema: string; table: string; name: string; mode: string }>(
    `SELECT n.nspname AS schema, c.relname AS table, t.tgname AS name, t.tgenabled::text AS mode
       FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))
      ORDER BY 1, 2, 3`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return rows.map((r) => ({ table: qualify(r.schema, r.table), name: r.name, mode: r.mode }));
}

/**
 * The sequences the chosen tables own (serial and identity columns), also through a partitioned
 * table whose every partition is chosen (its identity belongs to it, not to the partitions; with
 * only some chosen, the others' ids may be past the backup's value): quoted name → `schema.name`.
 */
export async function ownedSequences(client: pg.ClientBase, tables: TableEntry[]): Promise<Map<string, string>> {
  const { rows } = await client.query<{ schema: string; name: string }>(
    `WITH chosen AS (
       SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))),
     owners AS (
       SELECT oid FROM chosen
       UNION
       SELECT a.relid FROM chosen, pg_catalog.pg_partition_ancestors(chosen.oid) a(relid)
        WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_partition_tree(a.relid) l WHERE l.isleaf AND l.relid NOT IN (SELECT oid FROM chosen)))
     SELECT sn.nspname AS schema, s.relname AS name
       FROM pg_catalog.pg_depend d
       JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
      WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
        AND d.deptype IN ('a', 'i') AND d.refobjid IN (SELECT oid FROM owners)
      ORDER BY 1, 2`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  return new Map(rows.map(({ schema, name }) => [qualify(schema, name), `${schema}.${name}`]));
}
