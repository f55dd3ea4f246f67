// The compressions an archive may be written with, each described once: the name's extension, the
// levels it takes, how one block of text is compressed, how a member is decompressed as a stream, and
// the magic bytes that say what a member's bytes really are. Everything else (writer, reader, names,
// manifest, listing) asks this table, so a compression is added here and nowhere else.
import { Transform, type TransformCallback } from "node:stream";
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { Decompress as PortableZstdDecompress } from "fzstd";
import { BackupError } from "../errors.ts";

export const COMPRESSIONS = ["gzip", "zstd"] as const;
export type CompressionName = (typeof COMPRESSIONS)[number];

export interface Compression {
  name: CompressionName;
  /** The archive's extension: `.sql.gz`, `.sql.zst` (`.age` follows when encrypted). */
  extension: string;
  /** The command that reads the archive as one SQL script, for headers and messages. */
  reader: string;
  levels: { min: number; max: number; default: number };
  /**
   * A function compressing one block of text into one self-contained unit (a gzip member, a zstd
   * frame); throws a BackupError naming what to do where this runtime cannot compress this way.
   */
  compressor(level: number): (block: Buffer) => Promise<Buffer>;
  /** A stream that decompresses a member (any number of concatenated units) and fails on bytes that are not. */
  decompressor(): Transform;
  /** Whether `bytes` (a member's first bytes) start as this compression writes. */
  starts(bytes: Buffer): boolean;
  /** Compressed bytes read from an archive's start to find its first line (a unit's first block must fit). */
  headBytes: number;
}

/** Output chunks of 64 KiB rather than zlib's 16: a quarter of the callbacks and writes downstream. */
const CHUNK = 64 * 1024;

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

/** node:zlib's zstd: in Bun and Deno, and Node from 22.15; absent in Node 20. */
const nativeZstd = typeof zlib.createZstdDecompress === "function" && typeof zlib.zstdCompress === "function";

/** What runs this code, for messages: `Node 20.20.2`, `Bun 1.4.5`, `Deno 2.9.5`. */
export function runtimeLabel(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun) return `Bun ${versions.bun}`;
  if (versions.deno) return `Deno ${versions.deno}`;
  return `Node ${versions.node}`;
}

const gzip: Compression = {
  name: "gzip",
  extension: ".sql.gz",
  reader: "gunzip -c",
  levels: { min: 1, max: 9, default: 6 },
  compressor: (level) => {
    const compress = promisify(zlib.gzip);
    return (block) => compress(block, { level });
  },
  decompressor: () => zlib.createGunzip({ chunkSize: CHUNK }),
  starts: (bytes) => bytes.subarray(0, 2).equals(GZIP_MAGIC),
  headBytes: 4096,
};

/**
 * Level 1 by measurement: the family_brain sample's COPY text (43 MB at scale 30) in 256 KiB blocks,
 * two at a time under Bun, level 1 gave 15.8 MB at 230 MB/s, level 2 16.4 MB at 221 MB/s, level 3
 * 17.6 MB at 156 MB/s (gzip -6: 16.7 MB at 28 MB/s). Small blocks leave the higher levels little to find.
 */
const zstd: Compression = {
  name: "zstd",
  extension: ".sql.zst",
  reader: "zstd -dc",
  levels: { min: 1, max: 19, default: 1 },
  compressor: (level) => {
    if (!nativeZstd) {
      throw new BackupError(
        `compression "zstd" cannot be written under ${runtimeLabel()}: its node:zlib has no zstd (Bun, Deno and Node 22.15 or newer have it). ` +
          'Nothing was written. Run the backup under Bun (Windmill\'s default for TypeScript) or set compression: "gzip" in f/admin/backup_settings.',
      );
    }
    const compress = promisify(zlib.zstdCompress);
    // The checksum lets `zstd -t` and every reader check each frame on its own, as gzip's CRC does.
    const params = { [zlib.constants.ZSTD_c_compressionLevel]: level, [zlib.constants.ZSTD_c_checksumFlag]: 1 };
    return (block) => compress(block, { params });
  },
  decompressor: () => (nativeZstd ? zlib.createZstdDecompress({ chunkSize: CHUNK }) : portableZstdStage()),
  // A zstd member starts with a frame; a skippable frame (0x184D2A50 to 0x184D2A5F) is valid zstd too.
  starts: (bytes) =>
    bytes.subarray(0, 4).equals(ZSTD_MAGIC) ||
    (bytes.length >= 4 && (bytes[0]! & 0xf0) === 0x50 && bytes[1] === 0x2a && bytes[2] === 0x4d && bytes[3] === 0x18),
  // A zstd block holds up to 128 KiB and is decoded whole.
  headBytes: 132 * 1024,
};

const TABLE: Record<CompressionName, Compression> = { gzip, zstd };

export function compressionNamed(name: CompressionName): Compression {
  return TABLE[name];
}

/** The one-block compressor of the settings' compression at their level (its default when none); a level it does not take is refused. */
export function blockCompressor(name: CompressionName, level?: number): (block: Buffer) => Promise<Buffer> {
  const compression = TABLE[name];
  const { min, max } = compression.levels;
  const chosen = level ?? compression.levels.default;
  if (!(Number.isInteger(chosen) && chosen >= min && chosen <= max)) {
    throw new BackupError(
      `compression_level ${chosen} is not a ${name} level: ${name} takes ${min} to ${max} (default ${compression.levels.default}). ` +
        "Nothing was written; fix compression_level in f/admin/backup_settings.",
    );
  }
  return compression.compressor(chosen);
}

/** The compression whose extension `name` carries right before `.age` (or at its end), if any. */
export function compressionOfName(name: string): Compression | undefined {
  const plain = name.endsWith(".age") ? name.slice(0, -".age".length) : name;
  return Object.values(TABLE).find((c) => plain.endsWith(c.extension));
}

/** What a member's first bytes are, by their magic: `gzip`, `zstd`, or undefined for neither. */
export function identify(bytes: Buffer): CompressionName | undefined {
  return Object.values(TABLE).find((c) => c.starts(bytes))?.name;
}

/**
 * Node 20 has no zstd in node:zlib: fzstd (pure JavaScript, MIT) decodes the frames as they stream
 * by, holding one block and the frame's window (our frames cover 256 KiB of text each).
 */
function portableZstdStage(): Transform {
  let decoder: PortableZstdDecompress;
  const stage = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      try {
        decoder.push(chunk);
        done();
      } catch (error) {
        done(zstdError(error));
      }
    },
    flush(done: TransformCallback) {
      try {
        decoder.push(new Uint8Array(0), true);
        done();
      } catch (error) {
        done(zstdError(error));
      }
    },
  });
  // fzstd may hand out views of its own window, which it overwrites later: copy each one.
  decoder = new PortableZstdDecompress((data) => {
    if (data.length > 0) stage.push(Buffer.from(data));
  });
  return stage;
}

function zstdError(error: unknown): Error {
  return new Error(`zstd data is damaged (${(error as Error).message})`, { cause: error });
}
