// Session settings pinned as pg_dump pins them, so that definitions come out schema-qualified,
// values print the same way on every server, and row-level security never hides rows.
import type pg from "pg";

/**
 * The settings pinned for every connection that reads or writes archive text, in the order the
 * archive's preamble sets them: `value` as set_config takes it, `written` as the preamble's SET
 * writes it. Those marked `archiveOnly` matter to psql running the archive, not to our sessions.
 */
const PINNED: ReadonlyArray<{ name: string; value: string; written: string; archiveOnly?: true }> = [
  { name: "statement_timeout", value: "0", written: "0" },
  { name: "idle_in_transaction_session_timeout", value: "0", written: "0" },
  { name: "client_encoding", value: "UTF8", written: "'UTF8'" },
  { name: "standard_conforming_strings", value: "on", written: "on" },
  // SET cannot make the search_path empty: the preamble calls set_config, as pg_dump does.
  { name: "search_path", value: "", written: "''" },
  { name: "check_function_bodies", value: "off", written: "false" },
  { name: "xmloption", value: "content", written: "content", archiveOnly: true },
  { name: "client_min_messages", value: "warning", written: "warning", archiveOnly: true },
  { name: "row_security", value: "off", written: "off" },
  { name: "DateStyle", value: "ISO, MDY", written: "'ISO, MDY'" },
  { name: "IntervalStyle", value: "postgres", written: "'postgres'" },
  { name: "TimeZone", value: "UTC", written: "'UTC'" },
  { name: "extra_float_digits", value: "3", written: "3" },
];

/** The archive's preamble: the same settings, as statements psql runs before anything else. */
export function settingsPreamble(): string[] {
  return PINNED.map((s) =>
    s.name === "search_path" ? `SELECT pg_catalog.set_config('search_path', ${s.written}, false);` : `SET ${s.name} = ${s.written};`
  );
}

export async function pinSettings(client: pg.ClientBase): Promise<void> {
  for (const { name, value } of PINNED.filter((s) => !s.archiveOnly)) {
    await client.query("SELECT pg_catalog.set_config($1, $2, false)", [name, value]);
  }
}

/**
 * Start the dump's snapshot: one REPEATABLE READ READ ONLY transaction that every catalog query and
 * every COPY of the backup runs in, so schema and data describe the same instant.
 */
export async function beginSnapshot(client: pg.ClientBase): Promise<void> {
  await pinSettings(client);
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

/** Every statement on `client` from now on (or, with `transaction`, until its transaction ends) waits at most `ms` for a lock. */
export async function setLockTimeout(client: pg.ClientBase, ms: number, scope: "session" | "transaction" = "session"): Promise<void> {
  await client.query("SELECT pg_catalog.set_config('lock_timeout', $1, $2)", [`${Math.max(1, Math.round(ms))}ms`, scope === "transaction"]);
}

/**
 * Run `work` in one transaction with the pinned settings, each statement waiting at most
 * `lockTimeoutMs` for a lock: committed when it returns. When it throws, `beforeRollback` runs first,
 * while the transaction still holds its locks, then it is rolled back and the error rethrown.
 */
export async function inTransaction<T>(
  client: pg.ClientBase,
  lockTimeoutMs: number,
  work: () => Promise<T>,
  beforeRollback?: (error: unknown) => Promise<void>,
): Promise<T> {
  await pinSettings(client);
  await client.query("BEGIN");
  await setLockTimeout(client, lockTimeoutMs, "transaction");
  try {
    const result = await work();
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await beforeRollback?.(error);
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** Read in a snapshot (see beginSnapshot) that is rolled back afterwards: nothing is changed. */
export async function inSnapshot<T>(client: pg.ClientBase, read: () => Promise<T>): Promise<T> {
  await beginSnapshot(client);
  try {
    return await read();
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
  }
}
