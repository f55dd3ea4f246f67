// A restore's preview (dry run): proves the archive readable (sha256, manifest, every member to its
// end) and says what a restore would change in the target, without changing anything: no lock
// taken, no file written, the target read in a READ ONLY transaction.
import type pg from "pg";
import { describeSignature, membersOf, type Manifest } from "../archive/manifest.ts";
import { checkArchiveReadable, describeEncryption, ProvenArchive, type ArchiveKeys } from "../archive/reader.ts";
import { RestoreRefusedError } from "../errors.ts";
import { withConnection, type DatabaseTarget } from "../engine/connection.ts";
import type { NamedObject } from "../engine/kinds.ts";
import { describeAge, previewAgainst, previewSelection, type RestorePreview } from "../engine/preview.ts";
import { archivedSequenceValues, missingRoles } from "../engine/restore.ts";
import { selectTables } from "../engine/selective.ts";
import { inSnapshot } from "../engine/session.ts";
import { databaseExists } from "../engine/target.ts";
import type { Storage } from "../storage/storage.ts";
import { findBackup } from "./inventory.ts";
import { withPartitions } from "./restore.ts";

export interface PreviewRequest {
  database: DatabaseTarget;
  source: Storage;
  backupName: string;
  /** The database a restore would write into (created by the restore when missing). */
  targetDatabase: string;
  /** A selective restore's tables: the preview is of exactly that request. */
  tables?: string[];
  skipForeignKeyCheck?: boolean;
  /** Also compare each table's rows with the backup's by content digest, not only by count. */
  compareContent?: boolean;
  /** Keys that open encrypted archives and verify signatures. */
  keys?: ArchiveKeys;
  now?: Date;
}

export interface PreviewOutcome extends RestorePreview {
  /** Whether the restore brings back owners and grants, and what that needs. */
  privileges: string;
  /** Roles the backup names that this server lacks: the restore would refuse (unless create_roles). */
  missing_roles: string[];
  /** "whole database", or the tables a selective restore replaces. */
  scope: string;
  backup: string;
  backup_created_at: string;
  backup_age: string;
  archive_check: string;
  /** How the archive is stored, and whether its manifest's signature held. */
  encryption: string;
  signature: string;
  target_database: string;
  target_exists: boolean;
  manifest: Manifest;
}

export async function previewRestore(request: PreviewRequest): Promise<PreviewOutcome> {
  const { source, backupName } = request;
  const backup = await findBackup(source, backupName);
  if (!backup.manifest || backup.problem) {
    throw new RestoreRefusedError(
      `Backup ${backupName} in ${source.location} cannot be trusted (${backup.problem}); a restore would refuse it. Pick another backup.`,
    );
  }
  const manifest = backup.manifest;
  const selective = (request.tables?.length ?? 0) > 0;
  let archive_check: string;
  let signature: string;
  let target: { exists: boolean; preview: RestorePreview };
  if (selective) {
    // Exactly what the restore reads: the chosen tables' members and the sequence values, each proven.
    const where = { ...request.database, dbname: request.targetDatabase };
    const tables = selectTables(manifest, await withPartitions(where, manifest, request.tables!));
    const archive = await ProvenArchive.open(source, manifest, { keys: request.keys });
    signature = describeSignature(archive.signature);
    for (const t of tables) {
      const { chunks, proven } = archive.stream(t.range, `the rows of ${t.schema}.${t.name}`);
      for await (const _ of chunks);
      proven();
    }
    const sequences = await archivedSequenceValues(archive);
    archive_check = `sha256 of the ${tables.length} chosen tables' members and of the sequence values matches the manifest`;
    target = await readTarget(request.database, request.targetDatabase, manifest, (client) =>
      previewSelection(client, manifest, tables, sequences, { skipForeignKeyCheck: request.skipForeignKeyCheck ?? false,
        compareContent: request.compareContent ?? false }));
    if (!target.exists) {
      target.preview.would_refuse = `database ${
        JSON.stringify(request.targetDatabase)
      } does not exist, and a selective restore writes into an existing database`;
    }
  } else {
    const readable = await checkArchiveReadable(source, manifest, request.keys);
    const decompressed_bytes = readable.decompressed_bytes;
    signature = describeSignature(readable.signature);
    archive_check =
      `sha256 of the archive and of each member matches the manifest; ${membersOf(manifest).length} gzip members read to the end ` +
      `(${manifest.archive.size} bytes, ${decompressed_bytes} decompressed)`;
    target = await readTarget(request.database, request.targetDatabase, manifest, (client) =>
      previewAgainst(client, manifest, { compareContent: request.compareContent ?? false }));
  }
  const missing = manifest.scope?.roles === true || selective ? [] : await rolesMissing(request.database, manifest.roles ?? []);
  return {
    ...target.preview,
    privileges: selective ? "unchanged: a selective restore replaces rows only" : privilegesNote(manifest, target.exists),
    missing_roles: missing,
    scope: selective ? `the rows of ${target.preview.tables.map((t) => t.table).join(", ")}` : "the whole database",
    backup: backupName,
    backup_created_at: manifest.created_at_local,
    backup_age: describeAge(new Date(manifest.created_at), request.now ?? new Date()),
    archive_check,
    encryption: describeEncryption(manifest),
    signature,
    target_database: request.targetDatabase,
    target_exists: target.exists,
    manifest,
  };
}

