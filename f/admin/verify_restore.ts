// The verify step of the restore_and_verify flow: after the restore committed, counts every
// restored table again in the live database, and checks that the pre-restore backup is there to
// roll back to. Fails (throws) on any difference, so the flow's failure module can roll back.
// package_json: windmill_pg_backup

import { z } from "zod";
import { BackupError } from "./lib/errors.ts";
import { findBackup } from "./lib/operations/inventory.ts";
import { recountTables } from "./lib/operations/verify.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { loadDatabase, loadSettings } from "./lib/windmill/resources.ts";
import { backupStorage } from "./lib/windmill/storages.ts";

const Restore = z.object({
  target_database: z.string().min(1),
  pre_restore_backup: z.string().nullable(),
  audit: z.string().optional(),
  verification: z.object({
    passed: z.boolean(),
    tables: z.array(z.object({ table: z.string(), expected_rows: z.number().int() })),
  }),
}, { error: "restore must be the result of f/admin/restore_database" });

/** The arguments, with main's defaults (test/windmill_arguments.test.ts keeps the two equal). */
export const Args = z.object({
  restore: Restore,
  database_resource: z.string().min(1).default("f/admin/database"),
  settings_resource: z.string().min(1).default("f/admin/backup_settings"),
  s3_resource: z.string().min(1).default("f/admin/s3_backup_config"),
});

/** Windmill's entry point: the form's (or the flow's) values, forwarded by name. */
export async function main(
  restore: object,
  database_resource: string = "f/admin/database",
  settings_resource: string = "f/admin/backup_settings",
  s3_resource: string = "f/admin/s3_backup_config",
) {
  // Objects as Windmill hands them over, of any shape until run checks them against Args.
  return await run({ restore, database_resource, settings_resource, s3_resource } as z.input<typeof Args>);
}

/** The script as a library call, for other scripts and flows: `input` is checked against Args, its defaults filled in. */
export async function run(input: z.input<typeof Args>) {
  const args = parseScriptArgs(Args, input);
  const database = await loadDatabase(args.database_resource);
  const settings = await loadSettings(args.settings_resource);
  const tables = await recountTables(database, args.restore.target_database, args.restore.verification.tables,
    args.restore.audit === "written");
  let rollback = "no pre-restore backup was taken";
  if (args.restore.pre_restore_backup) {
    // Where restore_database wrote it: backup_dir, or with local_copy: false the bucket of its s3_resource (give the same).
    const backup = await backupStorage(settings, { settings: args.settings_resource, s3: args.s3_resource }, { access: "read" })
      .then((storage) => findBackup(storage, args.restore.pre_restore_backup!)).catch((error: Error) => error);
    rollback = backup instanceof Error
      ? `MISSING: ${backup.message}`
      : backup.problem
      ? `DAMAGED: ${backup.problem}`
      : `available: ${backup.name}`;
  }
  const mismatched = tables.filter((t) => !t.match);
  const passed = args.restore.verification.passed && mismatched.length === 0;
  if (!passed) {
    throw new BackupError(
      `Verification after the restore of ${args.restore.target_database} failed: ` +
        (args.restore.verification.passed ? "" : "the restore's own verification did not pass; ") +
        mismatched.map((t) => `${t.table} has ${t.rows_now ?? "no table"} rows, expected ${t.expected_rows}`).join("; ") +
        `. Pre-restore backup: ${rollback}.`,
    );
  }
  return { passed, target_database: args.restore.target_database, tables, rollback };
}
