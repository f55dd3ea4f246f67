// The encodings family: conversions made by CREATE CONVERSION, read with their comments, written
// back as created, listed with the statement that drops them for an in-place restore.
import type pg from "pg";
import type { Comments } from "../comments.ts";
import type { InPlaceScope, OwnObject } from "../kinds.ts";
import { node, owned, ref, type DumpNode } from "../plan/nodes.ts";
import { qualify, quoteLiteral } from "../quote.ts";
import { CATALOG, commentOn, namedInSchemas, notExtensionMember, rows, userSchema } from "../sql.ts";

export interface ConversionDef {
  oid: number;
  schema: string;
  name: string;
  /** Encoding names as pg_encoding_to_char gives them (`LATIN1`). */
  from: string;
  to: string;
  /** regproc of the conversion function. */
  function: string;
  isDefault: boolean;
  comment?: string;
}

export async function readConversions(client: pg.ClientBase, comments: Comments): Promise<ConversionDef[]> {
  const found = await rows<ConversionDef>(
    client,
    `SELECT c.oid, n.nspname AS schema, c.conname AS name, pg_catalog.pg_encoding_to_char(c.conforencoding) AS from,
            pg_catalog.pg_encoding_to_char(c.contoencoding) AS to, c.conproc::pg_catalog.regproc::text AS function, c.condefault AS "isDefault"
       FROM pg_catalog.pg_conversion c JOIN pg_catalog.pg_namespace n ON n.oid = c.connamespace
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_conversion", "c.oid")}`,
  );
  return found.map((c) => ({ ...c, comment: comments.take(CATALOG.pg_conversion, c.oid) }));
}

export function createConversion(conversion: ConversionDef): string[] {
  const name = qualify(conversion.schema, conversion.name);
  return [
    `CREATE ${conversion.isDefault ? "DEFAULT " : ""}CONVERSION ${name} FOR ${quoteLiteral(conversion.from)} TO ${
      quoteLiteral(conversion.to)
    } FROM ${conversion.function};`,
    ...commentOn(`CONVERSION ${name}`, conversion.comment),
  ];
}

export function conversionNodes(c: { conversions: ConversionDef[] }): DumpNode[] {
  return c.conversions.map((x) =>
    owned(
      node("conversion", `${CATALOG.pg_conversion}:${x.oid}`, qualify(x.schema, x.name), createConversion(x), [[CATALOG.pg_conversion,
        x.oid]], [ref("conversion", x.schema, x.name)]),
      `CONVERSION ${qualify(x.schema, x.name)}`,
    )
  );
}

export async function listConversions(client: pg.ClientBase, scope: InPlaceScope): Promise<OwnObject[]> {
  return (await namedInSchemas(client, scope.inside, "pg_conversion", "conname", "connamespace")).map((c) => ({
    kind: "conversion",
    schema: c.schema,
    name: c.name,
    drop: `DROP CONVERSION IF EXISTS ${qualify(c.schema, c.name)} CASCADE`,
  }));
}
