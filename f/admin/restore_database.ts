// DESTRUCTIVE: restore a backup, local or on S3, into f/admin/database (or into target_database).
// Refuses without confirm_restore: true; takes a pre-restore backup first (on the local volume);
// replaces the database's objects in one transaction that commits only after every table's rows
// match the backup's manifest; nothing of the archive runs before its bytes match the manifest's digests.
// dry_run: true previews instead (changes nothing); tables restores chosen tables' rows only;
// pg_dump_archive: true restores an archive made by pg_dump in plain format. A target holding objects
// no backup can hold (left out by skip_unsupported) is refused unless allow_unrecoverable_drops: true.
// nobundling
// package_json: windmill_pg_backup

import { z } from "zod";
import { previewMarkdown, previewRestore } from "./lib/operations/preview.ts";
import { restoreBackup } from "./lib/operations/restore.ts";
import { RestoreRefusedError } from "./lib/errors.ts";
import { LocalStorage } from "./lib/storage/local.ts";
import { S3Storage } from "./lib/storage/s3.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { withAudit } from "./lib/windmill/audit.ts";
import { jobProgress } from "./lib/windmill/progress.ts";
import { busyPolicy, type BackupSettings, type DatabaseResource } from "./lib/settings.ts";
import { loadDatabase, loadKeyring, loadS3Config, loadSettings } from "./lib/windmill/resources.ts";
import { s3OnlyStorage } from "./lib/windmill/storages.ts";
import type { Storage } from "./lib/storage/storage.ts";

/** The arguments, with main's defaults (test/windmill_arguments.test.ts keeps the two equal). */
export const Args = z.object({
  backup_filename: z.string({ error: "give the file name of a backup, as list_backups shows it" }).min(1,
    "give the file name of a backup, as list_backups shows it"),
  backup_source: z.enum(["local", "s3"]).default("local"),
  confirm_restore: z.boolean().default(false),
  create_pre_restore_backup: z.boolean().default(true),
  target_database: z.string().default(""),
  database_resource: z.string().min(1).default("f/admin/database"),
  settings_resource: z.string().min(1).default("f/admin/backup_settings"),
  s3_resource: z.string().min(1).default("f/admin/s3_backup_config"),
  dry_run: z.boolean().default(false),
  tables: z.array(z.string().min(1, "schema.table, e.g. public.family_documents")).default([]),
  skip_foreign_key_check: z.boolean().default(false),
  pg_dump_archive: z.boolean().default(false),
  terminate_sessions: z.boolean().default(false),
  fail_if_busy: z.boolean().default(false),
  create_roles: z.boolean().default(false),
  allow_empty_result: z.boolean().default(false),
  compare_content: z.boolean().default(false),
  allow_unrecoverable_drops: z.boolean().default(false),
});

/** Windmill's entry point: the form's (or the flow's) values, forwarded by name. */
export async function main(
  backup_filename: string,
  backup_source: "local" | "s3" = "local",
  confirm_restore: boolean = false,
  create_pre_restore_backup: boolean = true,
  target_database: string = "",
  database_resource: string = "f/admin/database",
  settings_resource: string = "f/admin/backup_settings",
  s3_resource: string = "f/admin/s3_backup_config",
  dry_run: boolean = false,
  tables: string[] = [],
  skip_foreign_key_check: boolean = false,
  pg_dump_archive: boolean = false,
  terminate_sessions: boolean = false,
  fail_if_busy: boolean = false,
  create_roles: boolean = false,
  allow_empty_result: boolean = false,
  compare_content: boolean = false,
  allow_unrecoverable_drops: boolean = false,
): Promise<RestoreResult | PreviewResult> {
  return await run({
    backup_filename,
    backup_source,
    confirm_restore,
    create_pre_restore_backup,
    target_database,
    database_resource,
    settings_resource,
    s3_resource,
    dry_run,
    tables,
    skip_foreign_key_check,
    pg_dump_archive,
    terminate_sessions,
    fail_if_busy,
    create_roles,
    allow_empty_result,
    compare_content,
    allow_unrecoverable_drops,
  });
}

/**
 * The script as a library call, for other scripts and flows: `input` is checked against Args, its
 * defaults filled in. Without dry_run (or with dry_run: false) the result is always a restore's.
 */
export async function run(input: z.input<typeof Args> & { dry_run?: false }): Promise<RestoreResult>;
export async function run(input: z.input<typeof Args>): Promise<RestoreResult | PreviewResult>;
export async function run(input: z.input<typeof Args>): Promise<RestoreResult | PreviewResult> {
  const args = parseScriptArgs(Args, input);
  const started = Date.now();
  const settings = busyPolicy(await loadSettings(args.settings_resource), args.fail_if_busy);
  const database = await loadDatabase(args.database_resource);
  // S3 only (local_copy: false): every backup is in the bucket, whatever backup_source says.
  const source = !settings.local_copy
    ? await s3OnlyStorage(args.settings_resource, args.s3_resource)
    : args.backup_source === "s3"
    ? new S3Storage(await loadS3Config(args.s3_resource))
    : new LocalStorage(settings.backup_dir, { access: "read" });
  if (args.dry_run) return await preview(args, database, settings, source);
  return await restore(args, database, settings, source, started);
}

type PreviewResult = Awaited<ReturnType<typeof preview>>;
type RestoreResult = Awaited<ReturnType<typeof restore>>;

