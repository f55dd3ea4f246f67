// The audit trail: each backup, restore, cleanup, drill and failure writes one row to the app's
// `system_logs` table (source = 'backup') when the database has one, filling the columns it finds by
// name. Auditing never fails a job: the outcome says "written" or why not.
import type pg from "pg";
import { RestoreRefusedError } from "../errors.ts";
import { connect, type DatabaseTarget } from "../engine/connection.ts";
import { quoteIdent, qualify } from "../engine/quote.ts";

export interface AuditEntry {
  /** backup, restore, cleanup, drill, failure… */
  action: string;
  outcome: "success" | "failure";
  message: string;
  details: Record<string, unknown>;
}

/** Who ran the job and which job it was, as the Windmill worker tells it (absent outside Windmill). */
export function jobContext(env: NodeJS.ProcessEnv = process.env): Record<string, string | null> {
  return {
    user: env.WM_USERNAME ?? null,
    email: env.WM_EMAIL ?? null,
    job_id: env.WM_JOB_ID ?? null,
    job_path: env.WM_JOB_PATH ?? null,
    schedule_path: env.WM_SCHEDULE_PATH ?? null,
    workspace: env.WM_WORKSPACE ?? null,
  };
}

interface Column {
  name: string;
  type: string;
  required: boolean;
}

/** Values for the columns a system_logs table may have, by the names apps commonly give them. */
export function auditValues(entry: AuditEntry, context: Record<string, string | null>): Record<string, unknown> {
  const who = context.email ?? context.user ?? "windmill-pg-backup";
  const details = { ...entry.details, action: entry.action, outcome: entry.outcome, ...context };
  return {
    source: "backup",
    level: entry.outcome === "success" ? "info" : "error",
    severity: entry.outcome === "success" ? "info" : "error",
    message: entry.message,
    msg: entry.message,
    description: entry.message,
    action: entry.action,
    event: entry.action,
    event_type: entry.action,
    operation: entry.action,
    category: entry.action,
    status: entry.outcome,
    outcome: entry.outcome,
    user: who,
    username: who,
    actor: who,
    created_by: who,
    user_email: context.email,
    job_id: context.job_id,
    details,
    metadata: details,
    context: details,
    data: details,
    extra: details,
    payload: details,
  };
}

export async function systemLogsTable(client: pg.ClientBase): Promise<{ table: string; columns: Column[] } | undefined> {
  const { rows } = await client.query<{ schema: string; name: string; columns: Column[] }>(
    `SELECT n.nspname AS schema, c.relname AS name,
            (SELECT json_agg(json_build_object('name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
                     'required', a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = '') ORDER BY a.attnum)
               FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relname = 'system_logs' AND c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      ORDER BY n.nspname = 'public' DESC, n.nspname LIMIT 1`,
  );
  const row = rows[0];
  return row ? { table: qualify(row.schema, row.name), columns: row.columns } : undefined;
}

/** The insert for `entry` into the table's columns, or why it cannot be written. */
export function auditInsert(table: string, columns: Column[], values: Record<string, unknown>): { sql: string; params: unknown[] } | string {
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
  const sql = `INSERT INTO ${table} (${used.map((c) => quoteIdent(c.name)).join(", ")}) VALUES (${used.map((c, i) => `$${i + 1}::${c.type}`).join(", ")})`;
  return { sql, params };
}

/** Write one audit row into the database; returns "written" or the reason it was not. */
export async function recordAudit(database: DatabaseTarget, entry: AuditEntry, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  let client: pg.Client | undefined;
  try {
    client = await connect(database, "windmill-pg-backup: audit");
    const target = await systemLogsTable(client);
    if (!target) return `not written: database ${JSON.stringify(database.dbname)} has no system_logs table`;
    const insert = auditInsert(target.table, target.columns, auditValues(entry, jobContext(env)));
    if (typeof insert === "string") return `not written: ${insert}`;
    await client.query(insert.sql, insert.params);
    return "written";
  } catch (error) {
    return `not written: ${(error as Error).message}`;
  } finally {
    await client?.end().catch(() => undefined);
  }
}

export interface AuditedOutcome {
  message: string;
  details: Record<string, unknown>;
  /** Where the row goes when not the job's database, e.g. the database a restore created. */
  database?: DatabaseTarget;
}

/**
 * Run `work` and record its outcome: on success the row `describe` makes (and the result says
 * whether it was written), on failure a row with the error, which is then rethrown unchanged.
 */
export async function withAudit<T extends object>(
  database: DatabaseTarget,
  action: string,
  work: () => Promise<T>,
  describe: (result: T) => AuditedOutcome,
  options: { recordFailure: boolean } = { recordFailure: true },
): Promise<T & { audit: string }> {
  let result: T;
  try {
    result = await work();
  } catch (error) {
    // A refusal changed nothing and a failed restore leaves the database exactly as it was (without
    // a row either): the error says it all. Other failures are recorded where the app can see them.
    if (options.recordFailure && !(error instanceof RestoreRefusedError)) {
      const audit = await recordAudit(database, {
        action, outcome: "failure", message: `${action} failed: ${(error as Error).message}`, details: { error: (error as Error).message },
      });
      console.log(`audit: ${audit}`);
    }
    throw error;
  }
  const outcome = describe(result);
  const audit = await recordAudit(outcome.database ?? database, { action, outcome: "success", message: outcome.message, details: outcome.details });
  return { ...result, audit };
}
