// Reads archives back: the whole file's checksum, and single gzip members by their byte range
// (a table's rows can be fetched without reading the rest of the archive). A restore reads only
// through ProvenArchive, which never hands out a byte of SQL before it was proven to be the backup's.
import { createHash } from "node:crypto";
import { pipeline, Transform } from "node:stream";
import { createGunzip, gunzipSync } from "node:zlib";
import { ArchiveIntegrityError } from "../errors.ts";
import { HashingStorage } from "../storage/hashing.ts";
import type { Storage } from "../storage/storage.ts";
import { hasMemberDigests, membersOf, type Manifest, type MemberRange } from "./manifest.ts";

/** Stream the archive once and compare its size and sha256 with the manifest. */
export async function checkArchive(storage: Storage, manifest: Manifest): Promise<void> {
  const name = manifest.archive.name;
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of storage.read(name)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const sha256 = hash.digest("hex");
  if (size !== manifest.archive.size || sha256 !== manifest.archive.sha256) {
    throw new ArchiveIntegrityError(
      `Archive ${name} in ${storage.location} does not match its manifest ` +
        `(size ${size} bytes, expected ${manifest.archive.size}; sha256 ${sha256.slice(0, 16)}…, expected ${
          manifest.archive.sha256.slice(0, 16)
        }…): ` +
        "the file is damaged or was changed after the backup. Nothing was restored; use another backup (list_backups).",
    );
  }
}

/** A member's decompressed bytes, and once they were all read, the size and sha256 of its compressed bytes. */
function hashedMember(
  storage: Storage,
  name: string,
  range: MemberRange,
): { chunks: AsyncIterable<Buffer>; read: () => { sha256: string; size: number } } {
  const hash = createHash("sha256");
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const gunzip = createGunzip();
  pipeline(storage.read(name, range), hashing, gunzip, () => undefined);
  return { chunks: gunzip, read: () => ({ sha256: hash.digest("hex"), size }) };
}

/** Throws unless a member's compressed bytes are those the manifest describes. */
function proveMember(
  storage: Storage,
  manifest: Manifest,
  range: MemberRange,
  label: string,
  read: { sha256: string; size: number },
): void {
  const expected = range.end - range.start;
  if (read.size !== expected) {
    throw new ArchiveIntegrityError(
      `Archive ${manifest.archive.name} in ${storage.location} is damaged: ${label} has ${read.size} bytes where the manifest says ${expected}. ` +
        "Nothing of that part was used; use another backup (list_backups).",
    );
  }
  // Version 1 manifests have no member digests: their archive is checked whole instead.
  if (range.sha256 !== undefined && read.sha256 !== range.sha256) {
    throw new ArchiveIntegrityError(
      `Archive ${manifest.archive.name} in ${storage.location} was changed after the backup: ${label} does not match the manifest ` +
        `(sha256 ${read.sha256.slice(0, 16)}…, expected ${range.sha256.slice(0, 16)}…). Nothing of that part was used; ` +
        "use another backup (list_backups).",
    );
  }
}

/**
 * An archive as a restore may read it: each member's bytes are hashed and compared with the
 * manifest before any of its SQL runs (schema sections) or before COMMIT (rows, which only ever
 * travel as COPY data). A version 1 manifest has no member digests: its archive is read and
 * checked whole when opened, before anything else.
 */
export class ProvenArchive {
  private constructor(
    readonly storage: Storage,
    readonly manifest: Manifest,
  ) {}

  /**
   * `wholeFirst` also reads and checks the whole file now, so that a damaged archive is refused
   * before anything is touched (cheap on a local disk; from S3 it would mean downloading twice).
   */
  static async open(storage: Storage, manifest: Manifest, options: { wholeFirst?: boolean } = {}): Promise<ProvenArchive> {
    if (!hasMemberDigests(manifest) || options.wholeFirst) await checkArchive(storage, manifest);
    return new ProvenArchive(storage, manifest);
  }

  /**
   * A schema section as text, proven first. Only sections whose size does not grow with the data
   * (pre-data, sequence values, post-data) are read whole.
   */
  async text(range: MemberRange, label: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.storage.read(this.manifest.archive.name, range)) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    proveMember(this.storage, this.manifest, range, label, { sha256: createHash("sha256").update(bytes).digest("hex"),
      size: bytes.length });
    try {
      return gunzipSync(bytes).toString("utf8");
    } catch (error) {
      throw new ArchiveIntegrityError(
        `Archive ${this.manifest.archive.name} cannot be read (${label}: ${(error as Error).message}): it is damaged.`,
        { cause: error },
      );
    }
  }

  /**
   * A member's decompressed bytes as they arrive. `proven()`, called after the last chunk was
   * read, throws unless the bytes were the backup's; until then they may only be used as data that
   * a rollback takes back.
   */
  stream(range: MemberRange, label: string): { chunks: AsyncIterable<Buffer>; proven: () => void } {
    const { chunks, read } = hashedMember(this.storage, this.manifest.archive.name, range);
    return { chunks, proven: () => proveMember(this.storage, this.manifest, range, label, read()) };
  }
}

/**
 * Read the whole archive once, every member decompressed to its end (gzip checks its own CRC and
 * length), each member's sha256 (version 2) and the whole file's compared with the manifest's: what
 * a preview promises about the archive.
 */
export async function checkArchiveReadable(storage: Storage, manifest: Manifest): Promise<{ decompressed_bytes: number }> {
  const hashing = new HashingStorage(storage, manifest.archive.name);
  let decompressed = 0;
  for (const member of membersOf(manifest)) {
    const { chunks, read } = hashedMember(hashing, manifest.archive.name, member.range);
    try {
      for await (const chunk of chunks) decompressed += chunk.length;
    } catch (error) {
      throw new ArchiveIntegrityError(
        `Archive ${manifest.archive.name} in ${storage.location} cannot be read to the end (${member.label}: ${
          (error as Error).message
        }): ` +
          "the file is damaged. Use another backup (list_backups).",
        { cause: error },
      );
    }
    proveMember(storage, manifest, member.range, member.label, read());
  }
  const sha256 = hashing.digest(manifest.archive.size);
  if (sha256 !== manifest.archive.sha256) await checkArchive(storage, manifest);
  return { decompressed_bytes: decompressed };
}
