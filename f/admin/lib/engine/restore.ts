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
import type { NamedObject, ObjectKind, ObjectRef } from "./kinds.ts";
import { aclChanges, resetDefaultPrivileges, userMappingName } from "./emit.ts";
import { defaultPrivilegesRef, readChangedInitialPrivileges, readChangedSchemaPrivileges, readDefaultPrivileges } from "./privileges.ts";
import { transformName } from "./languages.ts";
import { methodScopedName, operatorName, operatorSignature } from "./operators.ts";
import { largeObjectSummary } from "./large-objects.ts";
import { qualify, quoteIdent, quoteLiteral } from "./quote.ts";
import { notExtensionMember, userSchema } from "./sql.ts";
import { copyFromStatement, END_OF_DATA, tableMemberHeader } from "./table-member.ts";
import { tableDigest } from "./verify.ts";


export interface OwnObject extends ObjectRef {
  drop: string;
}

/**
 * Everything in non-system schemas that does not belong to an extension, with the statement that
 * drops it. Schemas are dropped whole unless the archive has them or an extension lives in them.
 */
export async function ownObjects(client: pg.ClientBase, archiveSchemas: Set<string>): Promise<OwnObject[]> {
  const schemas = await client.query<{ name: string; pinned: boolean }>(
    `SELECT n.nspname AS name,
            (EXISTS (SELECT 1 FROM pg_catalog.pg_extension x WHERE x.extnamespace = n.oid)
             OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend e JOIN pg_catalog.pg_class c ON e.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND e.objid = c.oid WHERE e.deptype = 'e' AND c.relnamespace = n.oid)
             OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend e JOIN pg_catalog.pg_proc p ON e.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND e.objid = p.oid WHERE e.deptype = 'e' AND p.pronamespace = n.oid)
             OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend e JOIN pg_catalog.pg_type t ON e.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND e.objid = t.oid WHERE e.deptype = 'e' AND t.typnamespace = n.oid)
             OR NOT ${notExtensionMember("pg_namespace", "n.oid")}) AS pinned
       FROM pg_catalog.pg_namespace n WHERE ${userSchema("n")} ORDER BY 1`,
  );
  // Large objects, event triggers and publications belong to the database, not a schema, but they are the target's own objects too.
  const eventTriggers = await client.query<{ name: string }>(
    `SELECT t.evtname AS name FROM pg_catalog.pg_event_trigger t WHERE ${notExtensionMember("pg_event_trigger", "t.oid")} ORDER BY 1`,
  );
  const publications = await client.query<{ name: string }>(`SELECT p.pubname AS name FROM pg_catalog.pg_publication p ORDER BY 1`);
  // Casts and foreign data belong to the database too. Casts go first, while their types still exist;
  // a wrapper takes its servers, their user mappings and foreign tables along (CASCADE).
  const casts = await client.query<{ name: string }>(
    `SELECT pg_catalog.format('(%s AS %s)', pg_catalog.format_type(c.castsource, NULL), pg_catalog.format_type(c.casttarget, NULL)) AS name
       FROM pg_catalog.pg_cast c
      WHERE c.oid >= 16384 AND ${notExtensionMember("pg_cast", "c.oid")}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_cast'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'i')
      ORDER BY 1`,
  );
  const mappings = await client.query<{ role: string | null; server: string }>(
    `SELECT CASE WHEN u.umuser <> 0 THEN u.usename END AS role, u.srvname AS server FROM pg_catalog.pg_user_mappings u ORDER BY 2, 1`,
  );
  const servers = await client.query<{ name: string }>(
    `SELECT s.srvname AS name FROM pg_catalog.pg_foreign_server s WHERE ${notExtensionMember("pg_foreign_server", "s.oid")} ORDER BY 1`,
  );
  const wrappers = await client.query<{ name: string }>(
    `SELECT w.fdwname AS name FROM pg_catalog.pg_foreign_data_wrapper w WHERE ${notExtensionMember("pg_foreign_data_wrapper", "w.oid")} ORDER BY 1`,
  );
  const largeObjects = await client.query<{ oid: string }>("SELECT oid::text AS oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid");
  // Transforms, then the hand-made languages (a language takes its functions along) and access methods (their classes and tables).
  const transforms = await client.query<{ type: string; language: string }>(
    `SELECT pg_catalog.format_type(t.trftype, NULL) AS type, l.lanname AS language
       FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang
      WHERE t.oid >= 16384 AND ${notExtensionMember("pg_transform", "t.oid")} ORDER BY 1, 2`,
  );
  const languages = await client.query<{ name: string }>(
    `SELECT l.lanname AS name FROM pg_catalog.pg_language l
      WHERE l.oid >= 16384 AND l.lanispl AND ${notExtensionMember("pg_language", "l.oid")} ORDER BY 1`,
  );
  const accessMethods = await client.query<{ name: string }>(
    `SELECT a.amname AS name FROM pg_catalog.pg_am a WHERE a.oid >= 16384 AND ${notExtensionMember("pg_am", "a.oid")} ORDER BY 1`,
  );
  // Default privileges first: no object the restore creates may pick them up.
  const defaults = await readDefaultPrivileges(client);
  const objects: OwnObject[] = [
    ...defaults.map((d) => ({ ...defaultPrivilegesRef(d), drop: resetDefaultPrivileges(d).join(" ") })),
    ...largeObjects.rows.map(({ oid }) => ({ kind: "large object" as const, schema: "", name: oid, drop: `SELECT pg_catalog.lo_unlink('${oid}')` })),
    ...eventTriggers.rows.map(({ name }) => ({ kind: "event trigger" as const, schema: "", name, drop: `DROP EVENT TRIGGER IF EXISTS ${quoteIdent(name)}` })),
    ...publications.rows.map(({ name }) => ({ kind: "publication" as const, schema: "", name, drop: `DROP PUBLICATION IF EXISTS ${quoteIdent(name)}` })),
    ...casts.rows.map(({ name }) => ({ kind: "cast" as const, schema: "", name, drop: `DROP CAST IF EXISTS ${name} CASCADE` })),
    ...mappings.rows.map((m) => ({
      kind: "user mapping" as const, schema: "", name: userMappingName(m),
      drop: `DROP USER MAPPING IF EXISTS FOR ${m.role === null ? "PUBLIC" : quoteIdent(m.role)} SERVER ${quoteIdent(m.server)}`,
    })),
    ...servers.rows.map(({ name }) => ({ kind: "foreign server" as const, schema: "", name, drop: `DROP SERVER IF EXISTS ${quoteIdent(name)} CASCADE` })),
    ...wrappers.rows.map(({ name }) => ({
      kind: "foreign-data wrapper" as const, schema: "", name, drop: `DROP FOREIGN DATA WRAPPER IF EXISTS ${quoteIdent(name)} CASCADE`,
    })),
    ...transforms.rows.map((t) => ({ kind: "transform" as const, schema: "", name: transformName(t), drop: `DROP TRANSFORM IF EXISTS ${transformName(t)} CASCADE` })),
    ...languages.rows.map(({ name }) => ({ kind: "language" as const, schema: "", name, drop: `DROP LANGUAGE IF EXISTS ${quoteIdent(name)} CASCADE` })),
    ...accessMethods.rows.map(({ name }) => ({ kind: "access method" as const, schema: "", name, drop: `DROP ACCESS METHOD IF EXISTS ${quoteIdent(name)} CASCADE` })),
  ];
  const dropWhole = schemas.rows.filter((s) => !s.pinned && !archiveSchemas.has(s.name)).map((s) => s.name);
  for (const name of dropWhole) {
    objects.push({ kind: "schema" as const, schema: "", name, drop: `DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE` });
  }
  const inside = schemas.rows.map((s) => s.name).filter((name) => !dropWhole.includes(name));
  if (inside.length === 0) return objects;

  // Before the tables, which would take them along unreported.
  for (const s of await namedInSchemas(client, inside, "pg_statistic_ext", "stxname", "stxnamespace")) {
    objects.push({ kind: "statistics object" as const, schema: s.schema, name: s.name, drop: `DROP STATISTICS IF EXISTS ${qualify(s.schema, s.name)}` });
  }
  // Classes before their families, both before the operators they hold (which would take them along unreported).
  const operatorClasses = await client.query<{ kind: "operator class" | "operator family"; keyword: string; schema: string; name: string; method: string }>(
    `SELECT 'operator class' AS kind, 'OPERATOR CLASS' AS keyword, n.nspname AS schema, c.opcname AS name, a.amname AS method
       FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_namespace n ON n.oid = c.opcnamespace JOIN pg_catalog.pg_am a ON a.oid = c.opcmethod
      WHERE n.nspname = ANY($1) AND ${notExtensionMember("pg_opclass", "c.oid")}
     UNION ALL
     SELECT 'operator family', 'OPERATOR FAMILY', n.nspname, f.opfname, a.amname
       FROM pg_catalog.pg_opfamily f JOIN pg_catalog.pg_namespace n ON n.oid = f.opfnamespace JOIN pg_catalog.pg_am a ON a.oid = f.opfmethod
      WHERE n.nspname = ANY($1) AND ${notExtensionMember("pg_opfamily", "f.oid")}
      ORDER BY 1, 3, 4, 5`,
    [inside],
  );
  for (const c of operatorClasses.rows) {
    objects.push({
      kind: c.kind, schema: c.schema, name: methodScopedName(c.name, c.method),
      drop: `DROP ${c.keyword} IF EXISTS ${qualify(c.schema, c.name)} USING ${quoteIdent(c.method)} CASCADE`,
    });
  }
  // Shell operators (only named as another's commutator or negator) are made again by that one's CREATE.
  const operators = await client.query<{ schema: string; name: string; left: string | null; right: string }>(
    `SELECT n.nspname AS schema, o.oprname AS name, CASE WHEN o.oprleft <> 0 THEN pg_catalog.format_type(o.oprleft, NULL) END AS left,
            pg_catalog.format_type(o.oprright, NULL) AS right
       FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
      WHERE n.nspname = ANY($1) AND o.oprcode <> 0 AND ${notExtensionMember("pg_operator", "o.oid")} ORDER BY 1, 2, 3, 4`,
    [inside],
  );
  for (const o of operators.rows) {
    objects.push({
      kind: "operator", schema: o.schema, name: operatorSignature(o.name, o.left, o.right),
      drop: `DROP OPERATOR IF EXISTS ${operatorName(o.schema, o.name)} (${o.left ?? "NONE"}, ${o.right}) CASCADE`,
    });
  }

  const relations = await client.query<{ schema: string; name: string; relkind: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
        AND ${notExtensionMember("pg_class", "c.oid")}
      ORDER BY CASE c.relkind WHEN 'v' THEN 0 WHEN 'm' THEN 1 WHEN 'S' THEN 3 ELSE 2 END, 1, 2`,
    [inside],
  );
  const relationKinds: Record<string, [kind: ObjectKind, keyword: string]> = {
    r: ["table", "TABLE"], p: ["table", "TABLE"], v: ["view", "VIEW"], m: ["materialized view", "MATERIALIZED VIEW"],
    f: ["foreign table", "FOREIGN TABLE"], S: ["sequence", "SEQUENCE"],
  };
  for (const r of relations.rows) {
    const [kind, keyword] = relationKinds[r.relkind]!;
    objects.push({ kind, schema: r.schema, name: r.name, drop: `DROP ${keyword} IF EXISTS ${qualify(r.schema, r.name)} CASCADE` });
  }

  // Named like the archive's objects (argument types only); dropped by the full identity (aggregates
  // take theirs as DROP AGGREGATE does, `*` when they have no arguments).
  const routines = await client.query<{ schema: string; name: string; args: string; types: string; kind: string }>(
    `SELECT n.nspname AS schema, p.proname AS name, pg_catalog.pg_get_function_identity_arguments(p.oid) AS args,
            pg_catalog.oidvectortypes(p.proargtypes) AS types, p.prokind::text AS kind
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = ANY($1) AND ${notExtensionMember("pg_proc", "p.oid")}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'i')
      ORDER BY 1, 2, 3`,
    [inside],
  );
  for (const r of routines.rows) {
    const aggregate = r.kind === "a";
    objects.push({
      kind: aggregate ? "aggregate" : r.kind === "p" ? "procedure" : "function", schema: r.schema, name: `${r.name}(${r.types})`,
      drop: aggregate
        ? `DROP AGGREGATE IF EXISTS ${qualify(r.schema, r.name)}(${r.args === "" ? "*" : r.args}) CASCADE`
        : `DROP ROUTINE IF EXISTS ${qualify(r.schema, r.name)}(${r.args}) CASCADE`,
    });
  }

  // Domains by their own keyword; ranges and multiranges as types. A multirange goes with its range,
  // so it comes after all ranges and is then already gone.
  const types = await client.query<{ schema: string; name: string; domain: boolean }>(
    `SELECT n.nspname AS schema, t.typname AS name, t.typtype = 'd' AS domain
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = ANY($1)
        AND (t.typtype IN ('e', 'd', 'r', 'm', 'c') OR (t.typtype = 'p' AND NOT t.typisdefined)
             OR (t.typtype = 'b' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)))
        AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')
        AND ${notExtensionMember("pg_type", "t.oid")} ORDER BY t.typtype = 'm', 1, 2`,
    [inside],
  );
  for (const t of types.rows) {
    const keyword = t.domain ? "DOMAIN" : "TYPE";
    objects.push({ kind: t.domain ? "domain" : "type", schema: t.schema, name: t.name, drop: `DROP ${keyword} IF EXISTS ${qualify(t.schema, t.name)} CASCADE` });
  }

  // Text search configurations before the dictionaries they map to.
  const namedKinds: Array<[kind: ObjectKind, catalog: string, name: string, namespace: string]> = [
    ["text search configuration", "pg_ts_config", "cfgname", "cfgnamespace"],
    ["text search dictionary", "pg_ts_dict", "dictname", "dictnamespace"],
    ["text search parser", "pg_ts_parser", "prsname", "prsnamespace"],
    ["text search template", "pg_ts_template", "tmplname", "tmplnamespace"],
    ["collation", "pg_collation", "collname", "collnamespace"],
    ["conversion", "pg_conversion", "conname", "connamespace"],
  ];
  for (const [kind, catalog, name, namespace] of namedKinds) {
    for (const t of await namedInSchemas(client, inside, catalog, name, namespace)) {
      objects.push({ kind, schema: t.schema, name: t.name, drop: `DROP ${kind.toUpperCase()} IF EXISTS ${qualify(t.schema, t.name)} CASCADE` });
    }
  }
  return objects;
}

/** The objects of a catalog named per schema (statistics, text search, collations), our own only. */
async function namedInSchemas(
  client: pg.ClientBase, schemas: string[], catalog: string, nameColumn: string, namespaceColumn: string,
): Promise<Array<{ schema: string; name: string }>> {
  const { rows } = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, o.${nameColumn} AS name
       FROM pg_catalog.${catalog} o JOIN pg_catalog.pg_namespace n ON n.oid = o.${namespaceColumn}
      WHERE n.nspname = ANY($1) AND ${notExtensionMember(catalog, "o.oid")} ORDER BY 1, 2`,
    [schemas],
  );
  return rows;
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

