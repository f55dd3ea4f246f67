// Reads archives back: the whole file's checksum, and single members by their byte range
// (a table's rows can be fetched without reading the rest of the archive). A restore reads only
// through ProvenArchive, which never hands out a byte of SQL before it was proven to be the backup's:
// the manifest's signature is checked first, an encrypted archive is read through a decrypting view
// (in the decrypted archive's byte ranges), and every member is proven by its sha256.
import { createHash } from "node:crypto";
import { pipeline, Transform, type TransformCallback } from "node:stream";
import { AgeFormatError } from "../crypto/age-range.ts";
import type { Opening } from "../crypto/age-file.ts";
import type { VerifyingKey } from "../crypto/signing.ts";
import { ArchiveIntegrityError, BackupError } from "../errors.ts";
import { DecryptingStorage } from "../storage/decrypting.ts";
import { HashingStorage, measuringStage } from "../storage/hashing.ts";
import type { Storage } from "../storage/storage.ts";
import { compressionNamed, identify } from "./compression.ts";
import { hasMemberDigests, membersOf, signatureStatus, storedFile, type Manifest, type MemberRange,
  type SignatureStatus } from "./manifest.ts";

/**
 * The keys a reader may need, fetched only when an archive needs them (an unencrypted backup never
 * asks for an identity). Each getter throws a BackupError naming the setting or variable to set.
 */
export interface ArchiveKeys {
  /** Identities and passphrases that open encrypted archives. */
  opening(): Promise<Opening>;
  /** Keys that verify manifest signatures (none: signatures cannot be checked). */
  verifying(): Promise<VerifyingKey[]>;
  /** Refuse a manifest that is not signed by one of them. */
  requireSignature: boolean;
  /** Where the opening keys come from, for messages: `encryption.identities_variable (u/admin/backup_age_identity)`. */
  openingSource: string;
}

/** A reader configured with no keys: unencrypted, unsigned archives only. */
export const NO_KEYS: ArchiveKeys = {
  opening: () =>
    Promise.reject(
      new BackupError(
        "The archive is encrypted, and no key to open it is configured: set encryption.identities_variable (or passphrase_variable) " +
          "in f/admin/backup_settings to a secret variable holding the age identity (AGE-SECRET-KEY-1…) or the passphrase.",
      ),
    ),
  verifying: () => Promise.resolve([]),
  requireSignature: false,
  openingSource: "no key configured",
};

/**
 * The manifest's signature, judged by the configured keys: a signature that does not hold is refused
 * always, an unsigned manifest when signatures are required. Checked before anything of the archive is used.
 */
export async function authenticate(storage: Storage, manifest: Manifest, keys: ArchiveKeys): Promise<SignatureStatus> {
  const signed = manifest.signature !== undefined;
  const status = signatureStatus(manifest, signed ? await keys.verifying() : []);
  const where = `Manifest of ${storedFile(manifest).name} in ${storage.location}`;
  if (status.state === "invalid") {
    throw new ArchiveIntegrityError(
      `${where} does not carry a valid signature (${status.reason}): the manifest or its archive may have been rewritten by someone ` +
        "without the signing key. Nothing was restored or changed; use another backup (list_backups), or configure signing.public_keys " +
        "(or signing.hmac_secret_variable) in f/admin/backup_settings if the backup was signed with another key.",
    );
  }
  if (status.state === "unsigned" && keys.requireSignature) {
    throw new ArchiveIntegrityError(
      `${where} is not signed, and signatures are required (signing in f/admin/backup_settings): it was made before signing was ` +
        "configured, or rewritten by someone who dropped the signature. Nothing was restored or changed. To use an unsigned backup you " +
        "trust, set signing.require_signature: false.",
    );
  }
  if (status.state === "unverified" && keys.requireSignature) {
    throw new ArchiveIntegrityError(
      `${where} is signed, but signatures are required and no key to verify them is configured: set signing.public_keys ` +
        "(or signing.hmac_secret_variable) in f/admin/backup_settings. Nothing was restored or changed.",
    );
  }
  return status;
}

