// One operation at a time per database: backups, restores (with their pre-restore backup) and
// cleanups hold a session-level advisory lock, because Windmill Community Edition lets schedules
// and manual runs overlap. A run that cannot get the lock in time names the holder.
import type pg from "pg";
import { BackupError } from "../errors.ts";
import { withConnection, type DatabaseTarget } from "./connection.ts";
import { isLockTimeout } from "./sql.ts";

/** Two 32-bit keys; the first spells "wpgb" so the lock is recognisable in pg_locks. */
const LOCK_KEYS = [0x77706762, 1] as const;

export interface HeldLock {
  release(): Promise<void>;
}

/** Wait up to `waitMs` for the bundle's lock on the database `client` is connected to. */
export async function acquireOperationLock(client: pg.ClientBase, waitMs: number): Promise<HeldLock> {
  await client.query(`SELECT pg_catalog.set_config('lock_timeout', $1, false)`, [`${Math.max(1, Math.round(waitMs))}ms`]);
  try {
    await client.query("SELECT pg_catalog.pg_advisory_lock($1, $2)", [...LOCK_KEYS]);
  } catch (error) {
    if (!isLockTimeout(error)) throw error;
    throw new BackupError(
      `Another backup, restore or cleanup is running on this database (${await describeHolder(client)}); ` +
        `waited ${Math.round(waitMs / 1000)} s for it and did nothing. Run this again once it has finished, or raise ` +
        "lock_wait_seconds in f/admin/backup_settings (fail_if_busy: true does not wait at all).",
    );
  } finally {
    await client.query(`SELECT pg_catalog.set_config('lock_timeout', '0', false)`).catch(() => undefined);
  }
  return {
    release: async () => {
      await client.query("SELECT pg_catalog.pg_advisory_unlock($1, $2)", [...LOCK_KEYS]);
    },
  };
}

async function describeHolder(client: pg.ClientBase): Promise<string> {
  const { rows } = await client.query<{ pid: number; application_name: string; since: string | null }>(
    `SELECT a.pid, a.application_name, a.backend_start::text AS since
       FROM pg_catalog.pg_locks l JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2
        AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())`,
    [LOCK_KEYS[0], LOCK_KEYS[1]],
  );
  const holder = rows[0];
  return holder ? `session ${holder.pid} "${holder.application_name}" connected since ${holder.since}` : "holder unknown";
}

/** Hold the bundle's lock on the database, on a connection of its own, while `work` runs. */
export async function withLock<T>(database: DatabaseTarget, operation: string, waitMs: number, work: () => Promise<T>): Promise<T> {
  return await withConnection(database, `windmill-pg-backup: ${operation} (lock)`, async (client) => {
    const lock = await acquireOperationLock(client, waitMs);
    try {
      return await work();
    } finally {
      await lock.release().catch(() => undefined);
    }
  });
}
