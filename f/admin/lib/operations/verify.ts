// A restore's verify step, after the restore committed: each restored table's rows counted again in
// the live database against what the restore reported.
import { systemLogsTable } from "../engine/audit-log.ts";
import { withConnection, type DatabaseTarget } from "../engine/connection.ts";
import { countRowsOf } from "../engine/verify.ts";

export interface Recount {
  table: string;
  expected_rows: number;
  /** null: the table is not there. */
  rows_now: number | null;
  match: boolean;
}

/**
 * Count again, in database `dbname`, the rows of each table a restore verified. The restore's own
 * audit row went into system_logs after it counted: with `auditRowWritten`, one more row is expected there.
 */
export async function recountTables(
  database: DatabaseTarget,
  dbname: string,
  tables: ReadonlyArray<{ table: string; expected_rows: number }>,
  auditRowWritten: boolean,
): Promise<Recount[]> {
  return await withConnection(database, "windmill-pg-backup: verify restore", async (client) => {
    const audited = auditRowWritten ? (await systemLogsTable(client))?.table : undefined;
    const counted: Recount[] = [];
    for (const { table, expected_rows } of tables) {
      const found = await countRowsOf(client, table);
      const expected = expected_rows + (found !== null && found.qualifiedName === audited ? 1 : 0);
      counted.push({ table, expected_rows: expected, rows_now: found?.rows ?? null, match: found?.rows === expected });
    }
    return counted;
  }, dbname);
}
