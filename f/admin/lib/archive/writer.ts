// Writes an archive as a sequence of gzip members (one file `gunzip -c` reads as one SQL script)
// and records where each member starts and ends, so a reader can fetch one table's bytes alone.
// Hashes and counts the compressed bytes on the way to the sink, with backpressure.
import { createHash } from "node:crypto";
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";

/** A piece of a member: SQL text, or bytes streamed from elsewhere (a COPY). */
export type MemberPart = string | AsyncIterable<Buffer>;
import { createGzip } from "node:zlib";
import type { ByteRange } from "./manifest.ts";

export class ArchiveWriter {
  private offset = 0;
  private readonly hash = createHash("sha256");

  constructor(
    private readonly sink: Writable,
    private readonly level = 6,
  ) {}

  /**
   * Compress `parts` into one gzip member and return its byte range. Parts are consumed in order,
   * so a generator can start each stream only when its turn comes.
   */
  async member(parts: Iterable<MemberPart>): Promise<ByteRange> {
    const start = this.offset;
    const gzip = createGzip({ level: this.level });
    const forwarding = this.forward(gzip);
    try {
      for (const part of parts) {
        if (typeof part === "string") {
          if (!gzip.write(part)) await once(gzip, "drain");
        } else {
          for await (const chunk of part) {
            if (!gzip.write(chunk)) await once(gzip, "drain");
          }
        }
      }
      gzip.end();
      await forwarding;
    } catch (error) {
      gzip.destroy();
      await forwarding.catch(() => undefined);
      throw error;
    }
    return { start, end: this.offset };
  }

  /** Size and sha256 of everything written; call once, after the last member. */
  finish(): { size: number; sha256: string } {
    this.sink.end();
    return { size: this.offset, sha256: this.hash.digest("hex") };
  }

  private async forward(gzip: Readable): Promise<void> {
    for await (const chunk of gzip) {
      const bytes = chunk as Buffer;
      this.hash.update(bytes);
      this.offset += bytes.length;
      // `once` rejects when the sink errors (the storage failed), which ends the dump.
      if (!this.sink.write(bytes)) await once(this.sink, "drain");
    }
  }
}
