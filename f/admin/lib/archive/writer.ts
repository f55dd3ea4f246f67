// Writes an archive as a sequence of gzip members (one file `gunzip -c` reads as one SQL script)
// and records where each member starts and ends and the sha256 of its bytes, so a reader can fetch
// one table's bytes alone and prove them before using them. Hashes and counts the compressed bytes
// on the way to the sink, with backpressure. An encrypted backup's archive goes on through age
// (sealArchive) and the encrypted bytes are hashed again on their way to storage.
import { createHash, type Hash } from "node:crypto";
import { pipeline, Transform, type Readable, type Writable } from "node:stream";
import { createGzip } from "node:zlib";
import { encryptStream, type Sealing } from "../crypto/age-file.ts";
import type { MemberRange } from "./manifest.ts";

/** A piece of a member: SQL text, or bytes streamed from elsewhere (a COPY). */
export type MemberPart = string | AsyncIterable<Buffer>;

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
  async member(parts: Iterable<MemberPart>): Promise<MemberRange> {
    const start = this.offset;
    const memberHash = createHash("sha256");
    const gzip = createGzip({ level: this.level });
    // If the sink fails, the gzip stream stops being read: a write waiting for it to drain must fail
    // too (drained() sees it closed) instead of waiting forever.
    const forwarding = this.forward(gzip, memberHash).catch((error: Error) => {
      gzip.destroy(error);
      throw error;
    });
    forwarding.catch(() => undefined);
    try {
      for (const part of parts) {
        if (typeof part === "string") {
          if (!gzip.write(part)) await drained(gzip);
        } else {
          for await (const chunk of part) {
            if (!gzip.write(chunk)) await drained(gzip);
          }
        }
      }
      gzip.end();
      await forwarding;
    } catch (error) {
      // With the error, so that the forwarding loop ends with it too and not with "Premature close".
      gzip.destroy(error as Error);
      // When the sink failed, its error is the one worth reporting, not the closed gzip stream's.
      throw (await forwarding.then(() => undefined, (sinkError: unknown) => sinkError)) ?? error;
    }
    return { start, end: this.offset, sha256: memberHash.digest("hex") };
  }

  /** Size and sha256 of everything written; call once, after the last member. */
  finish(): { size: number; sha256: string } {
    this.sink.end();
    return { size: this.offset, sha256: this.hash.digest("hex") };
  }

  private async forward(gzip: Readable, memberHash: Hash): Promise<void> {
    for await (const chunk of gzip) {
      const bytes = chunk as Buffer;
      this.hash.update(bytes);
      memberHash.update(bytes);
      this.offset += bytes.length;
      if (!this.sink.write(bytes)) await drained(this.sink);
    }
  }
}

/** Resolves when the stream wants more; rejects when it fails or closes first (e.g. the storage gave up). */
function drained(sink: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    // Destroyed before we listened: its error and close events are already gone.
    if (sink.destroyed) return reject(sink.errored ?? new Error("the archive's destination closed before the backup was written"));
    const settle = (error?: Error) => {
      sink.off("drain", onDrain).off("error", onError).off("close", onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onError = (error: Error) => settle(error);
    const onClose = () => settle(new Error("the archive's destination closed before the backup was written"));
    sink.on("drain", onDrain).on("error", onError).on("close", onClose);
  });
}

/**
 * The archive's bytes encrypted as one age file as they stream by (memory: a few 64 KiB chunks), and,
 * once the stream ended, the size and sha256 of the encrypted file (what the manifest records of it).
 * A failure anywhere (the storage giving up) destroys the whole chain, the archive's stream included.
 */
export async function sealArchive(
  plain: Readable,
  sealing: Sealing,
): Promise<{ body: Readable; file: () => { size: number; sha256: string } }> {
  const hash = createHash("sha256");
  let size = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const sealed = await encryptStream(plain, sealing);
  pipeline(sealed, counted, (error) => {
    if (error) plain.destroy(error);
  });
  return { body: counted, file: () => ({ size, sha256: hash.digest("hex") }) };
}
