// Applies an archive inside the caller's transaction: clears the target's own objects, runs the
// schema sections (each proven the backup's first) through the server's own parser, streams each
// table's rows into a COPY FROM built from the manifest, sets sequences so that a rollback undoes
// them, and checks the rows against the manifest before the caller commits.
import { once } from "node:events";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { Manifest, TableEntry } from "../archive/manifest.ts";
import type { ProvenArchive } from "../archive/reader.ts";
import { ArchiveIntegrityError, BackupError } from "../errors.ts";
import type { NamedObject, ObjectRef, OwnObject } from "./kinds.ts";
import { aclChanges } from "./grants.ts";
import { inPlaceScope } from "./objects/database.ts";
import { readChangedInitialPrivileges, readChangedSchemaPrivileges } from "./objects/security.ts";
import { largeObjectSummary } from "./large-objects.ts";
import { qualify, quoteIdent, quoteLiteral } from "./quote.ts";
import { listOwnObjects } from "./registry.ts";
import { rows } from "./sql.ts";
import { copyFromStatement, END_OF_DATA, tableMemberHeader } from "./table-member.ts";
import { RowDigest } from "./digest.ts";
import { tableDigest } from "./verify.ts";

/**
 * Everything in non-system schemas that does not belong to an extension, with the statement that
 * drops it, in the order an in-place restore drops them (each kind's family lists its own, see
 * registry.ts). Schemas are dropped whole unless the archive has them or an extension lives in them.
 */
export async function ownObjects(client: pg.ClientBase, archiveSchemas: ReadonlySet<string>): Promise<OwnObject[]> {
  return await listOwnObjects(client, await inPlaceScope(client, archiveSchemas));
}

/** Every object of the target of the kinds an in-place restore drops, in every schema (none dropped whole). */
export async function ownObjectsEverywhere(client: pg.ClientBase): Promise<OwnObject[]> {
  const schemas = await rows<{ name: string }>(client, "SELECT nspname AS name FROM pg_catalog.pg_namespace");
  return await ownObjects(client, new Set(schemas.map((s) => s.name)));
}

/** Of `names`, the roles this server does not have. */
export async function missingRoles(client: pg.ClientBase, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const { rows } = await client.query<{ name: string }>(
    "SELECT w.name FROM pg_catalog.unnest($1::text[]) w(name) WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = w.name) ORDER BY 1",
    [names],
  );
  return rows.map((r) => r.name);
}

/** Roles an archive needs, made inside the restore's transaction: no login, no password, nothing else. */
export async function createRoles(client: pg.ClientBase, names: readonly string[]): Promise<void> {
  for (const name of names) await client.query(`CREATE ROLE ${quoteIdent(name)} NOLOGIN`);
}

export const objectKey = (o: NamedObject) => `${o.kind}\u0000${o.schema}\u0000${o.name}`;

/**
 * Drop the target's own objects so that afterwards it holds exactly the archive's. Returns the
 * dropped objects the archive does not create again (the user loses those: the result lists them).
 */
export async function clearOwnObjects(client: pg.ClientBase, manifest: Pick<Manifest, "objects" | "privileges">): Promise<ObjectRef[]> {
  const archiveSchemas = new Set(manifest.objects.filter((o) => o.kind === "schema").map((o) => o.name));
  const archived = new Set(manifest.objects.map(objectKey));
  const objects = await ownObjects(client, archiveSchemas);
  for (const object of objects) await client.query(object.drop);
  if (manifest.privileges) await resetKeptPrivileges(client);
  return objects.filter((o) => !archived.has(objectKey(o))).map(({ kind, schema, name }) => ({ kind, schema, name }));
}

/**
 * What an in-place restore keeps (the schemas the archive has, extension members, pg_catalog's
 * objects) goes back to the privileges a new database gives it, so that the archive's GRANTs and
 * REVOKEs (relative to exactly that) end where the source was: nothing granted here survives.
 */
async function resetKeptPrivileges(client: pg.ClientBase): Promise<void> {
  const changed = [...(await readChangedSchemaPrivileges(client)), ...(await readChangedInitialPrivileges(client))];
  const statements = changed.flatMap((c) => aclChanges(c.on, c.column, c.current, c.initial));
  if (statements.length > 0) await client.query(statements.join("\n"));
}

/**
 * Run one schema section, proven first (or `sql`, its text already read), as a single multi-statement
 * query: the server's parser splits it.
 */
export async function runSection(client: pg.ClientBase, archive: ProvenArchive, section: Section, sql?: string): Promise<void> {
  const label = section === "pre_data" ? "the schema (pre-data)" : "the indexes, constraints and triggers (post-data)";
  const text = sql ?? (await archive.text(archive.manifest.sections[section], label));
  try {
    await client.query(text);
  } catch (error) {
    throw sectionError(section, text, error);
  }
}