/** Run one schema section, proven first, as a single multi-statement query: the server's parser splits it. */
async function runSection(client: pg.ClientBase, archive: ProvenArchive, section: "pre_data" | "post_data"): Promise<void> {
  const label = section === "pre_data" ? "the schema (pre-data)" : "the indexes, constraints and triggers (post-data)";
  const sql = await archive.text(archive.manifest.sections[section], label);
  try {
    await client.query(sql);
  } catch (error) {
    throw new BackupError(`Restoring the ${section.replace("_", "-")} section failed${near(sql, error)}: ${(error as Error).message}`, { cause: error });
  }
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
 * A COPY FROM that never throws out of band: a row the server rejects ends every wait on the
 * stream with that error instead of an unhandled 'error' event.
 */
function copyInto(client: pg.ClientBase, statement: string): { write: (bytes: Buffer) => Promise<void>; end: () => Promise<void>; abort: () => void } {
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
    },
    abort: () => {
      sink.destroy();
    },
  };
}

/**
 * Stream one table's member into a COPY FROM this restore builds from the manifest. The member must
 * begin with exactly the header the dump writes for that table and end with the end-of-data line;
 * everything between goes to the server only as COPY data, and the member's bytes must be the
 * backup's (sha256) before the COPY is allowed to finish.
 */
