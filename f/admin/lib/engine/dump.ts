// The dump: one snapshot, the catalog rendered as SQL, and every table's rows streamed by COPY into
// its own gzip member, counted and digested on the way. Returns what the manifest needs to say.
import type pg from "pg";
import { MANIFEST_VERSION, type MemberRange } from "../archive/manifest.ts";
import { type Compression, compressionNamed } from "../archive/compression.ts";
import type { ArchiveWriter, MemberPart } from "../archive/writer.ts";
import { BackupError } from "../errors.ts";
import { TOOL } from "../version.ts";
import { readSchema, type SchemaOptions } from "./catalog.ts";
import { CopyOut } from "./copy-out.ts";
import { RowDigest } from "./digest.ts";
import { largeObjectStatements, type LargeObjectSummary } from "./large-objects.ts";
import type { DatabaseAccess } from "./grants.ts";
import type { ObjectRef } from "./kinds.ts";
import type { ExtensionRef, TableData } from "./model.ts";
import { beginSnapshot, inSnapshot, settingsPreamble } from "./session.ts";
import { commentText } from "./quote.ts";
import { rows, sqlState, userSchema } from "./sql.ts";
import { END_OF_DATA, tableMemberHeader } from "./table-member.ts";

export interface ServerInfo {
  version: string;
  version_num: number;
  encoding: string;
  lc_collate: string;
  lc_ctype: string;
  locale_provider: string;
  icu_locale: string | null;
}

export interface DumpedTable {
  schema: string;
  name: string;
  columns: string[];
  rows: number;
  bytes: number;
  range: MemberRange;
  digest: string;
  /** An extension's configuration table: the rows the backup holds are those matching it. */
  condition?: string;
}

export interface DumpResult {
  database: string;
  server: ServerInfo;
  sections: { pre_data: MemberRange; sequences: MemberRange; post_data: MemberRange; large_objects?: MemberRange & LargeObjectSummary };
  tables: DumpedTable[];
  objects: ObjectRef[];
  extensions: ExtensionRef[];
  /** Objects left out with `skipUnsupported`: the result and the manifest must say so. */
  skipped: string[];
  /** Roles the archive names; a restore needs them to exist. */
  roles: string[];
  /** What is known to fail at restore time (SchemaDump.warnings). */
  warnings: string[];
  /** The database's owner and grants, with the privileges option. */
  database_access?: DatabaseAccess;
}

/** Everything is dumped unless an option says otherwise; see SchemaOptions for the filters. */
export interface DumpOptions extends SchemaOptions {
  /** Called after each table's rows are written (for progress). */
  onTable?: (table: DumpedTable, index: number, total: number) => void;
  /** Called once the schema is read, before any row: a caller may refuse it (e.g. the schema changed meanwhile). */
  schemaRead?: () => Promise<void>;
}

export async function readServerInfo(client: pg.ClientBase): Promise<{ database: string; server: ServerInfo }> {
  const { rows } = await client.query<{
    database: string;
    version: string;
    version_num: string;
    encoding: string;
    lc_collate: string;
    lc_ctype: string;
    locale_provider: string;
    icu_locale: string | null;
  }>(
    `SELECT d.datname AS database, pg_catalog.current_setting('server_version') AS version,
            pg_catalog.current_setting('server_version_num') AS version_num,
            pg_catalog.pg_encoding_to_char(d.encoding) AS encoding, d.datcollate AS lc_collate, d.datctype AS lc_ctype,
            ${await hasColumn(client, "pg_database", "datlocprovider") ? "d.datlocprovider::text" : "'c'"} AS locale_provider,
            ${
      await hasColumn(client, "pg_database", "daticulocale")
        ? "d.daticulocale"
        : await hasColumn(client, "pg_database", "datlocale")
        ? "d.datlocale"
        : "NULL"
    } AS icu_locale
       FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database()`,
  );
  const row = rows[0]!;
  const { database, version_num, ...rest } = row;
  return { database, server: { ...rest, version_num: Number(version_num) } };
}

async function hasColumn(client: pg.ClientBase, table: string, column: string): Promise<boolean> {
  const { rows } = await client.query(
    `SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped`,
    [`pg_catalog.${table}`, column],
  );
  return rows.length > 0;
}

