// The verify step of the restore_and_verify flow: after the restore committed, counts every
// restored table again in the live database, and checks that the pre-restore backup is there to
// roll back to. Fails (throws) on any difference, so the flow's failure module can roll back.
// package_json: windmill_pg_backup

import { z } from "zod";
import { connect } from "./lib/engine/connection.ts";
import { qualify } from "./lib/engine/quote.ts";
import { BackupError } from "./lib/errors.ts";
import { findBackup } from "./lib/operations/inventory.ts";
import { LocalStorage } from "./lib/storage/local.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { systemLogsTable } from "./lib/windmill/audit.ts";
import { loadDatabase, loadSettings } from "./lib/windmill/resources.ts";

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
});

export async function main(
  restore: object,
  database_resource: string = "f/admin/database",
  settings_resource: string = "f/admin/backup_settings",
) {
  const args = parseScriptArgs(Args, { restore, database_resource, settings_resource });
  const database = await loadDatabase(args.database_resource);
  const settings = await loadSettings(args.settings_resource);
  const client = await connect(database, "windmill-pg-backup: verify restore", args.restore.target_database);
  const tables = [];
  try {
    // The restore's own audit row went into this table after the restore: one more row is expected.
    const audited = args.restore.audit === "written" ? (await systemLogsTable(client))?.table : undefined;
    for (const { table, expected_rows } of args.restore.verification.tables) {
      const found = await client.query<{ schema: string; name: string }>(
        `SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname || '.' || c.relname = $1 AND c.relkind IN ('r', 'p')`,
        [table],
      );
      const row = found.rows[0];
      const name = row === undefined ? undefined : qualify(row.schema, row.name);
      const rows = name === undefined ? null : Number((await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${name}`)).rows[0]!.n);
      const expected = expected_rows + (name !== undefined && name === audited ? 1 : 0);
      tables.push({ table, expected_rows: expected, rows_now: rows, match: rows === expected });
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  let rollback = "no pre-restore backup was taken";
  if (args.restore.pre_restore_backup) {
    const backup = await findBackup(new LocalStorage(settings.backup_dir), settings.prefix, args.restore.pre_restore_backup).catch((error: Error) => error);
    rollback = backup instanceof Error ? `MISSING: ${backup.message}` : backup.problem ? `DAMAGED: ${backup.problem}` : `available: ${backup.name}`;
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
