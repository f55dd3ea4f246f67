// Failure module of the restore_and_verify flow: when the restore committed but the verification
// after it failed, restores the pre-restore backup (the state before the flow); when the flow failed
// earlier, the database was never changed and there is nothing to roll back.
// nobundling
// package_json: windmill_pg_backup

import { z } from "zod";
import { run as restoreDatabase } from "./restore_database.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";

/** The arguments, with main's defaults (test/windmill_arguments.test.ts keeps the two equal). */
export const Args = z.object({
  error: z.object({ message: z.string().optional(), step_id: z.string().optional() }).passthrough(),
  // null when the restore step never ran (the flow passes `results.restore`, which is then null).
  restore: z.object({ pre_restore_backup: z.string().nullable().optional(), target_database: z.string().optional(),
    created_database: z.boolean().optional() }).passthrough().default({}),
  database_resource: z.string().min(1).default("f/admin/database"),
  settings_resource: z.string().min(1).default("f/admin/backup_settings"),
  // Where the pre-restore backup is when backups are kept in S3 only (local_copy: false).
  s3_resource: z.string().min(1).default("f/admin/s3_backup_config"),
});

/** Windmill's entry point: the form's (or the flow's) values, forwarded by name. */
export async function main(
  error: object,
  restore: object = {},
  database_resource: string = "f/admin/database",
  settings_resource: string = "f/admin/backup_settings",
  s3_resource: string = "f/admin/s3_backup_config",
) {
  // Objects as Windmill hands them over, of any shape until run checks them against Args.
  return await run({ error, restore, database_resource, settings_resource, s3_resource } as z.input<typeof Args>);
}

/** The script as a library call, for other scripts and flows: `input` is checked against Args, its defaults filled in. */
export async function run(input: z.input<typeof Args>) {
  const args = parseScriptArgs(Args, input);
  const failedAt = args.error.step_id ?? "an unknown step";
  const rollbackTo = args.restore.pre_restore_backup;
  if (!rollbackTo && args.restore.created_database) {
    return {
      status: "nothing to roll back",
      message:
        `The flow failed at ${failedAt} (${args.error.message ?? "no message"}); database ${args.restore.target_database} was created ` +
        "by this flow and is left as it is for inspection: drop it when done. No other database was changed.",
    };
  }
  if (!rollbackTo) {
    return {
      status: "nothing to roll back",
      message: `The flow failed at ${failedAt} (${args.error.message ?? "no message"}) before the restore changed the database, ` +
        "or without a pre-restore backup to return to; the database was not changed by this flow.",
    };
  }
  const rolledBack = await restoreDatabase({
    backup_filename: rollbackTo,
    backup_source: "local",
    confirm_restore: true,
    create_pre_restore_backup: true,
    target_database: args.restore.target_database ?? "",
    database_resource: args.database_resource,
    settings_resource: args.settings_resource,
    s3_resource: args.s3_resource,
  });
  return {
    status: "rolled back",
    message: `The flow failed at ${failedAt} (${args.error.message ?? "no message"}); the database was restored to ${rollbackTo}, ` +
      `its state before the flow (verification ${rolledBack.verification.passed ? "passed" : "FAILED"}). ` +
      `The state that failed verification was kept as ${rolledBack.pre_restore_backup}.`,
    rollback: rolledBack,
  };
}
