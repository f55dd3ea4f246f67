// What a restore would do to a target database, read without changing it: each table's rows now
// against the backup's, the objects on only one side (what the restore drops or creates), and the
// extensions the backup needs. Reads run in a READ ONLY transaction the caller opened.
import type pg from "pg";
import type { Manifest, TableEntry } from "../archive/manifest.ts";
import { RestoreRefusedError } from "../errors.ts";
import type { NamedObject, ObjectKind, ObjectRef } from "./kinds.ts";
import { KINDS } from "./registry.ts";
import { unrecoverableObjects } from "./catalog.ts";
import { objectKey, ownObjects, type SequenceSetting } from "./restore.ts";
import { checkSelection, ownedSequences } from "./selective.ts";
import { countRows, tableDigest } from "./verify.ts";

export interface TableComparison {
  table: string;
  rows_in_target: number | null;
  rows_in_backup: number | null;
  /** What the restore does to the table: replace its rows, create it, or drop it. */
  restore_will: "replace" | "create" | "drop";
  /** With compare_content: whether the target's rows are the backup's (content digest), when both have the table. */
  content?: "same" | "differs" | null;
}

export interface ExtensionNeed {
  extension: string;
  backup_version: string;
  /** The version installed in the target, or null. */
  installed_version: string | null;
  /** Whether the restoring user may create it when it is missing. */
  can_create: "installed" | "yes" | "no: not available on the server" | "no: needs a superuser (untrusted extension)"
    | "no: needs CREATE on the database";
}

export interface RestorePreview {
  tables: TableComparison[];
  would_drop: NamedObject[];
  would_create: ObjectRef[];
  extensions: ExtensionNeed[];
  /** A selective restore: the sequences it would set (serial and identity columns of the chosen tables). */
  sequences?: Array<{ sequence: string; value_in_target: string | null; value_in_backup: string }>;
  /** Why the same request would be refused before anything changes, or null. */
  would_refuse?: string | null;
}

/** Pure: the tables of both sides, with what the restore does to each, sorted by name. */
export function compareTables(backup: Array<{ table: string; rows: number }>, target: Map<string, number>): TableComparison[] {
  const rows: TableComparison[] = backup.map(({ table, rows }) => ({
    table,
    rows_in_target: target.get(table) ?? null,
    rows_in_backup: rows,
    restore_will: target.has(table) ? "replace" : "create",
  }));
  const inBackup = new Set(backup.map((t) => t.table));
  for (const [table, count] of target) {
    if (!inBackup.has(table)) rows.push({ table, rows_in_target: count, rows_in_backup: null, restore_will: "drop" });
  }
  return rows.sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
}

/** Pure: objects only in the target (dropped for good) and only in the backup (created). */
export function objectsOnOneSide(backup: ObjectRef[], target: ObjectRef[]): { would_drop: ObjectRef[]; would_create: ObjectRef[] } {
  // The kinds a person recognises as "what will appear or disappear"; indexes and such follow their tables.
  const compared = (o: NamedObject) => Object.hasOwn(KINDS, o.kind) && KINDS[o.kind as ObjectKind].shown;
  const backupKeys = new Set(backup.filter(compared).map(objectKey));
  const targetKeys = new Set(target.filter(compared).map(objectKey));
  // A schema the target drops whole takes its contents along; they are not listed one by one.
  const droppedSchemas = new Set(target.filter((o) => o.kind === "schema" && !backupKeys.has(objectKey(o))).map((o) => o.name));
  return {
    would_drop: target.filter((o) => compared(o) && !backupKeys.has(objectKey(o))),
    would_create: backup.filter((o) =>
      compared(o) && o.kind !== "schema" && !targetKeys.has(objectKey(o)) && !droppedSchemas.has(o.schema)
    ),
  };
}

export interface ExtensionState {
  name: string;
  installed_version: string | null;
  available: boolean;
  trusted: boolean;
}

/** Pure: whether each extension the backup needs is there, or may be created by this user. */
export function extensionNeeds(
  needed: Manifest["extensions"],
  states: Map<string, ExtensionState>,
  user: { superuser: boolean; createOnDatabase: boolean },
): ExtensionNeed[] {
  return needed.map((extension) => {
    const state = states.get(extension.name);
    const can_create: ExtensionNeed["can_create"] = state?.installed_version
      ? "installed"
      : !state?.available
      ? "no: not available on the server"
      : user.superuser || (state.trusted && user.createOnDatabase)
      ? "yes"
      : !state.trusted
      ? "no: needs a superuser (untrusted extension)"
      : "no: needs CREATE on the database";
    return { extension: extension.name, backup_version: extension.version, installed_version: state?.installed_version ?? null,
      can_create };
  });
}

