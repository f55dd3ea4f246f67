// Back up the PostgreSQL database of f/admin/database into a compressed, psql-compatible archive
// with a manifest, upload both to S3 when asked (or, with local_copy: false, stream them to S3 with
// no copy on the worker), then apply the retention policy to each copy.
// Thin: parse input, call the library, shape the result.
// package_json: windmill_pg_backup

import { z } from "zod";
import { storedFile } from "./lib/archive/manifest.ts";
import { describeEncryption } from "./lib/archive/reader.ts";
import { createBackup, previewBackup, type BackupOutcome, type Skipped } from "./lib/operations/backup.ts";
import { applyRetention, type CleanupOutcome } from "./lib/operations/cleanup.ts";
import type { UploadSweep } from "./lib/operations/unfinished-uploads.ts";
import { estimateArchiveBytes } from "./lib/operations/free-space.ts";
import { megabytes } from "./lib/size.ts";
import { LocalStorage } from "./lib/storage/local.ts";
import { S3Storage } from "./lib/storage/s3.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { recordAudit, withAudit } from "./lib/windmill/audit.ts";
import { jobProgress } from "./lib/windmill/progress.ts";
import { busyPolicy } from "./lib/settings.ts";
import { loadDatabase, loadKeyring, loadS3Config, loadSettings } from "./lib/windmill/resources.ts";
import { s3OnlyStorage } from "./lib/windmill/storages.ts";
import { BackupTypeArg } from "./lib/windmill/args.ts";

/** The arguments, with main's defaults (test/windmill_arguments.test.ts keeps the two equal). */
export const Args = z.object({
  backup_type: BackupTypeArg.default("manual"),
  upload_to_s3: z.boolean().default(false),
  cleanup_old: z.boolean().default(true),
  dry_run: z.boolean().default(false),
  database_resource: z.string().min(1).default("f/admin/database"),
  settings_resource: z.string().min(1).default("f/admin/backup_settings"),
  s3_resource: z.string().min(1).default("f/admin/s3_backup_config"),
  fail_if_busy: z.boolean().default(false),
});

const cleanupSummary = (cleanup: CleanupOutcome) => ({ deleted: cleanup.deleted, kept: cleanup.keep.length,
  decisions: [...cleanup.delete, ...cleanup.keep] });
const deletedBy = (cleanup: CleanupOutcome | Skipped | undefined) => (cleanup === undefined || "skipped" in cleanup ? [] : cleanup.deleted);
const summaryOf = (cleanup: CleanupOutcome | Skipped | undefined) =>
  cleanup === undefined ? "skipped (cleanup_old: false)" : "skipped" in cleanup ? `skipped: ${cleanup.skipped}` : cleanupSummary(cleanup);

/** Windmill's entry point: the form's (or the flow's) values, forwarded by name. */
export async function main(
  backup_type: "daily" | "weekly" | "monthly" | "manual" = "manual",
  upload_to_s3: boolean = false,
  cleanup_old: boolean = true,
  dry_run: boolean = false,
  database_resource: string = "f/admin/database",
  settings_resource: string = "f/admin/backup_settings",
  s3_resource: string = "f/admin/s3_backup_config",
  fail_if_busy: boolean = false,
) {
  return await run({ backup_type, upload_to_s3, cleanup_old, dry_run, database_resource, settings_resource, s3_resource, fail_if_busy });
}

/** The script as a library call, for other scripts and flows: `input` is checked against Args, its defaults filled in. */
export async function run(input: z.input<typeof Args>) {
  const args = parseScriptArgs(Args, input);
  // Schedules wait for a running backup or restore (lock_wait_seconds); a person may rather be told at once.
  const settings = busyPolicy(await loadSettings(args.settings_resource), args.fail_if_busy);
  const database = await loadDatabase(args.database_resource);
  // S3 only: the archive streams to the bucket as it is dumped; upload_to_s3 has nothing left to do.
  const storage = settings.local_copy
    ? new LocalStorage(settings.backup_dir, { access: args.dry_run ? "read" : "write",
      create: settings.create_backup_dir && !args.dry_run })
    : await s3OnlyStorage(args.settings_resource, args.s3_resource);
  const offsite = args.upload_to_s3 && settings.local_copy ? new S3Storage(await loadS3Config(args.s3_resource)) : undefined;

  if (args.dry_run) {
    const preview = await previewBackup(database, settings);
    const now = new Date();
    const cleanup = args.cleanup_old ? await applyRetention(storage, settings, database.dbname, now, false) : undefined;
    const s3Cleanup = args.cleanup_old && offsite ? await applyRetention(offsite, settings, database.dbname, now, false) : undefined;
    return {
      status: "dry_run",
      message: "Nothing was written or deleted.",
      backup_type: args.backup_type,
      database: database.dbname,
      location: storage.location,
      tables_to_back_up: preview.tables.length,
      objects_to_back_up: preview.objects,
      table_details: Object.fromEntries(preview.tables.map((t) => [t.table.replace(/^public\./, ""), t.estimated_rows])),
      row_counts: "estimated from planner statistics",
      estimated_archive_mb: megabytes(estimateArchiveBytes(preview.tableBytes, settings.archive_size_ratio)),
      ...(storage instanceof LocalStorage ? { free_space_mb: megabytes(await storage.freeBytes()) } : {}),
      cleanup_would_delete: cleanup?.delete ?? [],
      cleanup_would_keep: cleanup?.keep.length ?? 0,
      ...(offsite
        ? { s3_location: offsite.location, s3_cleanup_would_delete: s3Cleanup?.delete ?? [],
          s3_cleanup_would_keep: s3Cleanup?.keep.length ?? 0 }
        : {}),
    };
  }

  const swept = storage instanceof LocalStorage ? await storage.sweepStaleTemps() : [];
  let backup: BackupOutcome | undefined;
  const result = await withAudit(database, "backup", async () => {
    backup = await createBackup({ database, settings, storage, offsite, type: args.backup_type, cleanup: args.cleanup_old,
      keys: loadKeyring(settings), onProgress: jobProgress() });
    return shapeResult(backup, args.backup_type, storage, swept.length, settings.stale_upload_hours);
  }, (done) => ({
    message:
      `${done.backup_type} backup ${done.filename}: ${done.tables_backed_up} tables, ${done.total_rows} rows, ${done.size_mb} MB (${done.location})`,
    details: { filename: done.filename, backup_type: done.backup_type, created_at: done.created_at, size_mb: done.size_mb,
      size_bytes: backup!.manifest.archive.size, duration_seconds: done.duration_seconds, tables: done.tables_backed_up,
      rows: done.total_rows, location: done.location, path: done.path, sha256: done.sha256 },
  }), { recordFailure: true, failureDetails: { backup_type: args.backup_type } });
  const cleanup = backup?.cleanup;
  const cleanupAudit = cleanup === undefined
    ? "not written: cleanup_old is false"
    : await recordAudit(database, {
      action: "cleanup",
      outcome: "success",
      message: `retention after ${result.filename}: ${deletedBy(cleanup).length} ${settings.local_copy ? "local" : "S3"} and ${
        deletedBy(backup?.offsite?.cleanup).length
      } S3 backup(s) deleted`,
      details: { deleted: deletedBy(cleanup), s3_deleted: deletedBy(backup?.offsite?.cleanup), policy: settings.retention,
        warnings: result.warnings },
    });
  return { ...result, cleanup_audit: cleanupAudit };
}

