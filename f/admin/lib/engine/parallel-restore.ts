// Applies an archive into a database this restore created, where no single transaction is needed (a
// failure anywhere drops the database): the schema on one connection, the tables' rows over several
// (a large table's rows spread over all of them), then indexes and constraints built side by side.
// Each table is verified from the rows sent to it, as in an in-place restore.
import type pg from "pg";
import type { TableEntry } from "../archive/manifest.ts";
import type { ProvenArchive } from "../archive/reader.ts";
import { connect, type DatabaseTarget } from "./connection.ts";
import type { ObjectRef } from "./kinds.ts";
import { splitStatements, type SplitStatement } from "./plain-archive.ts";
import { qualify } from "./quote.ts";
import { archivedSequenceValues, clearOwnObjects, copyInto, loadLargeObjects, loadTable, type RowSink, runSection, sectionError,
  setSequences, streamRows, type TableCheck } from "./restore.ts";
import { pinSettings } from "./session.ts";
import { copyFromStatement } from "./table-member.ts";

/** Sessions a restore into a new database uses: the server does the parsing and index builds, and two or three keep two cores busy. */
export const RESTORE_CONNECTIONS = 3;
/** Index memory per session (three at once: a small server must still have room). */
const PARALLEL_MAINTENANCE_WORK_MEM = "128MB";
/** A table with more COPY text than this is loaded over every session at once, in blocks of rows. */
const WIDE_TABLE_BYTES = 32 * 1024 * 1024;
const BLOCK_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;

export interface NewDatabaseOptions {
  connections?: number;
  onTable?: (table: TableEntry, index: number, total: number) => void;
}

/**
 * Apply the whole archive into the new database `target` names and return the objects it dropped
 * (only what a new database has that the archive does not, e.g. its public schema) and each table's
 * check. Every session is closed, and every statement it ran has ended, before this returns or throws.
 */
export async function applyArchiveToNewDatabase(
  target: DatabaseTarget,
  archive: ProvenArchive,
  options: NewDatabaseOptions = {},
): Promise<{ dropped: ObjectRef[]; checks: TableCheck[] }> {
  const { manifest } = archive;
  const sessions: pg.Client[] = [];
  try {
    for (let i = 0; i < Math.max(1, options.connections ?? RESTORE_CONNECTIONS); i++) {
      const client = await connect(target, `windmill-pg-backup: restore (session ${i + 1})`);
      sessions.push(client);
      await pinSettings(client);
      await client.query(`SET maintenance_work_mem = '${PARALLEL_MAINTENANCE_WORK_MEM}'`);
    }
    const main = sessions[0]!;
    await main.query("BEGIN");
    const dropped = await clearOwnObjects(main, manifest);
    await runSection(main, archive, "pre_data");
    await main.query("COMMIT");
    const checks = await loadRows(sessions, archive, options.onTable);
    if (manifest.sections.large_objects) {
      await main.query("BEGIN");
      await loadLargeObjects(main, archive, manifest.sections.large_objects);
      await main.query("COMMIT");
    }
    await setSequences(main, await archivedSequenceValues(archive));
    await buildPostData(sessions, archive);
    return { dropped, checks };
  } finally {
    await Promise.all(sessions.map((client) => client.end().catch(() => undefined)));
  }
}

/**
 * Large tables first, each over every session; then the others, a table per session at a time,
 * largest first, each emptied in its own transaction so that its rows load frozen.
 */
async function loadRows(sessions: pg.Client[], archive: ProvenArchive, onTable: NewDatabaseOptions["onTable"]): Promise<TableCheck[]> {
  const tables = archive.manifest.tables;
  const checks = new Map<TableEntry, TableCheck>();
  const done = (table: TableEntry, check: TableCheck) => {
    checks.set(table, check);
    onTable?.(table, checks.size - 1, tables.length);
  };
  const wide = (t: TableEntry) => sessions.length > 1 && t.condition === undefined && t.bytes > WIDE_TABLE_BYTES;
  for (const table of tables.filter(wide)) {
    const statement = copyFromStatement(table.schema, table.name, table.columns);
    done(table, await streamRows(archive, table, () => spread(sessions.map((client) => copyInto(client, statement)), BLOCK_BYTES)));
  }
  const queue = tables.filter((t) => !wide(t)).sort((a, b) => b.bytes - a.bytes);
  await everySession(sessions, async (client, stopped) => {
    for (let table = queue.shift(); table && !stopped(); table = queue.shift()) {
      if (table.condition !== undefined) {
        done(table, await loadTable(client, archive, table));
        continue;
      }
      await client.query(`BEGIN; TRUNCATE TABLE ONLY ${qualify(table.schema, table.name)}`);
      done(table, await loadTable(client, archive, table, { freeze: true }));
      await client.query("COMMIT");
    }
  });
  return tables.map((t) => checks.get(t)!);
}

/**
 * One table's rows over several COPYs into it: blocks of about `blockBytes`, each cut after a row's
 * end, go to the sessions in turn; a row longer than a block streams whole into one of them.
 */
export function spread(sinks: RowSink[], blockBytes: number): RowSink {
  let current = 0;
  let written = 0;
  return {
    write: async (bytes) => {
      let start = 0;
      while (start < bytes.length) {
        const sink = sinks[current]!;
        if (written < blockBytes) {
          const take = Math.min(bytes.length - start, blockBytes - written);
          await sink.write(bytes.subarray(start, start + take));
          written += take;
          start += take;
          continue;
        }
        const end = bytes.indexOf(NEWLINE, start);
        if (end === -1) {
          await sink.write(bytes.subarray(start));
          return;
        }
        await sink.write(bytes.subarray(start, end + 1));
        start = end + 1;
        current = (current + 1) % sinks.length;
        written = 0;
      }
    },
    end: async () => {
      let rows = 0;
      for (const sink of sinks) rows += await sink.end();
      return rows;
    },
    abort: () => {
      for (const sink of sinks) sink.abort();
    },
  };
}

