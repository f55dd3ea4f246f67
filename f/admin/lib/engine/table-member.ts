// The text around a table's rows in the archive: written by the dump, and required byte for byte by
// the restore, which never runs a COPY statement read from the archive but builds its own from the
// manifest (schema, table, columns) and sends everything after it only as COPY data.
import { commentText, qualify } from "./quote.ts";

/**
 * `COPY "schema"."table" ("a", "b") FROM stdin;` (no column list for a table without columns: `()` is
 * a syntax error). `freeze` loads the rows already frozen, which PostgreSQL allows only into a table
 * created or truncated in the same transaction; the archive's own text never has it.
 */
export function copyFromStatement(schema: string, name: string, columns: readonly string[], options: { freeze?: boolean } = {}): string {
  const target = qualify(schema, name);
  return `COPY ${columns.length === 0 ? target : `${target} (${columns.join(", ")})`} FROM stdin${options.freeze ? " WITH (FREEZE)" : ""};`;
}

/**
 * What a table's member holds before its rows. Version 1 archives carried the name raw in the
 * comment (a newline in it ended the comment: CVE-2012-0868's mistake); version 2 escapes it.
 */
export function tableMemberHeader(table: { schema: string; name: string; columns: readonly string[] }, formatVersion: number): string {
  const name = qualify(table.schema, table.name);
  return `\n-- Data for ${formatVersion >= 2 ? commentText(name) : name}\n\n${
    copyFromStatement(table.schema, table.name, table.columns)
  }\n`;
}

/** What ends a table's rows: COPY's end-of-data line, then a blank line. */
export const END_OF_DATA = "\\.\n\n";
