// Archives made by pg_dump in plain format (`.sql`, `.sql.gz`): read as psql would, line by line,
// with PostgreSQL's own parser (libpg-query, WebAssembly) deciding where each statement ends, COPY
// blocks streamed as they come, and psql's meta-commands handled (\restrict, \unrestrict) or
// refused (\connect and anything else) with the line they are on. Nothing is held whole in memory.
import { once } from "node:events";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { ArchiveIntegrityError, BackupError, RestoreRefusedError } from "../errors.ts";

/** One step of a plain archive: statements, or one COPY block's data. */
export type ScriptEvent =
  | { type: "sql"; text: string; line: number; statements: ParsedStatement[] }
  | { type: "copy"; text: string; line: number; schema: string; name: string; data: AsyncIterable<Buffer> };

export interface ParsedStatement {
  kind: string;
  node: Record<string, unknown>;
}

/** psql meta-commands pg_dump writes that mean nothing to a restore through a driver. */
const IGNORED_META = new Set(["restrict", "unrestrict"]);

/** Pure: what to do with a psql meta-command line at a statement boundary. */
export function metaCommandAction(line: string, lineNumber: number): "ignore" {
  const command = /^\\([A-Za-z.]+)/.exec(line)?.[1] ?? line.slice(1, 20);
  if (IGNORED_META.has(command)) return "ignore";
  if (command === "connect" || command === "c") {
    throw new RestoreRefusedError(
      `The archive switches database at line ${lineNumber} (${line.trim().slice(0, 80)}): it was made by pg_dumpall or pg_dump --create, ` +
        "which hold several databases or create their own. Nothing was changed. Make the archive with pg_dump DBNAME (without --create), " +
        "or cut the part for one database out of it.",
    );
  }
  throw new RestoreRefusedError(
    `The archive has a psql meta-command this restore does not run, at line ${lineNumber}: ${
      line.trim().slice(0, 80)
    }. Nothing was changed. ` +
      "Archives made by pg_dump --format=plain contain only \\restrict, \\unrestrict, \\connect and COPY data.",
  );
}

/** Pure: a parse error that means "the statement goes on in the next lines". */
export function isIncomplete(message: string): boolean {
  return /^unterminated |at end of input/.test(message);
}

/**
 * Pure: a session setting of the archive that must not apply inside our transaction: lock_timeout
 * (ours names the sessions holding locks), and settings the target server does not have (pg_dump 17
 * writes transaction_timeout; psql would report it and go on, a transaction would abort).
 */
export function skipSetting(name: string, serverVersionNum: number): boolean {
  return name === "lock_timeout" || (name === "transaction_timeout" && serverVersionNum < 170000);
}

async function* lines(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let rest = Buffer.alloc(0);
  for await (const chunk of chunks) {
    const buffer = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let start = 0;
    for (let end = buffer.indexOf(10, start); end !== -1; end = buffer.indexOf(10, start)) {
      yield buffer.subarray(start, end + 1);
      start = end + 1;
    }
    rest = Buffer.from(buffer.subarray(start));
  }
  if (rest.length > 0) yield rest;
}

type PostgresParser = typeof import("libpg-query");
let parserLoading: Promise<PostgresParser> | undefined;

/**
 * PostgreSQL's parser, loaded on first use only: importing libpg-query starts reading its
 * WebAssembly file, which a script bundled by Windmill's Bun worker and run from the bundle cache
 * can no longer find (the file was in the first job's directory). Scripts that read pg_dump archives
 * therefore run unbundled on Windmill (`// nobundling`), and every other script never loads it.
 */
async function postgresParser(): Promise<PostgresParser> {
  parserLoading ??= import("libpg-query").then(async (parser) => {
    await parser.loadModule();
    return parser;
  });
  return await parserLoading.catch((error: unknown) => {
    parserLoading = undefined;
    throw new BackupError(
      `PostgreSQL's parser (libpg-query) could not be loaded: ${(error as Error).message}. On Windmill, the script that reads ` +
        "pg_dump archives must run unbundled (its `// nobundling` annotation, as deployed by this bundle).",
      { cause: error },
    );
  });
}

/** One statement of a script, as PostgreSQL's parser cut it: its text, and its kind and tree (libpg-query's). */
export interface SplitStatement {
  text: string;
  kind: string;
  node: Record<string, unknown>;
}

