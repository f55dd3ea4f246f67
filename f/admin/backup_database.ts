// Back up the PostgreSQL database of f/admin/database into a compressed, psql-compatible archive
// with a manifest, then apply the retention policy. Thin: parse input, call the library, shape the result.
import { z } from "zod";
import { createBackup, previewBackup } from "./lib/operations/backup.ts";
import { applyRetention } from "./lib/operations/cleanup.ts";
import { BackupError } from "./lib/errors.ts";
import { LocalStorage } from "./lib/storage/local.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { jobProgress } from "./lib/windmill/progress.ts";
import { BackupTypeArg, loadDatabase, loadSettings } from "./lib/windmill/resources.ts";

const Args = z.object({
  backup_type: BackupTypeArg,
  upload_to_s3: z.boolean(),
  cleanup_old: z.boolean(),
  dry_run: z.boolean(),
  database_resource: z.string().min(1),
  settings_resource: z.string().min(1),
});

export async function main(
  backup_type: "daily" | "weekly" | "monthly" | "manual" = "manual",
  upload_to_s3: boolean = false,
  cleanup_old: boolean = true,
  dry_run: boolean = false,
  database_resource: string = "f/admin/database",
  settings_resource: string = "f/admin/backup_settings",
) {
  const args = parseScriptArgs(Args, { backup_type, upload_to_s3, cleanup_old, dry_run, database_resource, settings_resource });
  if (args.upload_to_s3) {
    throw new BackupError("upload_to_s3 is not available in this version of the bundle yet: run with upload_to_s3: false (the backup is kept on the local volume).");
  }
  const settings = await loadSettings(args.settings_resource);
  const database = await loadDatabase(args.database_resource);
  const storage = new LocalStorage(settings.backup_dir);

  if (args.dry_run) {
    const preview = await previewBackup(database, settings);
    const cleanup = args.cleanup_old ? await applyRetention(storage, settings, new Date(), false) : undefined;
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
      cleanup_would_delete: cleanup?.delete ?? [],
      cleanup_would_keep: cleanup?.keep.length ?? 0,
    };
  }

  const swept = await storage.sweepStaleTemps();
  const backup = await createBackup({ database, settings, storage, type: args.backup_type, cleanup: args.cleanup_old, onProgress: jobProgress() });
  const { manifest, cleanup } = backup;
  return {
    status: "success",
    filename: backup.name,
    size_mb: Math.round((manifest.archive.size / 1048576) * 100) / 100,
    tables_backed_up: manifest.totals.tables,
    total_rows: manifest.totals.rows,
    table_details: Object.fromEntries(manifest.tables.map((t) => [t.schema === "public" ? t.name : `${t.schema}.${t.name}`, t.rows])),
    backup_type: args.backup_type,
    database: manifest.database,
    location: "local",
    path: `${storage.location}/${backup.name}`,
    sha256: manifest.archive.sha256,
    created_at: manifest.created_at,
    created_at_local: manifest.created_at_local,
    duration_seconds: Math.round(manifest.duration_ms / 100) / 10,
    server_version: manifest.server.version,
    stale_temp_files_removed: swept.length,
    cleanup: cleanup
      ? { deleted: cleanup.deleted, kept: cleanup.keep.length, decisions: [...cleanup.delete, ...cleanup.keep] }
      : "skipped (cleanup_old: false)",
  };
}