type Section = "pre_data" | "post_data";

/** A statement of a section failed: which section, near which line of `sql`, and the server's message. */
export function sectionError(section: Section, sql: string, error: unknown): BackupError {
  return new BackupError(`Restoring the ${section.replace("_", "-")} section failed${near(sql, error)}: ${(error as Error).message}`, {
    cause: error,
  });
}

/** The line of `sql` an error points at, for a message a person can act on. */
function near(sql: string, error: unknown): string {
  const position = Number((error as { position?: string }).position);
  if (!Number.isFinite(position) || position <= 0) return "";
  const lineStart = sql.lastIndexOf("\n", position - 1) + 1;
  const lineEnd = sql.indexOf("\n", position - 1);
  return ` near «${sql.slice(lineStart, lineEnd === -1 ? undefined : lineEnd).slice(0, 200)}»`;
}

const END_MARK = Buffer.from(END_OF_DATA);

/**
 * Where a table's rows go: one COPY FROM, or several (see parallel-restore.ts). `write` resolves
 * once the destination can take more (backpressure); `end` gives the server's count of the rows it
 * stored; `abort` cancels what was sent.
 */
export interface RowSink {
  write(bytes: Buffer): Promise<void>;
  end(): Promise<number>;
  abort(): void;
}

/**
 * A COPY FROM that never throws out of band: a row the server rejects ends every wait on the
 * stream with that error instead of an unhandled 'error' event. Each write waits until the socket
 * has taken the bytes before: whatever the size of a row, no more than a chunk of it is in memory.
 */
export function copyInto(client: pg.ClientBase, statement: string): RowSink {
  const sink = client.query(copyFrom(statement));
  const failed = new Promise<never>((_, reject) => sink.once("error", reject));
  failed.catch(() => undefined);
  sink.on("error", () => undefined);
  return {
    write: async (bytes) => {
      if (!sink.write(bytes)) await Promise.race([once(sink, "drain"), failed]);
    },
    end: async () => {
      sink.end();
      await Promise.race([once(sink, "finish"), failed]);
      return sink.rowCount;
    },
    abort: () => {
      sink.destroy();
    },
  };
}

export interface LoadOptions {
  /** `COPY … FREEZE`: only for a table created (or truncated) by the transaction that loads it. */
  freeze?: boolean;
}

/**
 * Stream one table's member into a COPY FROM this restore builds from the manifest, and return the
 * table's check (see streamRows).
 */
export async function loadTable(
  client: pg.ClientBase,
  archive: ProvenArchive,
  table: TableEntry,
  options: LoadOptions = {},
): Promise<TableCheck> {
  const check = await streamRows(archive, table,
    () => copyInto(client, copyFromStatement(table.schema, table.name, table.columns, { freeze: options.freeze === true })));
  return table.condition === undefined ? check : (await verifyTables(client, [table]))[0]!;
}

/**
 * Stream one table's member into the sink `open` gives. The member must begin with exactly the
 * header the dump writes for that table and end with the end-of-data line; everything between goes
 * to the server only as COPY data, and the member's bytes must be the backup's (sha256) before the
 * COPY is allowed to finish. The check holds the rows and digest of what was sent (computed on the
 * way, as the dump computed them), the server's count of the rows it stored required to agree.
 * (An extension's configuration table is read back instead by the caller: its extension may have
 * added rows of its own.)
 */
export async function streamRows(archive: ProvenArchive, table: TableEntry, open: () => RowSink): Promise<TableCheck> {
  const where = qualify(table.schema, table.name);
  const label = `the rows of ${table.schema}.${table.name}`;
  const header = Buffer.from(tableMemberHeader(table, archive.manifest.format_version));
  const { chunks, proven } = archive.stream(table.range, label);
  const sent = new RowDigest();
  let head: Buffer = Buffer.alloc(0);
  let copy: RowSink | undefined;
  // The last chunk is held back until the next arrives: the member must end with END_MARK, which is not COPY data.
  let held: Buffer = Buffer.alloc(0);
  let stored: number;
  const send = async (bytes: Buffer) => {
    sent.update(bytes);
    await copy!.write(bytes);
  };
  try {
    for await (const chunk of chunks) {
      if (!copy) {
        head = Buffer.concat([head, chunk]);
        if (head.length < header.length) continue;
        if (!head.subarray(0, header.length).equals(header)) {
          throw new ArchiveIntegrityError(
            `The archive's data for ${where} does not begin as the backup wrote it: the archive was changed or is damaged. Nothing of it was run.`,
          );
        }
        copy = open();
        held = head.subarray(header.length);
        head = Buffer.alloc(0);
      } else if (chunk.length >= END_MARK.length) {
        if (held.length > 0) await send(held);
        held = chunk;
      } else {
        held = Buffer.concat([held, chunk]);
      }
    }
    if (copy && held.length > END_MARK.length) {
      await send(held.subarray(0, held.length - END_MARK.length));
      held = held.subarray(held.length - END_MARK.length);
    }
    proven();
    if (!copy) throw new ArchiveIntegrityError(`The archive's data for ${where} has no COPY header: the archive is damaged.`);
    if (!held.equals(END_MARK)) throw new ArchiveIntegrityError(`The archive's data for ${where} is cut short: the archive is damaged.`);
    stored = await copy.end();
  } catch (error) {
    copy?.abort();
    if (error instanceof ArchiveIntegrityError) throw error;
    throw new BackupError(`Loading the rows of ${where} failed: ${(error as Error).message}`, { cause: error });
  }
  // A row cut short leaves the digest unfinished, and a count unlike the rows sent means the
  // server did not store what was sent: both are a difference in content, not a crash.
  return check(table, { rows: stored, digest: sent.rows === stored ? safeHex(sent) : "" });
}

