// Independent judges of "the same database": they share no code with the engine. The schema by
// pg_dump --schema-only (where this machine has pg_dump of the server's major version), the data by
// an md5 over every table's rows sorted as text, computed by the server itself.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import type { Cluster } from "./cluster.ts";

/** pg_dump's schema text, without the lines that differ between any two dumps (header, restrict keys). */
export function schemaText(cluster: Cluster, dbname: string): string | undefined {
  if (!cluster.clientBin) return undefined;
  const out = spawnSync(join(cluster.clientBin, "pg_dump"), ["--schema-only", "--no-owner", "-d", dbname], {
    encoding: "utf8",
    env: cluster.libpqEnv(),
    maxBuffer: 256 * 1024 * 1024,
  });
  if (out.status !== 0) throw new Error(`pg_dump failed: ${out.stderr}`);
  return out.stdout
    .split("\n")
    .filter((line) => !/^--( Dumped|.*PostgreSQL database dump)/.test(line) && !/^\\(un)?restrict /.test(line))
    .join("\n");
}

/**
 * Table → `rows:md5` of all rows as text, sorted; every ordinary table of every non-system schema.
 * The bundle's own audit rows (system_logs, source = 'backup') are left out: every backup writes one
 * into the database it has just backed up, and every restore into the database it has restored.
 */
export async function dataFingerprint(cluster: Cluster, dbname: string): Promise<Record<string, string>> {
  const client = await cluster.connect(dbname);
  try {
    const tables = await client.query<{ name: string; audit: boolean }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name,
              c.relname = 'system_logs' AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'source') AS audit
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
        ORDER BY 1`,
    );
    const result: Record<string, string> = {};
    for (const { name, audit } of tables.rows) {
      const { rows } = await client.query<{ n: string; h: string | null }>(
        `SELECT count(*)::text AS n, md5(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE "C")) AS h FROM ${name} t` +
          (audit ? " WHERE t.source IS DISTINCT FROM 'backup'" : ""),
      );
      result[name] = `${rows[0]!.n}:${rows[0]!.h ?? "-"}`;
    }
    return result;
  } finally {
    await client.end();
  }
}

/** Point windmill-client's mock (and our resource loader) at a file with these resources. */
export function mockWindmill(dir: string, resources: Record<string, unknown>): string {
  // The backup volume is mounted, as on a worker set up by the README: the scripts never create it.
  const backupDir = (resources["f/admin/backup_settings"] as { backup_dir?: unknown } | undefined)?.backup_dir;
  if (typeof backupDir === "string") mkdirSync(backupDir, { recursive: true });
  const file = join(dir, "wm-mock.json");
  writeFileSync(file, JSON.stringify({ resources, variables: {} }, null, 2));
  process.env.WM_MOCKED_API_FILE = file;
  return file;
}

/**
 * What "the database is exactly as it was" compares: every table's rows (the bundle's audit rows
 * apart), every sequence's position (`setval` is not transactional, so a rolled-back restore can
 * still move one), and the audit rows themselves, each as text.
 */
export interface DatabaseState {
  data: Record<string, string>;
  sequences: Record<string, string>;
  audit: string[];
}

/**
 * The state of `dbname`. `exceptAudit` leaves out the audit rows and the sequence that numbers them,
 * for the failures that rightly write one (a failed backup records itself); check those with
 * `auditRows` instead.
 */
export async function databaseState(cluster: Cluster, dbname: string, { exceptAudit = false } = {}): Promise<DatabaseState> {
  const data = await dataFingerprint(cluster, dbname);
  const client = await cluster.connect(dbname);
  try {
    const sequences = await client.query<{ name: string; audit: boolean }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name,
              EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                       WHERE d.objid = c.oid AND d.classid = 'pg_class'::regclass AND t.relname = 'system_logs') AS audit
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
    );
    const positions: Record<string, string> = {};
    for (const { name, audit } of sequences.rows) {
      if (exceptAudit && audit) continue;
      const { rows } = await client.query<{ v: string }>(
        `SELECT last_value::text || CASE WHEN is_called THEN ' called' ELSE '' END AS v FROM ${name}`,
      );
      positions[name] = rows[0]!.v;
    }
    return { data, sequences: positions, audit: exceptAudit ? [] : await auditRows(client) };
  } finally {
    await client.end();
  }
}

/** The bundle's audit rows (system_logs, source = 'backup') as text, in a stable order; none when the table is absent. */
export async function auditRows(client: pg.ClientBase): Promise<string[]> {
  const exists = await client.query(
    `SELECT 1 FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid WHERE c.relname = 'system_logs' AND a.attname = 'source' AND c.relkind = 'r'`,
  );
  if (exists.rows.length === 0) return [];
  const { rows } = await client.query<{ row: string }>(
    `SELECT t::text AS row FROM public.system_logs t WHERE t.source = 'backup' ORDER BY t::text`,
  );
  return rows.map((r) => r.row);
}