/** `sql` cut into its statements by PostgreSQL's parser (comments between them left out). */
export async function splitStatements(sql: string): Promise<SplitStatement[]> {
  const { parse } = await postgresParser();
  const tree = (await parse(sql)) as {
    stmts?: Array<{ stmt: Record<string, Record<string, unknown>>; stmt_location?: number; stmt_len?: number }>;
  };
  // The parser's locations count bytes of the UTF-8 text.
  const bytes = Buffer.from(sql, "utf8");
  return (tree.stmts ?? []).map(({ stmt, stmt_location = 0, stmt_len = 0 }) => {
    const [kind, node] = Object.entries(stmt)[0]!;
    const text = bytes.subarray(stmt_location, stmt_len === 0 ? undefined : stmt_location + stmt_len).toString("utf8");
    return { text, kind, node };
  });
}

const END_OF_COPY = /^\\\.\r?\n?$/;

/**
 * The archive as a sequence of statements and COPY blocks. A COPY block's `data` must be consumed
 * (or drained) before the next event is asked for.
 */
export async function* readPlainScript(chunks: AsyncIterable<Buffer>): AsyncGenerator<ScriptEvent> {
  const { parse } = await postgresParser();
  const source = lines(chunks)[Symbol.asyncIterator]();
  let lineNumber = 0;
  let pending = "";
  let pendingLine = 0;
  for (let next = await source.next(); !next.done; next = await source.next()) {
    lineNumber += 1;
    const text = next.value.toString("utf8");
    if (pending === "") {
      if (text.trim() === "" || text.startsWith("--")) continue;
      if (text.startsWith("\\")) {
        metaCommandAction(text, lineNumber);
        continue;
      }
      pendingLine = lineNumber;
    }
    pending += text;
    if (!text.trimEnd().endsWith(";")) continue;
    let statements: ParsedStatement[];
    try {
      const tree = (await parse(pending)) as { stmts?: Array<{ stmt: Record<string, Record<string, unknown>> }> };
      statements = (tree.stmts ?? []).map(({ stmt }) => {
        const [kind, node] = Object.entries(stmt)[0]!;
        return { kind, node };
      });
    } catch (error) {
      const message = (error as Error).message;
      if (isIncomplete(message)) continue;
      throw new ArchiveIntegrityError(
        `The archive's statement at line ${pendingLine} does not parse (${message}): ${pending.slice(0, 200)}`,
      );
    }
    const last = statements.at(-1);
    const copy = last?.kind === "CopyStmt" && last.node.is_from === true && last.node.filename === undefined ? last : undefined;
    if (!copy) {
      yield { type: "sql", text: pending, line: pendingLine, statements };
      pending = "";
      continue;
    }
    if (statements.length > 1) {
      throw new ArchiveIntegrityError(
        `The archive's COPY at line ${pendingLine} shares its line with other statements; pg_dump never writes that: is this a pg_dump archive?`,
      );
    }
    const relation = copy.node.relation as { schemaname?: string; relname: string };
    const [schema, name] = [relation.schemaname ?? "public", relation.relname];
    const copyLine = pendingLine;
    const statement = pending.trim().replace(/;$/, "");
    pending = "";
    let ended = false;
    const data = async function*(): AsyncGenerator<Buffer> {
      for (let row = await source.next(); !row.done; row = await source.next()) {
        lineNumber += 1;
        if (row.value[0] === 0x5c && END_OF_COPY.test(row.value.toString("latin1"))) {
          ended = true;
          return;
        }
        yield row.value;
      }
    };
    yield { type: "copy", text: statement, line: copyLine, schema, name, data: data() };
    if (!ended) {
      throw new ArchiveIntegrityError(
        `The archive ends inside the COPY data of ${schema}.${name} (started at line ${copyLine}): it is cut short.`,
      );
    }
  }
  if (pending.trim() !== "") {
    throw new ArchiveIntegrityError(
      `The archive ends inside a statement (line ${pendingLine}: ${pending.slice(0, 120)}…): it is cut short.`,
    );
  }
}

/** Pure: whether a file's first lines are the header pg_dump writes in plain format. */
export function hasPgDumpHeader(start: string): boolean {
  return /^--\r?\n-- PostgreSQL database dump\r?\n--\r?\n/.test(start);
}

