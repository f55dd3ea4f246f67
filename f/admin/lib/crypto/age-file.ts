// age files as the archive's storage sees them: a stream encrypted on its way to storage (to
// X25519 recipients, or a passphrase), and a decrypting reader that opens any plaintext byte range
// from the chunks that hold it, so per-table reads and ranged S3 reads keep working.
import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { Decrypter, Encrypter } from "age-encryption";
import { AgeFormatError, CHUNK_SIZE, chunksFor, headerLength, openChunks, payloadKey, plaintextSizeOf,
  type PayloadLayout } from "./age-range.ts";
import { PassphraseIdentity, PassphraseRecipient } from "./passphrase.ts";

/**
 * scrypt's work factor (log2 N) for passphrase files: 2^16 takes 64 MiB and a fraction of a second,
 * where age's default 2^18 takes 256 MiB, which alone would break a worker's memory bound. The
 * passphrase must be long and random anyway (the settings refuse one under 16 characters).
 */
export const SCRYPT_WORK_FACTOR = 16;

/** Who may open a file: X25519 recipients (`age1…`; the worker needs no secret) or one passphrase. */
export type Sealing = { recipients: string[] } | { passphrase: string };

/** What opens a file: X25519 identities (`AGE-SECRET-KEY-1…`) and/or passphrases. */
export interface Opening {
  identities?: string[];
  passphrases?: string[];
}

/** The plaintext `input`, encrypted as one age file as it streams through (memory: a few chunks). */
export async function encryptStream(input: Readable, sealing: Sealing): Promise<Readable> {
  const encrypter = new Encrypter();
  if ("passphrase" in sealing) {
    encrypter.addRecipient(new PassphraseRecipient(sealing.passphrase, SCRYPT_WORK_FACTOR));
  } else {
    if (sealing.recipients.length === 0) throw new Error("encryption needs at least one recipient");
    for (const recipient of sealing.recipients) encrypter.addRecipient(recipient);
  }
  const sealed = await encrypter.encrypt(Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>);
  return Readable.fromWeb(sealed as unknown as WebReadableStream<Uint8Array>);
}

/** Reads bytes of a stored file: `[start, end)`, or all of it. */
export type ReadRange = (range?: { start: number; end: number }) => Readable;

/** An opened age file: its layout and the key of its chunks (never stored, never logged). */
export interface OpenedFile {
  layout: PayloadLayout;
  /** Plaintext bytes [start, end), authenticated chunk by chunk as they arrive. */
  read(range?: { start: number; end: number }): Readable;
}

async function collect(stream: Readable, limit = Infinity): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    parts.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= limit) break;
  }
  stream.destroy();
  return Buffer.concat(parts);
}

/**
 * Open an age file of `fileSize` bytes: read its header (the first bytes), unwrap the file key with
 * the identities or passphrases (the header's MAC is checked), derive the chunks' key.
 */
export async function openAgeFile(read: ReadRange, fileSize: number, opening: Opening): Promise<OpenedFile> {
  let head: Buffer = Buffer.alloc(0);
  let length: number | undefined;
  // Headers are small (about 100 bytes a recipient): read more only while the end is not in sight.
  for (let want = 4096; length === undefined; want *= 4) {
    head = await collect(read({ start: 0, end: Math.min(fileSize, want) }));
    length = headerLength(head);
    if (length === undefined && want >= fileSize) {
      throw new AgeFormatError("the age header never ends: the file is cut short or not an age file");
    }
  }
  if (head.length < length + 16) head = await collect(read({ start: 0, end: Math.min(fileSize, length + 16) }));
  const decrypter = new Decrypter();
  for (const identity of opening.identities ?? []) decrypter.addIdentity(identity);
  for (const passphrase of opening.passphrases ?? []) decrypter.addIdentity(new PassphraseIdentity(passphrase));
  const fileKey = await decrypter.decryptHeader(head.subarray(0, length));
  const key = payloadKey(fileKey, head.subarray(length, length + 16));
  const layout: PayloadLayout = { offset: length + 16, plaintextSize: plaintextSizeOf(fileSize - length - 16) };
  const lastIndex = Math.max(0, Math.ceil(layout.plaintextSize / CHUNK_SIZE) - 1);
  return {
    layout,
    read: (range) => {
      const start = range?.start ?? 0;
      const end = range?.end ?? layout.plaintextSize;
      const plan = chunksFor(layout, start, end);
      const sealed = read({ start: plan.fileStart, end: plan.fileEnd });
      return Readable.from(openedRange(sealed, plan.first, lastIndex, key, plan.skip, end - start));
    },
  };
}

/** The sealed chunks as they arrive, opened one by one, trimmed to the wanted bytes. */
async function* openedRange(
  sealed: Readable,
  first: number,
  lastIndex: number,
  key: Uint8Array,
  skip: number,
  wanted: number,
): AsyncGenerator<Buffer> {
  const SEALED = CHUNK_SIZE + 16;
  let pending: Buffer = Buffer.alloc(0);
  let index = first;
  let toSkip = skip;
  let left = wanted;
  const emit = (plain: Uint8Array): Buffer | undefined => {
    let bytes = Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
    if (toSkip > 0) {
      const cut = Math.min(toSkip, bytes.length);
      bytes = bytes.subarray(cut);
      toSkip -= cut;
    }
    if (bytes.length > left) bytes = bytes.subarray(0, left);
    left -= bytes.length;
    return bytes.length > 0 ? bytes : undefined;
  };
  for await (const chunk of sealed) {
    pending = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer]);
    while (pending.length >= SEALED && left > 0) {
      const out = emit(openChunks(key, index, lastIndex, pending.subarray(0, SEALED)));
      pending = pending.subarray(SEALED);
      index += 1;
      if (out) yield out;
    }
  }
  if (pending.length > 0 && left > 0) {
    const out = emit(openChunks(key, index, lastIndex, pending));
    if (out) yield out;
  }
  if (left > 0) throw new AgeFormatError(`the encrypted file ended ${left} bytes early: it is cut short`);
}
