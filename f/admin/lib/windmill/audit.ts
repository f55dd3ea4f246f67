// The audit trail: each backup, restore, cleanup, drill and failure writes one row to the app's
// `system_logs` table (source = 'backup') when the database has one, filling the columns it finds by
// name. Auditing never fails a job: the outcome says "written" or why not.
import { insertAuditRow } from "../engine/audit-log.ts";
import { withConnection, type DatabaseTarget } from "../engine/connection.ts";
import { RestoreRefusedError } from "../errors.ts";

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

/** Values for the columns a system_logs table may have, by the names apps commonly give them. */
export function auditValues(entry: AuditEntry, context: Record<string, string | null>, at = new Date()): Record<string, unknown> {
  const who = context.email ?? context.user ?? "windmill-pg-backup";
  // The time is in the details too: the health check reads it even where the table keeps no time column.
  const details = { ...entry.details, action: entry.action, outcome: entry.outcome, at: at.toISOString(), ...context };
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

/** Write one audit row into the database; returns "written" or the reason it was not. */
export async function recordAudit(database: DatabaseTarget, entry: AuditEntry, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    return await withConnection(database, "windmill-pg-backup: audit", (client) =>
      insertAuditRow(client, auditValues(entry, jobContext(env)), database.dbname));
  } catch (error) {
    return `not written: ${(error as Error).message}`;
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
  options: { recordFailure: boolean; failureDetails?: Record<string, unknown> } = { recordFailure: true },
): Promise<T & { audit: string }> {
  let result: T;
  try {
    result = await work();
  } catch (error) {
    // A refusal changed nothing and a failed restore leaves the database exactly as it was (without
    // a row either): the error says it all. Other failures are recorded where the app can see them.
    if (options.recordFailure && !(error instanceof RestoreRefusedError)) {
      const audit = await recordAudit(database, {
        action,
        outcome: "failure",
        message: `${action} failed: ${(error as Error).message}`,
        details: { ...options.failureDetails, error: (error as Error).message },
      });
      console.log(`audit: ${audit}`);
    }
    throw error;
  }
  const outcome = describe(result);
  const audit = await recordAudit(outcome.database ?? database, { action, outcome: "success", message: outcome.message,
    details: outcome.details });
  return { ...result, audit };
}