/** The same chunks, once the first lines proved to be pg_dump's header; else a refusal naming the file. */
async function* afterPgDumpHeader(chunks: AsyncIterable<Buffer>, name: string): AsyncGenerator<Buffer> {
  let head = Buffer.alloc(0);
  let checked = false;
  for await (const chunk of chunks) {
    if (checked) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length < 64) continue;
    requireHeader(head, name);
    checked = true;
    yield head;
  }
  if (!checked) {
    requireHeader(head, name);
    if (head.length > 0) yield head;
  }
}

function requireHeader(head: Buffer, name: string): void {
  if (hasPgDumpHeader(head.toString("latin1"))) return;
  throw new RestoreRefusedError(
    `Restore refused: ${name} is not an archive made by pg_dump in plain format (it does not begin with pg_dump's header ` +
      `"--" / "-- PostgreSQL database dump" / "--"). Nothing was changed. pg_dump_archive takes only files written by pg_dump --format=plain; ` +
      "a backup of this bundle restores without pg_dump_archive.",
  );
}

/** Statement kinds (libpg-query's node names) that create something. */
const CREATING = /^(Create|Define|View|Index|CompositeType)/;

/** What a first, read-only pass learns: the archive parses to its end, and what it will load. */
export interface PlainArchiveSummary {
  statements: number;
  /** Statements that create an object (tables, views, functions, types, schemas, indexes…). */
  creates: number;
  /** Rows per table in COPY blocks, in archive order. */
  tables: Array<{ schema: string; name: string; rows: number }>;
  createdSchemas: Set<string>;
}

/** The first pass over a pg_dump archive: its header, then every statement parsed and every COPY row counted. */
export async function summarizePlainScript(chunks: AsyncIterable<Buffer>, name: string): Promise<PlainArchiveSummary> {
  const summary: PlainArchiveSummary = { statements: 0, creates: 0, tables: [], createdSchemas: new Set() };
  for await (const event of readPlainScript(afterPgDumpHeader(chunks, name))) {
    if (event.type === "copy") {
      let rows = 0;
      for await (const _ of event.data) rows += 1;
      const seen = summary.tables.find((t) => t.schema === event.schema && t.name === event.name);
      if (seen) seen.rows += rows;
      else summary.tables.push({ schema: event.schema, name: event.name, rows });
      continue;
    }
    summary.statements += event.statements.length;
    for (const s of event.statements) {
      if (s.kind === "CreateSchemaStmt") summary.createdSchemas.add(String(s.node.schemaname));
      if (CREATING.test(s.kind)) summary.creates += 1;
    }
  }
  return summary;
}

const WRITE_BATCH_BYTES = 256 * 1024;

/** Run the archive into the transaction `client` has open; COPY data goes straight to the server. */
export async function applyPlainScript(
  client: pg.ClientBase,
  chunks: AsyncIterable<Buffer>,
  onTable?: (table: { schema: string; name: string }) => void,
): Promise<void> {
  const version = Number((await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
  for await (const event of readPlainScript(chunks)) {
    if (event.type === "sql") {
      const skipped = event.statements.every((s) => s.kind === "VariableSetStmt" && skipSetting(String(s.node.name), version));
      if (skipped) continue;
      try {
        await client.query(event.text);
      } catch (error) {
        throw new BackupError(
          `The archive's statement at line ${event.line} failed (${(error as Error).message}): ${event.text.trim().slice(0, 200)}`,
          { cause: error },
        );
      }
      continue;
    }
    const sink = client.query(copyFrom(event.text));
    try {
      let batch: Buffer[] = [];
      let size = 0;
      for await (const row of event.data) {
        batch.push(row);
        size += row.length;
        if (size < WRITE_BATCH_BYTES) continue;
        if (!sink.write(Buffer.concat(batch))) await once(sink, "drain");
        batch = [];
        size = 0;
      }
      if (size > 0) sink.write(Buffer.concat(batch));
      sink.end();
      await once(sink, "finish");
    } catch (error) {
      sink.destroy();
      throw new BackupError(
        `Loading the rows of ${event.schema}.${event.name} (COPY at line ${event.line}) failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
    onTable?.(event);
  }
}
