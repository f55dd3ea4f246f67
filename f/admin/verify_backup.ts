// Check backups without restoring over anything: one backup or all of them, on the local volume and
// on S3. Each copy: its manifest whole and signed by a configured key, its stored file's sha256, every
// member decrypted (with the configured key), decompressed to its end and proven by its sha256; with
// restore: true, also restored into a throwaway database with the restore's full verification, then
// dropped. Returns one row per copy (a table in the Windmill UI); fails the job when any is wrong,
// the rows in the error's `rows`.
// package_json: windmill_pg_backup

import { z } from "zod";
import { BackupError } from "./lib/errors.ts";
import { verifyBackups, type VerifiedBackup } from "./lib/operations/verify-backup.ts";
import type { Storage } from "./lib/storage/storage.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { jobProgress } from "./lib/windmill/progress.ts";
import { loadDatabase, loadKeyring, loadSettings } from "./lib/windmill/resources.ts";
import { storagesAt } from "./lib/windmill/storages.ts";

/** The arguments, with main's defaults (test/windmill_arguments.test.ts keeps the two equal). */
export const Args = z.object({
  backup_filename: z.string().default(""),
  location: z.enum(["all", "local", "s3"]).default("all"),
  restore: z.boolean().default(false),
  database_resource: z.string().min(1).default("f/admin/database"),
  settings_resource: z.string().min(1).default("f/admin/backup_settings"),
  s3_resource: z.string().min(1).default("f/admin/s3_backup_config"),
});

/** Windmill's entry point: the form's (or the flow's) values, forwarded by name. */
export async function main(
  backup_filename: string = "",
  location: "all" | "local" | "s3" = "all",
  restore: boolean = false,
  database_resource: string = "f/admin/database",
  settings_resource: string = "f/admin/backup_settings",
  s3_resource: string = "f/admin/s3_backup_config",
) {
  return await run({ backup_filename, location, restore, database_resource, settings_resource, s3_resource });
}

/** A check that found something wrong: the job fails, and the table of every copy travels with the error. */
export class BackupVerificationFailed extends BackupError {
  constructor(readonly rows: VerifiedBackup[]) {
    const failed = rows.filter((r) => !r.ok);
    super(
      `${failed.length} of ${rows.length} backup copies failed verification: ` +
        failed.map((r) => `${r.backup} (${r.location}): ${r.archive.startsWith("no:") ? r.archive : r.restore}`).join(" | "),
    );
  }
}

/** The script as a library call, for other scripts and flows: `input` is checked against Args, its defaults filled in. */
export async function run(input: z.input<typeof Args>) {
  const args = parseScriptArgs(Args, input);
  const settings = await loadSettings(args.settings_resource);
  const storages: Record<string, Storage> = await storagesAt(args.location, settings, { settings: args.settings_resource,
    s3: args.s3_resource }, { access: "read" });
  const rows = await verifyBackups({
    storages,
    backupName: args.backup_filename || undefined,
    keys: loadKeyring(settings),
    restoreInto: args.restore ? { database: await loadDatabase(args.database_resource), settings } : undefined,
    onProgress: jobProgress(),
  });
  if (rows.some((r) => !r.ok)) throw new BackupVerificationFailed(rows);
  return rows;
}
