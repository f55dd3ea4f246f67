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

/**
 * Text for a `--` comment: the comment ends at the first newline or carriage return (for psql and
 * for the server's own lexer), so a name holding one could start a statement of its own. Those and
 * backslashes are written as escapes; everything else stays readable.
 */
export function commentText(text: string): string {
  return text.replace(/[\\\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : "\\r"));
}

/**
 * `$tag$body$tag$` with a tag the body does not contain, so that nothing inside (a role name, a
 * setting's value) can end the quoted text early.
 */
export function dollarQuote(body: string, tag = "body"): string {
  // The closing delimiter must be the first one after the opening, even where the body's own end
  // and the delimiter's start overlap (a body ending in `$body`).
  let delimiter = `$${tag}$`;
  for (let n = 1; (body + delimiter).indexOf(delimiter) !== body.length; n += 1) delimiter = `$${tag}${n}$`;
  return `${delimiter}${body}${delimiter}`;
}
