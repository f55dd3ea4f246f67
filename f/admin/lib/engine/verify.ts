// Recomputes a table's row count and content digest from the database, the same way the dump did,
// so a restore can prove it loaded exactly the rows the backup recorded; and plain row counts.
import type pg from "pg";
import { CopyOut } from "./copy-out.ts";
import { RowDigest } from "./digest.ts";
import { configRowsQuery } from "./objects/database.ts";
import { qualify } from "./quote.ts";
import { rows } from "./sql.ts";

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

export async function countRows(client: pg.ClientBase, schema: string, name: string): Promise<number> {
  const [found] = await rows<{ n: string }>(client, `SELECT count(*)::text AS n FROM ${qualify(schema, name)}`);
  return Number(found!.n);
}

/** The rows of the table (not a view) named `schema.name` as a restore's result names it, or null when there is none. */
export async function countRowsOf(client: pg.ClientBase, table: string): Promise<{ qualifiedName: string; rows: number } | null> {
  const [found] = await rows<{ schema: string; name: string }>(
    client,
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname || '.' || c.relname = $1 AND c.relkind IN ('r', 'p')`,
    [table],
  );
  return found === undefined
    ? null
    : { qualifiedName: qualify(found.schema, found.name), rows: await countRows(client, found.schema, found.name) };
}
