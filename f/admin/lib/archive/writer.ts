// Writes an archive as a sequence of members (one file `gunzip -c`, or `zstd -dc` for zstd, reads as
// one SQL script) and records where each member starts and ends and the sha256 of its bytes, so a
// reader can fetch one table's bytes alone and prove them before using them. A member is itself
// written as blocks (gzip members, zstd frames) of at most 256 KiB of text, compressed several at once
// on zlib's thread pool (every core compresses) and written in order; both formats read concatenated
// blocks as one stream. Hashes and counts the compressed bytes on the way to the sink, with backpressure. An encrypted backup's
// archive goes on through age (sealArchive) and the encrypted bytes are hashed again on their way to storage.
import { createHash } from "node:crypto";
import { pipeline, type Readable, type Writable } from "node:stream";
import { encryptStream, type Sealing } from "../crypto/age-file.ts";
import { garbageBound } from "../memory.ts";
import { measuringStage } from "../storage/hashing.ts";
import { blockCompressor, type CompressionName } from "./compression.ts";
import type { MemberRange } from "./manifest.ts";

/** A piece of a member: SQL text, or bytes streamed from elsewhere (a COPY). */
export type MemberPart = string | AsyncIterable<Buffer>;

/**
 * Text per gzip block, and blocks compressed at once: two keep two cores compressing while the next
 * block is read. Under Bun each one-shot compression holds far more than its block: at scale 150 the
 * backup peaked at 180 MB with two 1 MiB blocks in flight, 160 MB with two of 256 KiB (the archive
 * 0.4 % larger than with 1 MiB, each block starting without a dictionary), 134 MB with one stream.
 */
const BLOCK_BYTES = 256 * 1024;
const BLOCKS_IN_FLIGHT = 2;

export class ArchiveWriter {
  private offset = 0;
  private readonly hash = createHash("sha256");
  private readonly passed = garbageBound();
  private readonly compress: (block: Buffer) => Promise<Buffer>;

  /** Throws a BackupError, before anything is written, when this runtime cannot write `compression`. */
  constructor(
    private readonly sink: Writable,
    readonly compression: CompressionName = "gzip",
    level?: number,
  ) {
    this.compress = blockCompressor(compression, level);
  }

  /**
   * Compress `parts` into one member and return its byte range. Parts are consumed in order, so a
   * generator can start each stream only when its turn comes; a part is read no faster than the
   * blocks before it are compressed and written.
   */
  async member(parts: Iterable<MemberPart>): Promise<MemberRange> {
    const start = this.offset;
    const memberHash = createHash("sha256");
    const compressing: Promise<Buffer>[] = [];
    let block: Buffer[] = [];
    let blockBytes = 0;
    const write = async (bytes: Buffer) => {
      this.hash.update(bytes);
      memberHash.update(bytes);
      this.offset += bytes.length;
      if (!this.sink.write(bytes)) await drained(this.sink);
    };
    const cut = async (last: boolean) => {
      // An empty member is still one (empty) block, as a reader expects.
      if (blockBytes > 0 || (last && compressing.length === 0 && this.offset === start)) {
        const compressed = this.compress(Buffer.concat(block));
        compressed.catch(() => undefined);
        compressing.push(compressed);
        block = [];
        blockBytes = 0;
      }
      while (compressing.length >= (last ? 1 : BLOCKS_IN_FLIGHT)) await write(await compressing.shift()!);
    };
    const add = async (bytes: Buffer) => {
      this.passed(bytes.length);
      block.push(bytes);
      blockBytes += bytes.length;
      if (blockBytes >= BLOCK_BYTES) await cut(false);
    };
    for (const part of parts) {
      if (typeof part === "string") await add(Buffer.from(part, "utf8"));
      else for await (const chunk of part) await add(chunk);
    }
    await cut(true);
    return { start, end: this.offset, sha256: memberHash.digest("hex") };
  }

  /** Size and sha256 of everything written; call once, after the last member. */
  finish(): { size: number; sha256: string } {
    this.sink.end();
    return { size: this.offset, sha256: this.hash.digest("hex") };
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
  const counted = measuringStage();
  const sealed = await encryptStream(plain, sealing);
  pipeline(sealed, counted.stage, (error) => {
    if (error) plain.destroy(error);
  });
  return { body: counted.stage, file: counted.result };
}