/**
 * `storage` as the manifest's archive reads: itself, or for an encrypted archive a decrypting view
 * whose file key was unwrapped now (a wrong or missing key fails here, naming what to set).
 */
export async function openStored(storage: Storage, manifest: Manifest, keys: ArchiveKeys): Promise<Storage> {
  const sealed = manifest.archive.encryption;
  if (!sealed) return storage;
  const opening = await keys.opening();
  try {
    return await DecryptingStorage.open(storage, sealed.file.name, sealed.file.size, manifest.archive.name, opening);
  } catch (error) {
    if (error instanceof AgeFormatError) {
      throw new ArchiveIntegrityError(
        `Archive ${sealed.file.name} in ${storage.location} is damaged (${error.message}). Nothing was restored or changed; use another backup.`,
        { cause: error },
      );
    }
    const what = sealed.method === "age-scrypt"
      ? "a passphrase"
      : `the X25519 recipient${sealed.recipients.length > 1 ? "s" : ""} ${sealed.recipients.join(", ")}`;
    throw new BackupError(
      `Archive ${sealed.file.name} in ${storage.location} is encrypted with ${what}, and the key configured (${keys.openingSource}) ` +
        `does not open it (${(error as Error).message}). Nothing was restored or changed. Set that variable to ` +
        (sealed.method === "age-scrypt"
          ? "the passphrase the backup was made with."
          : "the age identity (AGE-SECRET-KEY-1…) of one of those recipients."),
      { cause: error },
    );
  }
}

/** Pure: how a backup is stored, in a few words: `no`, `age-x25519 (age1…)`, `age-scrypt (passphrase)`. */
export function describeEncryption(manifest: Manifest | undefined): string {
  const sealed = manifest?.archive.encryption;
  if (!sealed) return "no";
  return sealed.method === "age-scrypt" ? "age-scrypt (passphrase)" : `age-x25519 (${sealed.recipients.join(", ")})`;
}

/** Stream `name` once and compare its size and sha256 with what is expected. */
async function checkWhole(storage: Storage, name: string, expected: { size: number; sha256: string }): Promise<void> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of storage.read(name)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  const sha256 = hash.digest("hex");
  if (size !== expected.size || sha256 !== expected.sha256) {
    throw new ArchiveIntegrityError(
      `Archive ${name} in ${storage.location} does not match its manifest ` +
        `(size ${size} bytes, expected ${expected.size}; sha256 ${sha256.slice(0, 16)}…, expected ${expected.sha256.slice(0, 16)}…): ` +
        "the file is damaged or was changed after the backup. Nothing was restored; use another backup (list_backups).",
    );
  }
}

/** Stream the stored file once (the encrypted file of an encrypted backup) and compare its size and sha256 with the manifest. */
export async function checkArchive(storage: Storage, manifest: Manifest): Promise<void> {
  const file = storedFile(manifest);
  await checkWhole(storage, file.name, file);
}

/**
 * A member's decompressed bytes (by the manifest's compression), and once they were all read, the size
 * and sha256 of its compressed bytes.
 */
function hashedMember(
  storage: Storage,
  manifest: Manifest,
  range: MemberRange,
  label: string,
): { chunks: AsyncIterable<Buffer>; read: () => { sha256: string; size: number } } {
  const measured = measuringStage();
  const decompress = compressionNamed(manifest.archive.compression).decompressor();
  pipeline(storage.read(manifest.archive.name, range), measured.stage, magicCheck(manifest, label), decompress, () => undefined);
  return { chunks: decompress, read: measured.result };
}

/**
 * Fails a member whose first bytes are not of the compression its manifest records (a gzip archive
 * renamed `.sql.zst` with its manifest edited to match), naming what they are instead: the
 * decompressor's own error would only say "damaged".
 */
