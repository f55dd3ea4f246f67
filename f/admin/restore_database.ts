// DESTRUCTIVE: restore a backup, local or on S3, into f/admin/database (or into target_database).
// Refuses without confirm_restore: true; takes a pre-restore backup first (on the local volume);
// replaces the database's objects in one transaction that commits only after every table's rows
// match the backup's manifest (and, from S3, the streamed archive's sha256 matches too).
import { z } from "zod";
import { restoreBackup } from "./lib/operations/restore.ts";
import { LocalStorage } from "./lib/storage/local.ts";
import { S3Storage } from "./lib/storage/s3.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { withAudit } from "./lib/windmill/audit.ts";
import { jobProgress } from "./lib/windmill/progress.ts";
import { loadDatabase, loadS3Config, loadSettings } from "./lib/windmill/resources.ts";

const Args = z.object({
  backup_filename: z.string().min(1, "give the file name of a backup, as list_backups shows it"),
  backup_source: z.enum(["local", "s3"]),
  confirm_restore: z.boolean(),
  create_pre_restore_backup: z.boolean(),
  target_database: z.string(),
  database_resource: z.string().min(1),
  settings_resource: z.string().min(1),
  s3_resource: z.string().min(1),
});

export async function main(
  backup_filename: string,
  backup_source: "local" | "s3" = "local",
  confirm_restore: boolean = false,
  create_pre_restore_backup: boolean = true,
  target_database: string = "",
  database_resource: string = "f/admin/database",
  settings_resource: string = "f/admin/backup_settings",
  s3_resource: string = "f/admin/s3_backup_config",
) {
  const args = parseScriptArgs(Args, {
    backup_filename, backup_source, confirm_restore, create_pre_restore_backup, target_database, database_resource, settings_resource, s3_resource,
  });
  const started = Date.now();
  const settings = await loadSettings(args.settings_resource);
  const database = await loadDatabase(args.database_resource);
  const storage = new LocalStorage(settings.backup_dir);
  const source = args.backup_source === "s3" ? new S3Storage(await loadS3Config(args.s3_resource)) : storage;
  // The row of a successful restore goes into the restored database, after the restore (a row
  // written before would have been replaced). A failed restore writes none: it promises the
  // database exactly as it was; the job's log and error tell the story.
  const { audit, ...outcome } = await withAudit(database, "restore", () => restoreBackup({
    database, settings, storage, source,
    backupName: args.backup_filename,
    confirm: args.confirm_restore,
    createPreRestoreBackup: args.create_pre_restore_backup,
    targetDatabase: args.target_database || undefined,
    onProgress: jobProgress(),
  }), (done) => ({
    database: { ...database, dbname: done.target_database },
    message: `restored ${done.backup} into ${done.target_database}: ${done.manifest.totals.tables} tables, verification ${done.verification.passed ? "passed" : "FAILED"}` +
      (done.pre_restore_backup ? `; roll back with ${done.pre_restore_backup}` : ""),
    details: {
      backup: done.backup, source: source.location, target_database: done.target_database, pre_restore_backup: done.pre_restore_backup,
      dropped_objects: done.dropped_objects.length, rows: done.verification.tables.reduce((sum, t) => sum + t.found_rows, 0),
    },
  }), { recordFailure: false });
  const rollback = outcome.pre_restore_backup
    // The pre-restore backup is always written to the local volume.
    ? { backup_filename: outcome.pre_restore_backup, backup_source: "local", confirm_restore: true, create_pre_restore_backup: false, ...(args.target_database ? { target_database: args.target_database } : {}) }
    : null;
  return {
    status: "success",
    restored_from: outcome.backup,
    backup_source: args.backup_source,
    restored_from_location: source.location,
    backup_created_at: outcome.manifest.created_at_local,
    target_database: outcome.target_database,
    created_database: outcome.created_database,
    pre_restore_backup: outcome.pre_restore_backup,
    pre_restore_note: outcome.pre_restore_note,
    rollback_request: rollback,
    tables_restored: outcome.manifest.totals.tables,
    rows_restored: outcome.verification.tables.reduce((sum, t) => sum + t.found_rows, 0),
    dropped_objects: outcome.dropped_objects.map((o) => `${o.kind} ${o.schema ? `${o.schema}.` : ""}${o.name}`),
    verification: {
      passed: outcome.verification.passed,
      tables: outcome.verification.tables.map((t) => ({
        table: t.table, expected_rows: t.expected_rows, actual_rows: t.found_rows, match: t.match,
        expected_digest: t.expected_digest, actual_digest: t.found_digest,
      })),
    },
    duration_seconds: Math.round((Date.now() - started) / 100) / 10,
    audit,
    reminder: "Restart or reconnect the app's database connection pools: cached table and type ids are stale after a restore.",
  };
}
