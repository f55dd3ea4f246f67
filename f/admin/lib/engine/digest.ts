// Row counting and a content digest of a table's COPY text that does not depend on the physical
// order of rows: each row is hashed on its own and the hashes are added lane by lane, so a restore
// that loads the same rows in another order proves equal. Works on Buffers: rows are never strings.
import { createHash, hash as oneShotHash, type Hash } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";

/** Name of the digest algorithm, stored in the manifest so that a future one can sit beside it. */
export const DIGEST_ALGORITHM = "sha256-rowsum-v1";

const NEWLINE = 0x0a;
const LANES = 8;

/**
 * Accumulates rows of COPY text format. In that format a data newline is escaped as `\n`, so a raw
 * newline byte always ends a row, wherever the chunks happen to be cut.
 */
export class RowDigest {
  rows = 0;
  bytes = 0;
  private readonly sum = new Uint32Array(LANES);
  private partial: Hash | undefined;

  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end === -1) break;
      if (this.partial) {
        this.partial.update(chunk.subarray(start, end));
        this.add(this.partial.digest());
        this.partial = undefined;
      } else {
        // One call per row, no Hash object: a hash object per row made most of a restore's garbage.
        this.add(oneShotHash("sha256", chunk.subarray(start, end), "buffer"));
      }
      this.rows += 1;
      start = end + 1;
    }
    if (start < chunk.length) {
      this.partial ??= createHash("sha256");
      this.partial.update(chunk.subarray(start));
    }
  }

  /** The digest as hex; throws if the data ended in the middle of a row (a truncated stream). */
  hex(): string {
    if (this.partial) throw new Error("COPY data ended in the middle of a row");
    return Buffer.from(this.sum.buffer).toString("hex");
  }

  private add(hash: Buffer): void {
    for (let lane = 0; lane < LANES; lane++) {
      this.sum[lane] = (this.sum[lane]! + hash.readUInt32LE(lane * 4)) >>> 0;
    }
  }
}

/** A pass-through stage that feeds a RowDigest with every chunk it forwards. */
export function digestStage(digest: RowDigest): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      digest.update(chunk);
      callback(null, chunk);
    },
  });
}
