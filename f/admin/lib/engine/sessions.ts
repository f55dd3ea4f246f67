// The other sessions of a live database: who holds the locks a restore waits for (read on a second
// connection, so the restore's own transaction can report them when its lock_timeout expires), and,
// on explicit request, ending the target database's sessions before a restore starts.
import type pg from "pg";
import { withConnection, type DatabaseTarget } from "./connection.ts";

export interface OtherSession {
  pid: number;
  application_name: string;
  user: string;
  client_address: string;
  state: string;
  query_start: string | null;
  /** What the session holds that blocks us (the relations, or the lock kinds). */
  holds: string;
}

/**
 * Other sessions holding a granted lock on a relation of the database `monitor` is connected to,
 * except `own` (the restore's session, whose aborted transaction still holds its locks). With
 * `modes` (pg_locks' names, e.g. AccessExclusiveLock), only locks of those modes, and requests for
 * them still queued too (marked "queued"): a request ahead of ours in the queue blocks us as well.
 */
export async function lockHolders(monitor: pg.ClientBase, own: number, modes?: string[]): Promise<OtherSession[]> {
  const { rows } = await monitor.query<OtherSession>(
    `WITH holders AS (
       SELECT l.pid, string_agg(DISTINCT pg_catalog.format('%I.%I (%s%s)', n.nspname, c.relname, l.mode,
                CASE WHEN l.granted THEN '' ELSE ', queued' END), ', ') AS holds
         FROM pg_catalog.pg_locks l
         JOIN pg_catalog.pg_class c ON c.oid = l.relation AND c.relkind NOT IN ('i', 'I')
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE l.locktype = 'relation' AND l.pid <> $1 AND l.pid <> pg_catalog.pg_backend_pid()
          AND ($2::text[] IS NULL AND l.granted OR l.mode = ANY ($2::text[]))
          AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
        GROUP BY l.pid
     )
     SELECT a.pid, COALESCE(a.application_name, '') AS application_name, COALESCE(a.usename::text, '') AS user,
            COALESCE(host(a.client_addr), 'local socket') AS client_address, COALESCE(a.state, '') AS state,
            a.query_start::text AS query_start, h.holds
       FROM holders h JOIN pg_catalog.pg_stat_activity a ON a.pid = h.pid
      ORDER BY a.query_start NULLS LAST, a.pid`,
    [own, modes ?? null],
  );
  return rows;
}

/**
 * The sessions holding locks that `own` gave up waiting for, as a clause for an error message,
 * read on a connection of its own (the waiting one may be in an aborted transaction).
 */
export async function describeLockHolders(target: DatabaseTarget, own: number, modes?: string[]): Promise<string> {
  try {
    const holders = await withConnection(target, "windmill-pg-backup: lock report", (monitor) => lockHolders(monitor, own, modes));
    return holders.length === 0 ? "the session holding it has let go since" : `held by ${describeSessions(holders)}`;
  } catch (error) {
    return `the sessions holding locks could not be listed (${(error as Error).message})`;
  }
}

/** One line per session, for an error message a person can act on. */
export function describeSessions(sessions: OtherSession[]): string {
  return sessions
    .map((s) =>
      `pid ${s.pid} (application_name ${JSON.stringify(s.application_name)}, user ${s.user}, from ${s.client_address}, ` +
      `${s.state || "state unknown"}${s.query_start ? ` since ${s.query_start}` : ""}; holds ${s.holds})`
    )
    .join("; ");
}

/**
 * End every other client session of the database `client` is connected to, except the bundle's own
 * (its lock holder, a run waiting for the lock: application_name starts with `ownPrefix`), waiting
 * up to 5 s for each to exit; returns the sessions ended.
 */
export async function terminateSessions(client: pg.ClientBase, ownPrefix: string): Promise<OtherSession[]> {
  const { rows } = await client.query<OtherSession & { terminated: boolean }>(
    `SELECT a.pid, COALESCE(a.application_name, '') AS application_name, COALESCE(a.usename::text, '') AS user,
            COALESCE(host(a.client_addr), 'local socket') AS client_address, COALESCE(a.state, '') AS state,
            a.query_start::text AS query_start, 'a connection' AS holds,
            pg_catalog.pg_terminate_backend(a.pid, 5000) AS terminated
       FROM pg_catalog.pg_stat_activity a
      WHERE a.datname = pg_catalog.current_database() AND a.pid <> pg_catalog.pg_backend_pid()
        AND a.backend_type = 'client backend' AND NOT starts_with(COALESCE(a.application_name, ''), $1)
      ORDER BY a.pid`,
    [ownPrefix],
  );
  return rows.filter((r) => r.terminated).map(({ terminated, ...session }) => session);
}