export async function loadTable(client: pg.ClientBase, archive: ProvenArchive, table: TableEntry): Promise<void> {
  const where = qualify(table.schema, table.name);
  const label = `the rows of ${table.schema}.${table.name}`;
  const header = Buffer.from(tableMemberHeader(table, archive.manifest.format_version));
  const { chunks, proven } = archive.stream(table.range, label);
  let head = Buffer.alloc(0);
  let copy: ReturnType<typeof copyInto> | undefined;
  let tail = Buffer.alloc(0);
  try {
    for await (const chunk of chunks) {
      if (!copy) {
        head = Buffer.concat([head, chunk]);
        if (head.length < header.length) continue;
        if (!head.subarray(0, header.length).equals(header)) {
          throw new ArchiveIntegrityError(`The archive's data for ${where} does not begin as the backup wrote it: the archive was changed or is damaged. Nothing of it was run.`);
        }
        copy = copyInto(client, copyFromStatement(table.schema, table.name, table.columns));
        tail = head.subarray(header.length);
      } else {
        tail = Buffer.concat([tail, chunk]);
      }
      if (tail.length > END_MARK.length) {
        const ready = tail.subarray(0, tail.length - END_MARK.length);
        tail = Buffer.from(tail.subarray(tail.length - END_MARK.length));
        await copy.write(ready);
      }
    }
    proven();
    if (!copy) throw new ArchiveIntegrityError(`The archive's data for ${where} has no COPY header: the archive is damaged.`);
    if (!tail.equals(END_MARK)) throw new ArchiveIntegrityError(`The archive's data for ${where} is cut short: the archive is damaged.`);
    await copy.end();
  } catch (error) {
    copy?.abort();
    if (error instanceof ArchiveIntegrityError) throw error;
    throw new BackupError(`Loading the rows of ${where} failed: ${(error as Error).message}`, { cause: error });
  }
}