async function restore(args: z.infer<typeof Args>, database: DatabaseResource, settings: BackupSettings, source: Storage, started: number) {
  // The pre-restore backup is written to the local volume, or with local_copy: false streamed to the
  // bucket the backups are in (source is then that bucket); without one, the volume is not needed.
  const storage = args.create_pre_restore_backup && settings.local_copy
    ? new LocalStorage(settings.backup_dir, { access: "write", create: settings.create_backup_dir })
    : source;
  // The row of a successful restore goes into the restored database, after the restore (a row
  // written before would have been replaced). A failed restore writes none: it promises the
  // database exactly as it was; the job's log and error tell the story.
  const { audit, ...outcome } = await withAudit(database, "restore", () =>
    restoreBackup({
      database,
      settings,
      storage,
      source,
      backupName: args.backup_filename,
      confirm: args.confirm_restore,
      createPreRestoreBackup: args.create_pre_restore_backup,
      targetDatabase: args.target_database || undefined,
      tables: args.tables,
      skipForeignKeyCheck: args.skip_foreign_key_check,
      pgDumpArchive: args.pg_dump_archive,
      terminateSessions: args.terminate_sessions,
      createRoles: args.create_roles,
      allowEmptyResult: args.allow_empty_result,
      allowUnrecoverableDrops: args.allow_unrecoverable_drops,
      keys: loadKeyring(settings),
      onProgress: jobProgress(),
    }), (done) => ({
      database: { ...database, dbname: done.target_database },
      message:
        `restored ${done.backup} into ${done.target_database}: ${done.verification.tables.length} tables, verification ${
          done.verification.passed ? "passed" : "FAILED"
        }` +
        (done.pre_restore_backup ? `; roll back with ${done.pre_restore_backup}` : ""),
      details: {
        backup: done.backup,
        source: source.location,
        target_database: done.target_database,
        pre_restore_backup: done.pre_restore_backup,
        dropped_objects: done.dropped_objects.length,
        rows: done.verification.tables.reduce((sum, t) => sum + t.found_rows, 0),
      },
    }), { recordFailure: false });
  const rollback = outcome.pre_restore_backup
    // The pre-restore backup is always written to the local volume; a selective restore is undone
    // by restoring the same tables from it.
    ? {
      backup_filename: outcome.pre_restore_backup,
      backup_source: "local",
      confirm_restore: true,
      create_pre_restore_backup: false,
      ...(args.target_database ? { target_database: args.target_database } : {}),
      ...(args.tables.length > 0 ? { tables: args.tables, skip_foreign_key_check: args.skip_foreign_key_check } : {}),
    }
    : null;
  return {
    status: "success",
    restored_from: outcome.backup,
    backup_source: args.backup_source,
    restored_from_location: source.location,
    backup_created_at: outcome.backup_created_at,
    archive_kind: args.pg_dump_archive ? "pg_dump plain format" : "windmill-pg-backup",
    encrypted: outcome.encryption,
    signature: outcome.signature,
    target_database: outcome.target_database,
    created_database: outcome.created_database,
    pre_restore_backup: outcome.pre_restore_backup,
    pre_restore_note: outcome.pre_restore_note,
    rollback_request: rollback,
    tables_restored: outcome.verification.tables.length,
    sequences_set: outcome.sequences_set,
    terminated_sessions: outcome.terminated_sessions,
    rows_restored: outcome.verification.tables.reduce((sum, t) => sum + t.found_rows, 0),
    dropped_objects: outcome.dropped_objects.map((o) => `${o.kind} ${o.schema ? `${o.schema}.` : ""}${o.name}`),
    verification: {
      passed: outcome.verification.passed,
      method: outcome.verification.method,
      tables: outcome.verification.tables.map((t) => ({
        table: t.table,
        expected_rows: t.expected_rows,
        actual_rows: t.found_rows,
        match: t.match,
        expected_digest: t.expected_digest || null,
        actual_digest: t.found_digest || null,
      })),
    },
    duration_seconds: Math.round((Date.now() - started) / 100) / 10,
    audit,
    reminder: "Restart or reconnect the app's database connection pools: cached table and type ids are stale after a restore.",
  };
}

/**
 * The dry run: nothing changed, no lock, no file written. Windmill renders `render_all` as a
 * markdown summary, a table (one row per table) and the full details as JSON.
 */
async function preview(args: z.infer<typeof Args>, database: DatabaseResource, settings: BackupSettings, source: Storage) {
  if (args.pg_dump_archive) {
    throw new RestoreRefusedError(
      "dry_run does not cover archives made by pg_dump yet (they have no manifest to compare with). Nothing was changed.",
    );
  }
  const outcome = await previewRestore({
    database,
    source,
    backupName: args.backup_filename,
    targetDatabase: args.target_database || database.dbname,
    tables: args.tables,
    skipForeignKeyCheck: args.skip_foreign_key_check,
    compareContent: args.compare_content,
    keys: loadKeyring(settings),
  });
  const { manifest, tables, ...details } = outcome;
  const rows = tables.map((t) => ({
    ...t,
    difference: t.rows_in_backup === null || t.rows_in_target === null ? null : t.rows_in_backup - t.rows_in_target,
  }));
  const columns = ["table", "rows_in_target", "rows_in_backup", "difference", ...(args.compare_content ? ["content"] : []), "restore_will"];
  return {
    render_all: [
      { markdown: previewMarkdown(outcome) },
      { "table-row-object": [columns, ...rows] },
      {
        json: { status: "dry_run", changed: "nothing", ...details, tables: rows, backup_source: args.backup_source,
          backup_location: source.location },
      },
    ],
  };
}