const safeHex = (digest: RowDigest) => {
  try {
    return digest.hex();
  } catch {
    return "";
  }
};

const check = (table: TableEntry, found: { rows: number; digest: string }): TableCheck => ({
  table: `${table.schema}.${table.name}`,
  expected_rows: table.rows,
  found_rows: found.rows,
  expected_digest: table.digest,
  found_digest: found.digest,
  match: found.rows === table.rows && found.digest === table.digest,
});

const LO_CREATE = /^SELECT pg_catalog\.lo_create\('(\d+)'\);$/;
const LO_PUT = /^SELECT pg_catalog\.lo_put\('(\d+)', (\d+), '\\x((?:[0-9a-f]{2})*)'\);$/;

/**
 * The large objects' member holds one statement per line (hex data has no newline). Each line must
 * be one of the two shapes the dump writes; the restore runs its own parameterised statement with
 * the values, as they arrive, so memory does not grow with the objects. Then the member's digest
 * and the objects themselves are checked against the manifest.
 */
export async function loadLargeObjects(
  client: pg.ClientBase,
  archive: ProvenArchive,
  section: NonNullable<Manifest["sections"]["large_objects"]>,
): Promise<void> {
  const { chunks, proven } = archive.stream(section, "the large objects");
  let pending = "";
  const run = async (line: string) => {
    if (line === "" || line === "-- Large objects") return;
    const create = LO_CREATE.exec(line);
    if (create) return void (await client.query("SELECT pg_catalog.lo_create($1::pg_catalog.oid)", [create[1]]));
    const put = LO_PUT.exec(line);
    if (put) {
      return void (await client.query("SELECT pg_catalog.lo_put($1::pg_catalog.oid, $2::pg_catalog.int8, $3::pg_catalog.bytea)", [put[1],
        put[2], Buffer.from(put[3]!, "hex")]));
    }
    throw new ArchiveIntegrityError(
      `The archive's large objects hold a line the backup never writes (${
        JSON.stringify(line.slice(0, 60))
      }): the archive was changed. Nothing of it was run.`,
    );
  };
  for await (const chunk of chunks) {
    const lines = (pending + chunk.toString("utf8")).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) await run(line);
  }
  proven();
  if (pending.trim() !== "") throw new ArchiveIntegrityError("The archive's large objects are cut short: the archive is damaged.");
  const found = await largeObjectSummary(client);
  if (found.count !== section.count || found.digest !== section.digest) {
    throw new BackupError(
      `Verification failed, so the restore was rolled back: the database has ${found.count} large objects (${found.bytes} bytes) ` +
        `where the backup has ${section.count} (${section.bytes} bytes)${
          found.digest === section.digest ? "" : ", and their content differs"
        }.`,
    );
  }
}

/** One `SELECT pg_catalog.setval(…)` line of the archive, read back as values. */
export interface SequenceSetting {
  /** Quoted, schema-qualified name as the archive writes it: `"public"."users_id_seq"`. */
  sequence: string;
  value: string;
  isCalled: boolean;
}

