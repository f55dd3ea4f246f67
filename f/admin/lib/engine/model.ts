// What the catalog reader hands to the dump writer: the database's objects already ordered and
// rendered as SQL, split into pg_dump's sections, plus what is needed to stream each table's rows.
import type { DatabaseAccess } from "./grants.ts";
import type { ObjectRef } from "./kinds.ts";

/** A table whose rows are dumped with COPY. */
export interface TableData {
  schema: string;
  name: string;
  /** Quoted, schema-qualified name: `"public"."users"`. */
  qualifiedName: string;
  /** Quoted column names in attnum order, generated columns excluded. */
  columns: string[];
  /** `COPY "public"."users" ("id", "name") FROM stdin;` as written in the archive. */
  copyIn: string;
  /** The statement that streams the rows out in text format, e.g. `COPY "public"."users" ("id", "name") TO STDOUT`. */
  copyOut: string;
  /** An extension's configuration table: only rows matching this `WHERE …` ("" all) are the backup's. */
  condition?: string;
}

export interface SequenceValue {
  /** Quoted, schema-qualified name. */
  qualifiedName: string;
  /** `SELECT pg_catalog.setval('"public"."users_id_seq"', 42, true);` */
  setval: string;
}

export interface ExtensionRef {
  name: string;
  version: string;
  schema: string;
}

export interface SchemaDump {
  /** Complete statements, each ending in `;`, in dependency order: schemas, extensions, types, functions, tables, views, … */
  preData: string[];
  /** Tables in a dependency-respecting order (referenced tables first where possible). */
  tables: TableData[];
  /** Sequence positions, applied after the data. */
  sequences: SequenceValue[];
  /** Indexes, primary/unique keys, foreign keys, triggers, … in pg_dump's post-data order. */
  postData: string[];
  /** Everything the archive creates, for manifests, previews and in-place restores. */
  objects: ObjectRef[];
  extensions: ExtensionRef[];
  /**
   * Objects left out because this version cannot reproduce them (only with `skipUnsupported`), and
   * always the credential options of foreign-data wrappers, servers and user mappings (never archived).
   */
  skipped: string[];
  /** Every role the archive names: owners and grantees (with privileges), policies' and user mappings' roles (always). */
  roles: string[];
  /** What the backup knows would fail to restore (an event trigger whose owner is no longer a superuser…): said at backup time. */
  warnings: string[];
  /** The database's owner and GRANT … ON DATABASE, with the privileges option: for a database the restore creates. */
  database?: DatabaseAccess;
}
