// Encoding conversions made by CREATE CONVERSION: read with their comments, written back as created.
import type pg from "pg";
import { type Comments } from "./comments.ts";
import { CATALOG, notExtensionMember, rows, userSchema } from "./sql.ts";
import { commentOn } from "./emit.ts";
import { qualify, quoteLiteral } from "./quote.ts";

export interface ConversionDef {
  oid: number; schema: string; name: string;
  /** Encoding names as pg_encoding_to_char gives them (`LATIN1`). */
  from: string; to: string;
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
    `CREATE ${conversion.isDefault ? "DEFAULT " : ""}CONVERSION ${name} FOR ${quoteLiteral(conversion.from)} TO ${quoteLiteral(conversion.to)} FROM ${conversion.function};`,
    ...commentOn(`CONVERSION ${name}`, conversion.comment),
  ];
}
