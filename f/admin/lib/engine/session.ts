// Session settings pinned as pg_dump pins them, so that definitions come out schema-qualified,
// values print the same way on every server, and row-level security never hides rows.
import type pg from "pg";

/** Settings applied to every connection that reads or writes archive text. */
export const PINNED_SETTINGS: ReadonlyArray<readonly [string, string]> = [
  ["search_path", ""],
  ["row_security", "off"],
  ["DateStyle", "ISO, MDY"],
  ["IntervalStyle", "postgres"],
  ["TimeZone", "UTC"],
  ["extra_float_digits", "3"],
  ["statement_timeout", "0"],
  ["idle_in_transaction_session_timeout", "0"],
  ["client_encoding", "UTF8"],
  ["standard_conforming_strings", "on"],
  ["check_function_bodies", "off"],
];

/** The archive's preamble: the same settings, as statements psql runs before anything else. */
export function settingsPreamble(): string[] {
  return [
    "SET statement_timeout = 0;",
    "SET idle_in_transaction_session_timeout = 0;",
    "SET client_encoding = 'UTF8';",
    "SET standard_conforming_strings = on;",
    "SELECT pg_catalog.set_config('search_path', '', false);",
    "SET check_function_bodies = false;",
    "SET xmloption = content;",
    "SET client_min_messages = warning;",
    "SET row_security = off;",
    "SET DateStyle = 'ISO, MDY';",
    "SET IntervalStyle = 'postgres';",
    "SET TimeZone = 'UTC';",
    "SET extra_float_digits = 3;",
  ];
}

export async function pinSettings(client: pg.ClientBase): Promise<void> {
  for (const [name, value] of PINNED_SETTINGS) {
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
