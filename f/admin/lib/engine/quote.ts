// Quoting of identifiers and literals for the archive's SQL text. Identifiers are always quoted
// (a quoted name means the same thing on every server, whatever its keywords), and every object
// is schema-qualified because the archive runs with an empty search_path.

/** `"name"`, with embedded double quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."name"`. */
export function qualify(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * `'text'`, with embedded single quotes doubled. Backslashes stay as they are: the archive sets
 * standard_conforming_strings = on, under which a backslash in '…' is an ordinary character.
 */
export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