/** Pure: a backup's age for people ("3 days 4 hours"). */
export function describeAge(createdAt: Date, now: Date): string {
  const minutes = Math.max(0, Math.floor((now.getTime() - createdAt.getTime()) / 60_000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const parts = [[days, "day"], [hours, "hour"], [minutes % 60, "minute"]] as const;
  const shown = parts.filter(([n]) => n > 0).slice(0, 2).map(([n, unit]) => `${n} ${unit}${n === 1 ? "" : "s"}`);
  return shown.length > 0 ? shown.join(" ") : "less than a minute";
}

/**
 * With compare_content: each table both sides have, its rows' digest in the target against the
 * manifest's, computed as the restore's verification does (the client has the pinned settings). A
 * table whose columns changed cannot be compared that way: it differs. Extension configuration
 * tables are left out (their rows are compared by the extension's own condition after a restore).
 */
async function compareContent(client: pg.ClientBase, tables: TableEntry[], comparisons: TableComparison[]): Promise<TableComparison[]> {
  const byName = new Map(tables.map((t) => [`${t.schema}.${t.name}`, t]));
  const compared: TableComparison[] = [];
  for (const row of comparisons) {
    const entry = byName.get(row.table);
    if (!entry || row.rows_in_target === null || entry.condition !== undefined) {
      compared.push({ ...row, content: null });
      continue;
    }
    await client.query("SAVEPOINT compare_content");
    try {
      const found = await tableDigest(client, entry);
      compared.push({ ...row, content: found.rows === entry.rows && found.digest === entry.digest ? "same" : "differs" });
      await client.query("RELEASE SAVEPOINT compare_content");
    } catch {
      await client.query("ROLLBACK TO SAVEPOINT compare_content");
      compared.push({ ...row, content: "differs" });
    }
  }
  return compared;
}

/**
 * What a selective restore of `tables` would do to the target (connected, READ ONLY): their rows
 * now and in the backup, the sequences it would set, and the refusal it would meet, if any.
 */
export async function previewSelection(
  client: pg.ClientBase,
  manifest: Manifest,
  tables: TableEntry[],
  sequenceValues: SequenceSetting[],
  options: { skipForeignKeyCheck: boolean; compareContent: boolean },
): Promise<RestorePreview> {
  let would_refuse: string | null = null;
  await client.query("SAVEPOINT check_selection");
  try {
    await checkSelection(client, tables, options.skipForeignKeyCheck);
  } catch (error) {
    if (!(error instanceof RestoreRefusedError)) throw error;
    would_refuse = error.message;
    await client.query("ROLLBACK TO SAVEPOINT check_selection");
  }
  const present = new Set((await client.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND (n.nspname, c.relname) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  )).rows.map((r) => r.name));
  let comparisons: TableComparison[] = [];
  for (const t of tables) {
    const name = `${t.schema}.${t.name}`;
    comparisons.push({ table: name, rows_in_target: present.has(name) ? await countRows(client, t.schema, t.name) : null,
      rows_in_backup: t.rows, restore_will: "replace" });
  }
  if (options.compareContent) comparisons = await compareContent(client, tables, comparisons);
  const owned = await ownedSequences(client, tables);
  const sequences = [];
  for (const setting of sequenceValues.filter((s) => owned.has(s.sequence))) {
    const { rows } = await client.query<{ value: string | null }>(
      `SELECT CASE WHEN s.is_called THEN s.last_value::text END AS value FROM ${setting.sequence} s`,
    );
    sequences.push({ sequence: owned.get(setting.sequence)!, value_in_target: rows[0]?.value ?? null,
      value_in_backup: setting.isCalled ? setting.value : `${setting.value} (not yet used)` });
  }
  return { tables: comparisons, would_drop: [], would_create: [], extensions: [], sequences, would_refuse };
}

/** Read the target (connected, in a READ ONLY transaction) and compare it with the manifest. */
export async function previewAgainst(
  client: pg.ClientBase,
  manifest: Manifest,
  options: { compareContent?: boolean } = {},
): Promise<RestorePreview> {
  const archiveSchemas = new Set(manifest.objects.filter((o) => o.kind === "schema").map((o) => o.name));
  const own = await ownObjects(client, archiveSchemas);
  // A partitioned table holds no rows of its own (its partitions are counted): compare the partitions, as the manifest does.
  const partitioned = new Set((await client.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'p'`,
  )).rows.map((r) => r.name));
  const target = new Map<string, number>();
  for (const table of own.filter((o) => o.kind === "table" && !partitioned.has(`${o.schema}.${o.name}`))) {
    target.set(`${table.schema}.${table.name}`, await countRows(client, table.schema, table.name));
  }
  const states = await client.query<ExtensionState>(
    `SELECT a.name, x.extversion AS installed_version, true AS available,
            COALESCE((SELECT bool_or(v.trusted) FROM pg_catalog.pg_available_extension_versions v WHERE v.name = a.name), false) AS trusted
       FROM pg_catalog.pg_available_extensions a LEFT JOIN pg_catalog.pg_extension x ON x.extname = a.name
      WHERE a.name = ANY($1)`,
    [manifest.extensions.map((e) => e.name)],
  );
  const user = await client.query<{ superuser: boolean; create_on_database: boolean }>(
    `SELECT r.rolsuper AS superuser, pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE') AS create_on_database
       FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`,
  );
  const tables = compareTables(manifest.tables.map((t) => ({ table: `${t.schema}.${t.name}`, rows: t.rows })), target);
  const sides = objectsOnOneSide(manifest.objects, own.map(({ kind, schema, name }) => ({ kind, schema, name })));
  return {
    tables: options.compareContent ? await compareContent(client, manifest.tables, tables) : tables,
    // What no backup holds is lost whatever the archive has (the restore refuses unless allowed).
    ...sides,
    would_drop: [...(await unrecoverableObjects(client)), ...sides.would_drop],
    extensions: extensionNeeds(manifest.extensions, new Map(states.rows.map((s) => [s.name, s])), {
      superuser: user.rows[0]?.superuser ?? false,
      createOnDatabase: user.rows[0]?.create_on_database ?? false,
    }),
  };
}
