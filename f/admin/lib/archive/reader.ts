// Reads archives back: the whole file's checksum, and single gzip members by their byte range
// (a table's rows can be fetched without reading the rest of the archive).
import { createHash } from "node:crypto";
import { pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { ArchiveIntegrityError } from "../errors.ts";
import { HashingStorage } from "../storage/hashing.ts";
import type { Storage } from "../storage/storage.ts";
import type { ByteRange, Manifest } from "./manifest.ts";

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
        `(size ${size} bytes, expected ${manifest.archive.size}; sha256 ${sha256.slice(0, 16)}…, expected ${manifest.archive.sha256.slice(0, 16)}…): ` +
        "the file is damaged or was changed after the backup. Nothing was restored; use another backup (list_backups).",
    );
  }
}

/** The decompressed bytes of one gzip member. */
export function readMember(storage: Storage, name: string, range: ByteRange): AsyncIterable<Buffer> {
  const gunzip = createGunzip();
  // pipeline forwards a storage error to the gunzip stream, so the reader's loop throws it.
  pipeline(storage.read(name, range), gunzip, () => undefined);
  return gunzip;
}

/** A whole member as text (only for the schema sections, whose size does not grow with the data). */
export async function readMemberText(storage: Storage, name: string, range: ByteRange): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of readMember(storage, name, range)) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** Every gzip member of the manifest, in file order. */
export function membersInOrder(manifest: Manifest): Array<{ label: string; range: ByteRange }> {
  const { pre_data, sequences, post_data, large_objects } = manifest.sections;
  return [
    { label: "pre-data", range: pre_data },
    ...manifest.tables.map((t) => ({ label: `the rows of ${t.schema}.${t.name}`, range: t.range })),
    ...(large_objects ? [{ label: "the large objects", range: large_objects }] : []),
    { label: "sequences", range: sequences },
    { label: "post-data", range: post_data },
  ].sort((a, b) => a.range.start - b.range.start);
}

/**
 * Read the whole archive once, every member decompressed to its end (gzip checks its own CRC and
 * length), and compare its sha256 with the manifest's: what a preview promises about the archive.
 */
export async function checkArchiveReadable(storage: Storage, manifest: Manifest): Promise<{ decompressed_bytes: number }> {
  const hashing = new HashingStorage(storage, manifest.archive.name);
  let decompressed = 0;
  for (const member of membersInOrder(manifest)) {
    try {
      for await (const chunk of readMember(hashing, manifest.archive.name, member.range)) decompressed += chunk.length;
    } catch (error) {
      throw new ArchiveIntegrityError(
        `Archive ${manifest.archive.name} in ${storage.location} cannot be read to the end (${member.label}: ${(error as Error).message}): ` +
          "the file is damaged. Use another backup (list_backups).",
        { cause: error },
      );
    }
  }
  const sha256 = hashing.digest(manifest.archive.size);
  if (sha256 !== manifest.archive.sha256) await checkArchive(storage, manifest);
  return { decompressed_bytes: decompressed };
}
