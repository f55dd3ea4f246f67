// Recomputes a table's row count and content digest from the database, the same way the dump did,
// so a restore can prove it loaded exactly the rows the backup recorded.
import type pg from "pg";
import { CopyOut } from "./copy-out.ts";
import { RowDigest } from "./digest.ts";
import { configRowsQuery } from "./objects/database.ts";
import { qualify } from "./quote.ts";

/** The client must have the dump's pinned settings (see session.ts), or values print differently. */
export async function tableDigest(
  client: pg.ClientBase,
  table: { schema: string; name: string; columns: string[]; condition?: string },
): Promise<{ rows: number; digest: string }> {
  const digest = new RowDigest();
  // A table without columns has rows too; COPY takes no column list for it.
  const columns = table.columns.length > 0 ? ` (${table.columns.join(", ")})` : "";
  const name = qualify(table.schema, table.name);
  const sql = table.condition === undefined
    ? `COPY ${name}${columns} TO STDOUT`
    : `COPY (${configRowsQuery(name, table.columns, table.condition)}) TO STDOUT`;
  for await (const chunk of client.query(new CopyOut(sql))) digest.update(chunk as Buffer);
  return { rows: digest.rows, digest: digest.hex() };
}