/**
 * The uploads a killed run left open that this run aborted, and in a sentence what the sweep did;
 * nothing when no storage keeps open uploads (local disk alone).
 */
function uploadSweepSummary(sweep: UploadSweep | undefined, staleHours: number) {
  if (sweep === undefined) return {};
  const left = sweep.recent === 0 ? "" : `; ${sweep.recent} begun less than ${staleHours} h ago (stale_upload_hours) left open`;
  return {
    aborted_uploads: sweep.aborted,
    upload_sweep: sweep.skipped !== undefined
      ? `skipped: ${sweep.skipped}`
      : `${sweep.aborted.length} unfinished upload(s) of this database's backups aborted in ${sweep.location}${left}`,
  };
}

function shapeResult(
  backup: BackupOutcome,
  backupType: string,
  storage: LocalStorage | S3Storage,
  swept: number,
  staleUploadHours: number,
) {
  const s3Only = storage instanceof S3Storage;
  const { manifest, cleanup } = backup;
  return {
    status: "success",
    filename: backup.name,
    size_mb: megabytes(storedFile(manifest).size),
    tables_backed_up: manifest.totals.tables,
    total_rows: manifest.totals.rows,
    table_details: Object.fromEntries(manifest.tables.map((t) => [t.schema === "public" ? t.name : `${t.schema}.${t.name}`, t.rows])),
    backup_type: backupType,
    database: manifest.database,
    location: backup.offsite ? "both" : s3Only ? "s3" : "local",
    path: s3Only ? `${storage.location}${backup.name}` : `${storage.location}/${backup.name}`,
    sha256: storedFile(manifest).sha256,
    encrypted: describeEncryption(manifest),
    signed: manifest.signature ? `${manifest.signature.algorithm} key ${manifest.signature.key_id}` : "no",
    created_at: manifest.created_at,
    created_at_local: manifest.created_at_local,
    duration_seconds: Math.round(manifest.duration_ms / 100) / 10,
    server_version: manifest.server.version,
    scope: describeScope(manifest),
    stale_temp_files_removed: swept,
    ...uploadSweepSummary(backup.uploadSweep, staleUploadHours),
    // What the archive is known not to restore (from the dump), then what was skipped after it.
    warnings: [
      ...(manifest.warnings ?? []),
      ...(backup.uploadSweep?.skipped ? [`unfinished S3 uploads not swept: ${backup.uploadSweep.skipped}`] : []),
      ...(cleanup && "skipped" in cleanup ? [`${s3Only ? "S3" : "local"} retention skipped: ${cleanup.skipped}`] : []),
      ...(backup.offsite?.cleanup && "skipped" in backup.offsite.cleanup
        ? [`S3 retention skipped: ${backup.offsite.cleanup.skipped}`]
        : []),
    ],
    cleanup: summaryOf(cleanup),
    s3: backup.offsite
      ? {
        location: backup.offsite.location,
        archive: backup.offsite.archive.name,
        size_mb: megabytes(backup.offsite.archive.size),
        manifest: backup.offsite.manifest.name,
        uploaded_earlier_backups: backup.offsite.caughtUp,
        cleanup: summaryOf(backup.offsite.cleanup),
      }
      : s3Only
      ? `streamed to ${storage.location} with no local copy (local_copy: false)`
      : "not uploaded (upload_to_s3: false)",
  };
}

/** What the backup covers, in a line, and what it left out (so a partial backup never looks whole). */
function describeScope(manifest: BackupOutcome["manifest"]) {
  const scope = manifest.scope ?? {};
  const lists = Object.entries(scope).filter(([, value]) => Array.isArray(value) && value.length > 0).map(([key, value]) =>
    `${key}: ${(value as string[]).join(", ")}`
  );
  const flags = ["privileges", "roles", "database_settings"].filter((flag) => scope[flag] === true);
  return {
    covers: lists.length === 0 ? "the whole database" : `part of the database (${lists.join("; ")})`,
    with: flags.length === 0 ? "no owners, privileges, roles or database settings" : flags.join(", "),
    skipped_objects: manifest.skipped ?? [],
  };
}