/** One setval statement; the quoted name may hold any character, newlines included, inside its quotes. */
const SETVAL = /SELECT pg_catalog\.setval\('((?:[^']|'')*)', (-?\d+), (true|false)\);\n/y;
/** A schema-qualified name as the dump quotes it: two double-quoted identifiers and nothing else. */
const QUALIFIED = /^"(?:[^"]|"")*"\."(?:[^"]|"")*"$/;
const SEQUENCES_HEADING = "\n-- Sequence values\n\n";

/** Pure: the sequence values of the archive's (proven) sequences section; anything else in it means it is not ours. */
export function parseSequenceValues(text: string): SequenceSetting[] {
  const settings: SequenceSetting[] = [];
  const notOurs = (at: number) =>
    new ArchiveIntegrityError(
      `The archive's sequence values hold text the backup never writes (${JSON.stringify(text.slice(at, at + 60))}).`,
    );
  if (!text.startsWith(SEQUENCES_HEADING)) throw notOurs(0);
  SETVAL.lastIndex = SEQUENCES_HEADING.length;
  while (SETVAL.lastIndex < text.length) {
    const at = SETVAL.lastIndex;
    const match = SETVAL.exec(text);
    const sequence = match?.[1]?.replaceAll("''", "'");
    if (!match || sequence === undefined || !QUALIFIED.test(sequence)) throw notOurs(at);
    settings.push({ sequence, value: match[2]!, isCalled: match[3] === "true" });
  }
  return settings;
}

/**
 * Set sequences so that a rollback takes the change back: setval alone is not transactional, but
 * on a sequence rewritten by ALTER SEQUENCE … RESTART in the same transaction it writes the new
 * file, which a rollback discards.
 */
export async function setSequences(client: pg.ClientBase, settings: SequenceSetting[]): Promise<void> {
  if (settings.length === 0) return;
  const statements = settings.map((s) =>
    `ALTER SEQUENCE ${s.sequence} RESTART; SELECT pg_catalog.setval(${quoteLiteral(s.sequence)}, ${s.value}, ${s.isCalled});`
  );
  try {
    await client.query(statements.join("\n"));
  } catch (error) {
    throw new BackupError(`Setting the sequences failed: ${(error as Error).message}`, { cause: error });
  }
}

/** The archive's sequence values, proven, as values. */
export async function archivedSequenceValues(archive: ProvenArchive): Promise<SequenceSetting[]> {
  return parseSequenceValues(await archive.text(archive.manifest.sections.sequences, "the sequence values"));
}

export interface TableCheck {
  table: string;
  expected_rows: number;
  found_rows: number;
  expected_digest: string;
  found_digest: string;
  match: boolean;
}

/**
 * Per table of the manifest: rows and digest found in the database against those recorded. An
 * extension's configuration table is compared by the condition its extension declares here, which
 * must be the one the manifest recorded (the manifest's text is never run as SQL).
 */
export async function verifyTables(client: pg.ClientBase, tables: TableEntry[]): Promise<TableCheck[]> {
  const checks: TableCheck[] = [];
  for (const table of tables) {
    if (table.condition !== undefined) await requireExtensionCondition(client, table);
    checks.push(check(table, await tableDigest(client, table)));
  }
  return checks;
}

async function requireExtensionCondition(client: pg.ClientBase, table: TableEntry): Promise<void> {
  const { rows } = await client.query<{ condition: string }>(
    `SELECT COALESCE(e.extcondition[k.i], '') AS condition
       FROM pg_catalog.pg_extension e, pg_catalog.unnest(e.extconfig) WITH ORDINALITY k(relid, i)
      WHERE k.relid = $1::pg_catalog.regclass`,
    [qualify(table.schema, table.name)],
  );
  if (rows[0]?.condition !== table.condition) {
    throw new ArchiveIntegrityError(
      `The manifest's condition for ${table.schema}.${table.name} (${
        JSON.stringify(table.condition)
      }) is not the one its extension declares here ` +
        `(${
          rows[0] === undefined ? "it is not an extension's configuration table" : JSON.stringify(rows[0].condition)
        }): the rows cannot be compared. ` +
        "The restore was rolled back; install the extension version the backup was taken with, or use another backup.",
    );
  }
}

export interface ApplyOptions {
  onTable?: (table: TableEntry, index: number, total: number) => void;
}

/**
 * Apply the whole archive into the transaction `client` has open, and return each table's check.
 * Every table is created by the pre-data section in this transaction (the target's own were dropped
 * first), so rows load frozen (no later pass of the server rewrites them to set hint bits), and the
 * indexes are built with more memory than PostgreSQL's default.
 */
export async function applyArchive(client: pg.ClientBase, archive: ProvenArchive, options: ApplyOptions = {}): Promise<TableCheck[]> {
  const { manifest } = archive;
  await client.query(`SET LOCAL maintenance_work_mem = '${MAINTENANCE_WORK_MEM}'`);
  await runSection(client, archive, "pre_data");
  const checks: TableCheck[] = [];
  for (const [index, table] of manifest.tables.entries()) {
    checks.push(await loadTable(client, archive, table, { freeze: table.condition === undefined }));
    options.onTable?.(table, index, manifest.tables.length);
  }
  if (manifest.sections.large_objects) await loadLargeObjects(client, archive, manifest.sections.large_objects);
  await setSequences(client, await archivedSequenceValues(archive));
  await runSection(client, archive, "post_data");
  return checks;
}

/** Memory for each index build of a restore (the server's, per session): sorts stay in memory far longer than with the default 64MB. */
export const MAINTENANCE_WORK_MEM = "256MB";
