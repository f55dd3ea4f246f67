// List the backups on the local backup volume, newest first, one row per backup, so the Windmill UI
// renders a table: name, type, time, size, where it is, tables, rows and whether it checks out.
import { z } from "zod";
import { takeInventory } from "./lib/operations/inventory.ts";
import { checkArchive } from "./lib/archive/reader.ts";
import { localTimeLabel } from "./lib/archive/name.ts";
import { BackupError } from "./lib/errors.ts";
import { LocalStorage } from "./lib/storage/local.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { loadSettings } from "./lib/windmill/resources.ts";

const Args = z.object({
  include_s3: z.boolean(),
  backup_type: z.enum(["all", "daily", "weekly", "monthly", "manual", "pre_restore"]),
  verify_checksums: z.boolean(),
  settings_resource: z.string().min(1),
});

export async function main(
  include_s3: boolean = false,
  backup_type: "all" | "daily" | "weekly" | "monthly" | "manual" | "pre_restore" = "all",
  verify_checksums: boolean = false,
  settings_resource: string = "f/admin/backup_settings",
) {
  const args = parseScriptArgs(Args, { include_s3, backup_type, verify_checksums, settings_resource });
  const settings = await loadSettings(args.settings_resource);
  const storage = new LocalStorage(settings.backup_dir);
  const inventory = await takeInventory(storage, settings.prefix);
  const rows = [];
  for (const backup of inventory.backups) {
    if (args.backup_type !== "all" && backup.type !== args.backup_type) continue;
    let verified: string;
    if (backup.problem) verified = `no: ${backup.problem}`;
    else if (!args.verify_checksums) verified = "size matches manifest (checksum not read; verify_checksums: true reads it)";
    else {
      verified = await checkArchive(storage, backup.manifest!).then(
        () => "yes: sha256 matches manifest",
        (error: unknown) => { if (error instanceof BackupError) return `no: ${error.message}`; throw error; },
      );
    }
    rows.push({
      name: backup.name,
      type: backup.type,
      created_at: localTimeLabel(backup.createdAt, settings.time_zone),
      size_mb: Math.round((backup.size / 1048576) * 100) / 100,
      location: "local",
      database: backup.manifest?.database ?? null,
      tables: backup.manifest?.totals.tables ?? null,
      rows: backup.manifest?.totals.rows ?? null,
      verified,
    });
  }
  if (args.include_s3) {
    console.log("include_s3: S3 listing is not available in this version of the bundle yet; only local backups are listed.");
  }
  return rows;
}