function magicCheck(manifest: Manifest, label: string): Transform {
  let head: Buffer | undefined = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      if (head === undefined) return done(null, chunk);
      head = Buffer.concat([head, chunk]);
      if (head.length < 4) return done();
      const held = head;
      head = undefined;
      done(wrongCompression(manifest, label, held), held);
    },
    flush(done: TransformCallback) {
      // A member shorter than a magic number: the decompressor says it is damaged.
      done(head && head.length > 0 ? wrongCompression(manifest, label, head) : null, head);
    },
  });
}

function wrongCompression(manifest: Manifest, label: string, head: Buffer): ArchiveIntegrityError | null {
  const claimed = manifest.archive.compression;
  if (compressionNamed(claimed).starts(head)) return null;
  const found = identify(head);
  return new ArchiveIntegrityError(
    `Archive ${manifest.archive.name}: ${label} is ${found === undefined ? "neither gzip nor zstd" : found} data, but its manifest says ` +
      `${claimed}. The archive was renamed or its manifest rewritten; nothing of that part was used. Use another backup (list_backups).`,
  );
}

/** A whole member's bytes decompressed, through the same stages as a streamed member. */
async function decompressed(manifest: Manifest, bytes: Buffer, label: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const decompress = compressionNamed(manifest.archive.compression).decompressor();
  const done = new Promise<void>((resolve, reject) =>
    pipeline([bytes], magicCheck(manifest, label), decompress, (error) => (error ? reject(error) : resolve()))
  );
  decompress.on("data", (chunk: Buffer) => chunks.push(chunk));
  await done;
  return Buffer.concat(chunks);
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
    /** The archive as it reads: a decrypting view for an encrypted one. */
    readonly storage: Storage,
    readonly manifest: Manifest,
    readonly signature: SignatureStatus,
  ) {}

  /**
   * The signature is checked first and an encrypted archive's key unwrapped, so that a changed
   * manifest or a wrong key is refused before anything is touched. `wholeFirst` also reads and
   * checks the whole stored file now, so that a damaged archive is refused before anything is
   * touched (cheap on a local disk; from S3 it would mean downloading twice).
   */
  static async open(
    storage: Storage,
    manifest: Manifest,
    options: { wholeFirst?: boolean; keys?: ArchiveKeys } = {},
  ): Promise<ProvenArchive> {
    const keys = options.keys ?? NO_KEYS;
    const signature = await authenticate(storage, manifest, keys);
    const view = await openStored(storage, manifest, keys);
    if (!hasMemberDigests(manifest) || options.wholeFirst) await checkArchive(storage, manifest);
    return new ProvenArchive(view, manifest, signature);
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
      return (await decompressed(this.manifest, bytes, label)).toString("utf8");
    } catch (error) {
      if (error instanceof ArchiveIntegrityError) throw error;
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
    const { chunks, read } = hashedMember(this.storage, this.manifest, range, label);
    return { chunks, proven: () => proveMember(this.storage, this.manifest, range, label, read()) };
  }
}

/**
 * Read the whole archive once, every member decompressed to its end (gzip checks its own CRC and
 * length, zstd each frame's checksum), each member's sha256 (version 2) and the whole file's compared with the manifest's: what
 * a preview promises about the archive. The signature is checked first; an encrypted archive is
 * decrypted on the way, each of its chunks authenticated.
 */
export async function checkArchiveReadable(
  stored: Storage,
  manifest: Manifest,
  keys: ArchiveKeys = NO_KEYS,
): Promise<{ decompressed_bytes: number; signature: SignatureStatus }> {
  const signature = await authenticate(stored, manifest, keys);
  const storage = await openStored(stored, manifest, keys);
  const hashing = new HashingStorage(storage, manifest.archive.name);
  let decompressed = 0;
  for (const member of membersOf(manifest)) {
    const { chunks, read } = hashedMember(hashing, manifest, member.range, member.label);
    try {
      for await (const chunk of chunks) decompressed += chunk.length;
    } catch (error) {
      if (error instanceof ArchiveIntegrityError) throw error;
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
  if (sha256 !== manifest.archive.sha256) await checkWhole(storage, manifest.archive.name, manifest.archive);
  return { decompressed_bytes: decompressed, signature };
}