/** Dump the database `client` is connected to into `writer`. The client is left outside any transaction. */
export async function dumpDatabase(client: pg.ClientBase, writer: ArchiveWriter, options: DumpOptions = {}): Promise<DumpResult> {
  await beginSnapshot(client);
  try {
    const { database, server } = await readServerInfo(client);
    const schema = await readSchema(client, options);
    await options.schemaRead?.();

    const pre_data = await writer.member([
      header(database, server, compressionNamed(writer.compression)),
      settingsPreamble().join("\n") + "\n\n",
      ...schema.preData.map((statement) => statement + "\n\n"),
    ]);

    const tables: DumpedTable[] = [];
    for (const [index, table] of schema.tables.entries()) {
      const digest = new RowDigest();
      const range = await writer.member(tableMember(client, table, digest));
      const dumped: DumpedTable = {
        schema: table.schema,
        name: table.name,
        columns: table.columns,
        rows: digest.rows,
        bytes: digest.bytes,
        range,
        digest: digest.hex(),
        ...(table.condition === undefined ? {} : { condition: table.condition }),
      };
      tables.push(dumped);
      options.onTable?.(dumped, index, schema.tables.length);
    }

    let large_objects: (MemberRange & LargeObjectSummary) | undefined;
    if (schema.objects.some((o) => o.kind === "large object")) {
      let summary: LargeObjectSummary | undefined;
      const range = await writer.member(["\n-- Large objects\n\n", largeObjectStatements(client, (s) => (summary = s)), "\n"]);
      if (summary === undefined) throw new Error("the large objects member ended before all objects were read");
      large_objects = { ...range, ...summary };
    }

    const sequences = await writer.member([
      "\n-- Sequence values\n\n",
      ...schema.sequences.map((sequence) => sequence.setval + "\n"),
    ]);
    const post_data = await writer.member([
      "\n-- Indexes, constraints, triggers\n\n",
      ...schema.postData.map((statement) => statement + "\n\n"),
      "-- End of archive: every section above was written.\n",
    ]);
    await client.query("COMMIT");
    return {
      database,
      server,
      sections: { pre_data, sequences, post_data, ...(large_objects === undefined ? {} : { large_objects }) },
      tables,
      objects: schema.objects,
      extensions: schema.extensions,
      skipped: schema.skipped,
      roles: schema.roles,
      warnings: schema.warnings,
      ...(schema.database === undefined ? {} : { database_access: schema.database }),
    };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw sqlState(error) === "42501" ? await notAllowed(client, error as Error) : error;
  }
}

/** Heap and TOAST bytes of the tables a backup copies rows from: what the archive's data comes from. */
export async function tableDataBytes(client: pg.ClientBase): Promise<number> {
  const [found] = await rows<{ bytes: string }>(
    client,
    `SELECT COALESCE(sum(pg_catalog.pg_table_size(c.oid)), 0)::bigint::text AS bytes
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'm') AND ${userSchema("n")}`,
  );
  return Number(found!.bytes);
}

export interface DumpPreview {
  /** The tables whose rows would be copied, with the planner's estimate of their rows. */
  tables: Array<{ table: string; estimated_rows: number }>;
  objects: number;
  tableBytes: number;
}

/** What a dump with `options` would hold, read in the same kind of snapshot, without copying a row. */
export async function previewDump(client: pg.ClientBase, options: SchemaOptions): Promise<DumpPreview> {
  return await inSnapshot(client, async () => {
    const schema = await readSchema(client, options);
    const estimates = await rows<{ schema: string; name: string; rows: string }>(
      client,
      `SELECT n.nspname AS schema, c.relname AS name, GREATEST(c.reltuples, 0)::bigint::text AS rows
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p')`,
    );
    const estimate = new Map(estimates.map((r) => [`${r.schema}.${r.name}`, Number(r.rows)]));
    return {
      tables: schema.tables.map((t) => ({ table: `${t.schema}.${t.name}`, estimated_rows: estimate.get(`${t.schema}.${t.name}`) ?? 0 })),
      objects: schema.objects.length,
      tableBytes: await tableDataBytes(client),
    };
  });
}

/** A role that may not read everything cannot make a complete backup: say which role, and the two ways on. */
async function notAllowed(client: pg.ClientBase, error: Error): Promise<BackupError> {
  const role = await client.query<{ name: string }>("SELECT current_user AS name").then((r) => r.rows[0]?.name, () => undefined);
  return new BackupError(
    `The backup's role ${
      role === undefined ? "" : `${JSON.stringify(role)} `
    }may not read everything in the database (${error.message}), so no backup was written. ` +
      "Back up as a role that can read every table and sequence (the database's owner, or a superuser) in f/admin/database, " +
      `or GRANT SELECT on what the message names to ${role ?? "that role"}.`,
    { cause: error },
  );
}

function header(database: string, server: ServerInfo, compression: Compression): string {
  return [
    `-- ${TOOL.name} ${TOOL.version} archive of database ${commentText(JSON.stringify(database))} (PostgreSQL ${
      commentText(server.version)
    })`,
    "-- Restore with psql into an empty database:",
    `--   ${compression.reader} THIS_FILE${compression.extension} | psql -X -1 -v ON_ERROR_STOP=1 -d TARGET`,
    "",
    "",
  ].join("\n");
}

function* tableMember(client: pg.ClientBase, table: TableData, digest: RowDigest): Generator<MemberPart> {
  yield tableMemberHeader(table, MANIFEST_VERSION);
  yield digested(client.query(new CopyOut(table.copyOut, `${table.schema}.${table.name}`)), digest);
  yield END_OF_DATA;
}

async function* digested(rows: AsyncIterable<Buffer>, digest: RowDigest): AsyncGenerator<Buffer> {
  for await (const chunk of rows) {
    digest.update(chunk);
    yield chunk;
  }
}