const LO_CREATE = /^SELECT pg_catalog\.lo_create\('(\d+)'\);$/;
const LO_PUT = /^SELECT pg_catalog\.lo_put\('(\d+)', (\d+), '\\x((?:[0-9a-f]{2})*)'\);$/;

/**
 * The large objects' member holds one statement per line (hex data has no newline). Each line must
 * be one of the two shapes the dump writes; the restore runs its own parameterised statement with
 * the values, as they arrive, so memory does not grow with the objects. Then the member's digest
 * and the objects themselves are checked against the manifest.
 */
async function loadLargeObjects(client: pg.ClientBase, archive: ProvenArchive, section: NonNullable<Manifest["sections"]["large_objects"]>): Promise<void> {
  const { chunks, proven } = archive.stream(section, "the large objects");
  let pending = "";
  const run = async (line: string) => {
    if (line === "" || line === "-- Large objects") return;
    const create = LO_CREATE.exec(line);
    if (create) return void (await client.query("SELECT pg_catalog.lo_create($1::pg_catalog.oid)", [create[1]]));
    const put = LO_PUT.exec(line);
    if (put) return void (await client.query("SELECT pg_catalog.lo_put($1::pg_catalog.oid, $2::pg_catalog.int8, $3::pg_catalog.bytea)", [put[1], put[2], Buffer.from(put[3]!, "hex")]));
    throw new ArchiveIntegrityError(`The archive's large objects hold a line the backup never writes (${JSON.stringify(line.slice(0, 60))}): the archive was changed. Nothing of it was run.`);
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
        `where the backup has ${section.count} (${section.bytes} bytes)${found.digest === section.digest ? "" : ", and their content differs"}.`,
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
    new ArchiveIntegrityError(`The archive's sequence values hold text the backup never writes (${JSON.stringify(text.slice(at, at + 60))}).`);
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
    `ALTER SEQUENCE ${s.sequence} RESTART; SELECT pg_catalog.setval(${quoteLiteral(s.sequence)}, ${s.value}, ${s.isCalled});`);
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
    const found = await tableDigest(client, table);
    checks.push({
      table: `${table.schema}.${table.name}`,
      expected_rows: table.rows, found_rows: found.rows,
      expected_digest: table.digest, found_digest: found.digest,
      match: found.rows === table.rows && found.digest === table.digest,
    });
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
      `The manifest's condition for ${table.schema}.${table.name} (${JSON.stringify(table.condition)}) is not the one its extension declares here ` +
        `(${rows[0] === undefined ? "it is not an extension's configuration table" : JSON.stringify(rows[0].condition)}): the rows cannot be compared. ` +
        "The restore was rolled back; install the extension version the backup was taken with, or use another backup.",
    );
  }
}

export interface ApplyOptions {
  onTable?: (table: TableEntry, index: number, total: number) => void;
}

/** Apply the whole archive into the transaction `client` has open. */
export async function applyArchive(client: pg.ClientBase, archive: ProvenArchive, options: ApplyOptions = {}): Promise<void> {
  const { manifest } = archive;
  await runSection(client, archive, "pre_data");
  for (const [index, table] of manifest.tables.entries()) {
    await loadTable(client, archive, table);
    options.onTable?.(table, index, manifest.tables.length);
  }
  if (manifest.sections.large_objects) await loadLargeObjects(client, archive, manifest.sections.large_objects);
  await setSequences(client, await archivedSequenceValues(archive));
  await runSection(client, archive, "post_data");
}
