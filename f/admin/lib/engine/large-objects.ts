// Large objects: streamed out of the snapshot in chunks as one-line `lo_create` / `lo_put`
// statements (psql runs them as they are), and summarised as a count and an order-independent digest
// of each object's OID and content, computed the same way when a restore checks what it loaded.
import { createHash } from "node:crypto";
import type pg from "pg";
import { RowDigest } from "./digest.ts";

/** Bytes per lo_put: 256 KiB of hex per archive line. */
const CHUNK = 128 * 1024;

export interface LargeObjectSummary {
  count: number;
  bytes: number;
  digest: string;
}

/**
 * Every large object's content, chunk by chunk, in OID order. The caller's transaction snapshot
 * decides what is seen (read-only lo_get reads as of the snapshot).
 */
async function* largeObjectChunks(client: pg.ClientBase): AsyncGenerator<{ oid: string; offset: number; data: Buffer; last: boolean }> {
  const { rows } = await client.query<{ oid: string }>("SELECT oid::text AS oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid");
  for (const { oid } of rows) {
    for (let offset = 0;; offset += CHUNK) {
      const chunk = await client.query<{ data: Buffer }>("SELECT pg_catalog.lo_get($1::pg_catalog.oid, $2, $3) AS data", [oid, offset,
        CHUNK]);
      const data = chunk.rows[0]!.data;
      const last = data.length < CHUNK;
      yield { oid, offset, data, last };
      if (last) break;
    }
  }
}

/** Feed one object's line (`oid<TAB>sha256 of its content`) into the summary's digest. */
class SummaryBuilder {
  private readonly rows = new RowDigest();
  private hash = createHash("sha256");
  count = 0;
  bytes = 0;

  add(part: { oid: string; data: Buffer; last: boolean }): void {
    this.hash.update(part.data);
    this.bytes += part.data.length;
    if (!part.last) return;
    this.rows.update(Buffer.from(`${part.oid}\t${this.hash.digest("hex")}\n`));
    this.hash = createHash("sha256");
    this.count += 1;
  }

  summary(): LargeObjectSummary {
    return { count: this.count, bytes: this.bytes, digest: this.rows.hex() };
  }
}

/** The archive lines for every large object; `done` receives the summary once all were read. */
export async function* largeObjectStatements(client: pg.ClientBase, done: (summary: LargeObjectSummary) => void): AsyncGenerator<Buffer> {
  const summary = new SummaryBuilder();
  for await (const part of largeObjectChunks(client)) {
    summary.add(part);
    const create = part.offset === 0 ? `SELECT pg_catalog.lo_create('${part.oid}');\n` : "";
    const put = part.data.length > 0 ? `SELECT pg_catalog.lo_put('${part.oid}', ${part.offset}, '\\x${part.data.toString("hex")}');\n` : "";
    yield Buffer.from(create + put);
  }
  done(summary.summary());
}

/** The same summary over what a database holds now, to check a restore against the manifest. */
export async function largeObjectSummary(client: pg.ClientBase): Promise<LargeObjectSummary> {
  const summary = new SummaryBuilder();
  for await (const part of largeObjectChunks(client)) summary.add(part);
  return summary.summary();
}