/** Pure: what happens to owners and grants, in a sentence. */
export function privilegesNote(manifest: Manifest, targetExists: boolean): string {
  if (manifest.privileges === true) {
    return `restored: owners, grants and default privileges as they were (${manifest.roles?.length ?? 0} roles named)`;
  }
  const lost = targetExists
    ? "; every object restored is owned by the restoring user, and roles that can use objects here now lose that access"
    : "";
  return manifest.format_version === 1 && manifest.scope?.privileges === true
    ? "restored: owners and grants (a version 1 backup: privileges of extension members are not in it)"
    : `not in this backup (backup_settings.dump.privileges was off)${lost}`;
}

async function rolesMissing(database: DatabaseTarget, roles: string[]): Promise<string[]> {
  return await withConnection(database, "windmill-pg-backup: restore preview (roles)", (client) => missingRoles(client, roles));
}

async function readTarget(
  database: DatabaseTarget,
  dbname: string,
  manifest: Manifest,
  read: (client: pg.ClientBase) => Promise<RestorePreview>,
): Promise<{ exists: boolean; preview: RestorePreview }> {
  const exists = await withConnection(database, "windmill-pg-backup: restore preview", (admin) => databaseExists(admin, dbname));
  if (!exists) return { exists, preview: emptyTarget(manifest) };
  // The settings a restore verifies with (a content digest depends on how values print), read only.
  return { exists,
    preview: await withConnection(database, "windmill-pg-backup: restore preview", (client) => inSnapshot(client, () => read(client)),
      dbname) };
}

/** A target the restore creates: every table and object is new; every extension must be created. */
function emptyTarget(manifest: Manifest): RestorePreview {
  return {
    tables: manifest.tables.map((t) => ({ table: `${t.schema}.${t.name}`, rows_in_target: null, rows_in_backup: t.rows,
      restore_will: "create" })
    ),
    would_drop: [],
    would_create: manifest.objects.filter((o) => o.kind !== "schema"),
    extensions: manifest.extensions.map((e) => ({ extension: e.name, backup_version: e.version, installed_version: null,
      can_create: "yes" })
    ),
  };
}

const label = (o: NamedObject) => `${o.kind} ${o.schema ? `${o.schema}.` : ""}${o.name}`;

/** Pure: the few lines a person reads before pressing the button. */
/**
 * The preview for people. `howToRestore` ends it when nothing stands in the way: how the caller
 * runs the restore itself (the script's arguments by default; the rescue tool names its flag).
 */
export function previewMarkdown(
  preview: PreviewOutcome,
  howToRestore = "Run again with `dry_run: false` and `confirm_restore: true` to restore.",
): string {
  const changed = preview.tables.filter((t) => t.rows_in_target !== t.rows_in_backup);
  const differs = preview.tables.filter((t) => t.content === "differs");
  const compared = preview.tables.some((t) => t.content !== undefined);
  const missing = preview.extensions.filter((e) => e.can_create.startsWith("no"));
  const list = (objects: NamedObject[]) =>
    objects.slice(0, 20).map(label).join(", ") + (objects.length > 20 ? `, and ${objects.length - 20} more` : "");
  const selective = preview.sequences !== undefined;
  const warnings = [
    ...(preview.would_refuse ? [`- ⚠ The restore would refuse, changing nothing: ${preview.would_refuse}`] : []),
    ...(preview.missing_roles.length > 0
      ? [
        `- ⚠ The restore would refuse: roles ${
          preview.missing_roles.join(", ")
        } do not exist on this server; create them, or pass \`create_roles: true\`.`,
      ]
      : []),
    ...(missing.length > 0
      ? [`- ⚠ The restore would fail: ${missing.map((e) => e.extension).join(", ")} cannot be created by this user; install them first.`]
      : []),
  ];
  return [
    `### Restore preview: ${preview.backup} → ${preview.target_database}${preview.target_exists ? "" : " (new database)"}`,
    `- **Backup**: taken ${preview.backup_created_at}, **${preview.backup_age} old**; archive: ${preview.archive_check}.`,
    `- **Encrypted**: ${preview.encryption}; **signature**: ${preview.signature}.`,
    `- **Restores**: ${preview.scope}.`,
    `- **Tables**: ${
      preview.tables.filter((t) => t.restore_will !== "drop").length
    } restored, ${changed.length} with a different row count ` +
    `(rows now ${sum(preview.tables.map((t) => t.rows_in_target))}, after ${sum(preview.tables.map((t) => t.rows_in_backup))})` +
    (compared
      ? `, ${differs.length} whose rows differ from the backup's (content digest)${
        differs.length > 0 ? `: ${differs.map((t) => t.table).join(", ")}` : ""
      }.`
      : "."),
    ...(selective
      ? [
        `- **Sequences set**: ${
          preview.sequences!.length === 0
            ? "none"
            : preview.sequences!.map((q) => `${q.sequence} ${q.value_in_target ?? "unused"} → ${q.value_in_backup}`).join(", ")
        }. Nothing else is dropped or created.`,
      ]
      : [
        `- **Dropped for good** (only in the target): ${preview.would_drop.length === 0 ? "nothing" : list(preview.would_drop)}.`,
        `- **Created** (only in the backup): ${preview.would_create.length === 0 ? "nothing" : list(preview.would_create)}.`,
        `- **Extensions**: ${
          preview.extensions.length === 0 ? "none needed" : preview.extensions.map((e) => `${e.extension} (${e.can_create})`).join(", ")
        }.`,
      ]),
    `- **Owners and grants**: ${preview.privileges}.`,
    ...warnings,
    warnings.length === 0
      ? `- Nothing was changed. ${howToRestore}`
      : "- Nothing was changed.",
  ].join("\n");
}

const sum = (values: Array<number | null>) => values.reduce<number>((total, v) => total + (v ?? 0), 0);
