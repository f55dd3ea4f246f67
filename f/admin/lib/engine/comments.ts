// Comments (pg_description) read once for the whole schema and claimed by the reader of each object
// kind; what no reader claims is an object the archive would lose silently, so the backup refuses it.
import type pg from "pg";
import { rows } from "./sql.ts";

/** Every comment on an object users made (and on the public schema and large objects). */
export async function readComments(client: pg.ClientBase): Promise<Comments> {
  return new Comments(
    await rows(
      client,
      `SELECT d.classoid, d.objoid, d.objsubid, d.description,
              pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) AS what
         FROM pg_catalog.pg_description d
        WHERE (d.objoid >= 16384 OR (d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objoid = 2200)
               OR d.classoid = 'pg_catalog.pg_largeobject'::pg_catalog.regclass)
          -- A comment can outlive its object (COMMENT ON SUBSCRIPTION wrote pg_description, DROP cleared pg_shdescription).
          AND pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) IS NOT NULL`,
    ),
  );
}

/** Comments keyed by the object they describe; each reader claims its own. */
export class Comments {
  private readonly byObject = new Map<string, { text: string; what: string; classId: number; oid: number }>();
  private readonly claimed = new Set<string>();

  constructor(rowsRead: Array<{ classoid: number; objoid: number; objsubid: number; description: string; what: string }>) {
    for (const row of rowsRead) {
      this.byObject.set(`${row.classoid}:${row.objoid}:${row.objsubid}`, {
        text: row.description,
        what: row.what,
        classId: row.classoid,
        oid: row.objoid,
      });
    }
  }

  take(classId: number, oid: number, subId = 0): string | undefined {
    const key = `${classId}:${oid}:${subId}`;
    this.claimed.add(key);
    return this.byObject.get(key)?.text;
  }

  /** Comments on objects no reader wrote: the archive would lose them silently. */
  unclaimed(members: ReadonlyMap<string, number>): string[] {
    return [...this.byObject.entries()]
      .filter(([key, c]) => !this.claimed.has(key) && !members.has(`${c.classId}:${c.oid}`))
      .map(([, c]) => c.what)
      .sort();
  }
}
