// The app's audit table: where a database keeps its `system_logs` (the public schema's first), the
// columns it has, and the INSERT of one row into the columns found, each value cast to its column's type.
import type pg from "pg";
import { quoteIdent, qualify } from "./quote.ts";
import { userSchema } from "./sql.ts";

export interface Column {
  name: string;
  type: string;
  required: boolean;
}

export async function systemLogsTable(client: pg.ClientBase): Promise<{ table: string; columns: Column[] } | undefined> {
  const { rows } = await client.query<{ schema: string; name: string; columns: Column[] }>(
    `SELECT n.nspname AS schema, c.relname AS name,
            (SELECT json_agg(json_build_object('name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
                     'required', a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = '') ORDER BY a.attnum)
               FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = 'system_logs' AND c.relkind IN ('r', 'p') AND ${userSchema("n")}
      ORDER BY n.nspname = 'public' DESC, n.nspname LIMIT 1`,
  );
  const row = rows[0];
  return row ? { table: qualify(row.schema, row.name), columns: row.columns } : undefined;
}

/** The insert for `entry` into the table's columns, or why it cannot be written. */
export function auditInsert(
  table: string,
  columns: Column[],
  values: Record<string, unknown>,
): { sql: string; params: unknown[] } | string {
  const missing = columns.filter((c) => c.required && values[c.name] === undefined).map((c) => c.name);
  if (missing.length > 0) return `system_logs requires column(s) ${missing.join(", ")} that the audit cannot fill`;
  const used = columns.filter((c) => values[c.name] !== undefined && !/\[\]$/.test(c.type));
  if (!used.some((c) => c.name === "message" || c.name === "details" || c.name === "msg" || c.name === "description")) {
    return "system_logs has no message or details column to write to";
  }
  const params = used.map((c) => {
    const value = values[c.name];
    if (/^jsonb?$/.test(c.type)) return JSON.stringify(value);
    return typeof value === "object" && value !== null ? JSON.stringify(value) : value;
  });
  const sql = `INSERT INTO ${table} (${used.map((c) => quoteIdent(c.name)).join(", ")}) VALUES (${
    used.map((c, i) => `$${i + 1}::${c.type}`).join(", ")
  })`;
  return { sql, params };
}

/** Insert one row of `values` (by column name) into the database's system_logs; returns "written" or why not. */
export async function insertAuditRow(client: pg.ClientBase, values: Record<string, unknown>, database: string): Promise<string> {
  const target = await systemLogsTable(client);
  if (!target) return `not written: database ${JSON.stringify(database)} has no system_logs table`;
  const insert = auditInsert(target.table, target.columns, values);
  if (typeof insert === "string") return `not written: ${insert}`;
  await client.query(insert.sql, insert.params);
  return "written";
}

/** Columns an app may keep a row's details in (JSON), and its time in, by the names apps commonly give them. */
const DETAILS_COLUMNS = ["details", "metadata", "context", "data", "extra", "payload"];
const TIME_COLUMNS = ["created_at", "logged_at", "timestamp", "occurred_at", "inserted_at", "time", "ts", "at"];

export interface StoredAuditRow {
  /** The row's details as JSON text (our audit writes action, outcome and the time there). */
  details: string | null;
  message: string | null;
  /** The row's own time column, when the table has one. */
  at: Date | null;
}

/**
 * The bundle's newest audit rows (source = 'backup' when the table has a source column), at most
 * `limit`; a string says why none can be read (no table, no details column).
 */
export async function readAuditRows(client: pg.ClientBase, limit: number): Promise<StoredAuditRow[] | string> {
  const target = await systemLogsTable(client);
  if (!target) return "the database has no system_logs table";
  const has = (names: string[], types: RegExp) => names.find((n) => target.columns.some((c) => c.name === n && types.test(c.type)));
  const details = has(DETAILS_COLUMNS, /^(jsonb?|text)$/);
  if (!details) return "system_logs has no details column the audit writes to";
  const time = has(TIME_COLUMNS, /^timestamp/);
  const message = has(["message", "msg", "description"], /^(text|character varying)/);
  const source = target.columns.some((c) => c.name === "source" && /^(text|character varying)/.test(c.type));
  const { rows } = await client.query<StoredAuditRow>(
    `SELECT ${quoteIdent(details)}::text AS details, ${message ? quoteIdent(message) : "NULL::text"}::text AS message, ` +
      `${time ? quoteIdent(time) : "NULL::timestamptz"} AS at FROM ${target.table}` +
      (source ? ` WHERE source = 'backup'` : "") + (time ? ` ORDER BY ${quoteIdent(time)} DESC` : "") + ` LIMIT $1`,
    [limit],
  );
  return rows;
}