/**
 * Run `work` on every session at once. The first failure stops the others from starting anything
 * new (`stopped`), and is thrown once every session has finished what it was doing: nothing is
 * left running in a database the caller is about to drop.
 */
async function everySession(sessions: pg.Client[], work: (client: pg.Client, stopped: () => boolean) => Promise<void>): Promise<void> {
  let failed = false;
  const results = await Promise.allSettled(sessions.map((client) =>
    work(client, () => failed).catch((error: unknown) => {
      failed = true;
      throw error;
    })
  ));
  const failure = results.find((r) => r.status === "rejected");
  if (failure) throw failure.reason;
}

/**
 * The post-data section, split with PostgreSQL's parser: runs of index builds and key constraints
 * are spread over the sessions, a statement starting only when no earlier one of the run touches
 * the same table (so they never wait for each other's locks, and a foreign key comes after the key
 * it references); everything else runs in the archive's order on the first session. When the
 * section cannot be split here, it runs whole, as in an in-place restore.
 */
async function buildPostData(sessions: pg.Client[], archive: ProvenArchive): Promise<void> {
  const main = sessions[0]!;
  const sql = await archive.text(archive.manifest.sections.post_data, "the indexes, constraints and triggers (post-data)");
  const statements = await splitStatements(sql).catch(() => undefined);
  if (statements === undefined || sessions.length === 1) return await runSection(main, archive, "post_data", sql);
  const plain = await plainTables(main);
  let serial: string[] = [];
  let parallel: Job[] = [];
  const flush = async () => {
    if (serial.length > 0) await runSql(main, serial.join("\n;\n"));
    serial = [];
    if (parallel.length > 0) await runJobs(sessions, parallel);
    parallel = [];
  };
  for (const statement of statements) {
    const tables = buildsOn(statement, plain);
    if (tables === undefined) {
      if (parallel.length > 0) await flush();
      serial.push(statement.text);
    } else {
      if (serial.length > 0) await flush();
      parallel.push({ text: statement.text, tables });
    }
  }
  await flush();
}

interface Job {
  text: string;
  tables: string[];
}

/** `schema.name` of ordinary tables and materialized views that are not partitions (an index on a partitioned table reaches its partitions). */
async function plainTables(client: pg.ClientBase): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT pg_catalog.format('%s.%s', n.nspname, c.relname) AS name FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'm') AND NOT c.relispartition`,
  );
  return new Set(rows.map((r) => r.name));
}

type RangeVar = { schemaname?: string; relname?: string };

/** The tables a statement locks, when it is an index build or key constraint that may run beside others; else undefined. */
function buildsOn(statement: SplitStatement, plain: Set<string>): string[] | undefined {
  const name = (r: RangeVar | undefined) => (r?.schemaname && r.relname ? `${r.schemaname}.${r.relname}` : undefined);
  const on = (names: Array<string | undefined>) => names.every((n) => n !== undefined && plain.has(n)) ? (names as string[]) : undefined;
  if (statement.kind === "IndexStmt") {
    const node = statement.node as { relation?: RangeVar; concurrent?: boolean };
    return node.concurrent ? undefined : on([name(node.relation)]);
  }
  if (statement.kind !== "AlterTableStmt") return undefined;
  const node = statement.node as { relation?: RangeVar; objtype?: string;
    cmds?: Array<{ AlterTableCmd?: { subtype?: string; def?: unknown } }> };
  const cmd = node.cmds?.length === 1 ? node.cmds[0]!.AlterTableCmd : undefined;
  if (node.objtype !== "OBJECT_TABLE" || cmd?.subtype !== "AT_AddConstraint") return undefined;
  const constraint = (cmd.def as { Constraint?: { contype?: string; indexname?: string; pktable?: RangeVar } }).Constraint;
  if (!constraint || constraint.indexname !== undefined) return undefined;
  if (["CONSTR_PRIMARY", "CONSTR_UNIQUE", "CONSTR_EXCLUSION"].includes(constraint.contype ?? "")) return on([name(node.relation)]);
  if (constraint.contype === "CONSTR_FOREIGN") return on([name(node.relation), name(constraint.pktable)]);
  return undefined;
}

/** Run jobs over the sessions; a job starts when no earlier job sharing a table is waiting or running. */
async function runJobs(sessions: pg.Client[], jobs: Job[]): Promise<void> {
  const waiting = [...jobs];
  const running = new Set<Job>();
  const shares = (a: Job, b: Job) => a.tables.some((t) => b.tables.includes(t));
  const startable = (job: Job, index: number) =>
    waiting.slice(0, index).every((earlier) => !shares(earlier, job)) && [...running].every((r) => !shares(r, job));
  let wake: () => void = () => undefined;
  await everySession(sessions, async (client, stopped) => {
    while (waiting.length > 0 && !stopped()) {
      const index = waiting.findIndex(startable);
      if (index === -1) {
        await new Promise<void>((resolve) => {
          const previous = wake;
          wake = () => {
            previous();
            resolve();
          };
        });
        continue;
      }
      const [job] = waiting.splice(index, 1);
      running.add(job!);
      try {
        await runSql(client, job!.text);
      } finally {
        running.delete(job!);
        const woken = wake;
        wake = () => undefined;
        woken();
      }
    }
  });
}

async function runSql(client: pg.ClientBase, sql: string): Promise<void> {
  try {
    await client.query(sql);
  } catch (error) {
    throw sectionError("post_data", sql, error);
  }
}
