// Reading a byte range of an age-encrypted file without decrypting the rest. age seals its payload
// in 64 KiB chunks, each with ChaCha20-Poly1305 under a nonce made of the chunk's number and a flag
// for the last one (the age specification, "Payload"), so the chunks that hold a plaintext range can
// be fetched, authenticated and opened on their own. The file key comes from age-encryption
// (`Decrypter.decryptHeader`), which also checks the header's MAC.
import { hkdfSync } from "node:crypto";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";

export const CHUNK_SIZE = 64 * 1024;
const TAG_SIZE = 16;
const SEALED_CHUNK = CHUNK_SIZE + TAG_SIZE;
/** The payload's own nonce, between the header and the first chunk. */
const PAYLOAD_NONCE_SIZE = 16;

export class AgeFormatError extends Error {}

/**
 * Pure: the length of an age header (up to and including its `--- MAC` line) at the start of
 * `bytes`, or undefined when `bytes` does not reach its end yet.
 */
export function headerLength(bytes: Uint8Array): number | undefined {
  const intro = "age-encryption.org/v1\n";
  const start = Buffer.from(bytes.subarray(0, Math.min(bytes.length, intro.length))).toString("latin1");
  if (!intro.startsWith(start)) throw new AgeFormatError("not an age file (its first line is not age-encryption.org/v1)");
  const text = Buffer.from(bytes).toString("latin1");
  const mac = text.indexOf("\n--- ");
  if (mac === -1) return undefined;
  const end = text.indexOf("\n", mac + 1);
  return end === -1 ? undefined : end + 1;
}

/** Where a file's payload starts and how its chunks map to plaintext. */
export interface PayloadLayout {
  /** Bytes before the first sealed chunk: the header and the payload nonce. */
  offset: number;
  /** Size of the whole plaintext. */
  plaintextSize: number;
}

/** Pure: the size of an age file's payload (its sealed chunks) for a plaintext of `size` bytes. */
export function sealedSize(size: number): number {
  const chunks = Math.max(1, Math.ceil(size / CHUNK_SIZE));
  return size + chunks * TAG_SIZE;
}

/** Pure: the plaintext size of a payload of `sealed` bytes, or an error when no plaintext seals to that size. */
export function plaintextSizeOf(sealed: number): number {
  const chunks = Math.max(1, Math.ceil(sealed / SEALED_CHUNK));
  const size = sealed - chunks * TAG_SIZE;
  if (size < 0 || sealedSize(size) !== sealed) throw new AgeFormatError(`an age payload of ${sealed} bytes is cut short or padded`);
  return size;
}

/**
 * Pure: the sealed chunks that hold plaintext bytes [start, end), as a byte range of the file, and
 * where in their opened text the wanted bytes begin.
 */
export function chunksFor(
  layout: PayloadLayout,
  start: number,
  end: number,
): { first: number; last: number; fileStart: number; fileEnd: number; skip: number } {
  if (start < 0 || end < start || end > layout.plaintextSize) {
    throw new RangeError(`bytes ${start}-${end} are outside a plaintext of ${layout.plaintextSize}`);
  }
  const first = Math.floor(start / CHUNK_SIZE);
  const last = end === start ? first : Math.floor((end - 1) / CHUNK_SIZE);
  const lastChunk = Math.max(0, Math.ceil(layout.plaintextSize / CHUNK_SIZE) - 1);
  const fileStart = layout.offset + first * SEALED_CHUNK;
  const fileEnd = Math.min(layout.offset + (last + 1) * SEALED_CHUNK, layout.offset + sealedSize(layout.plaintextSize));
  if (last > lastChunk) throw new RangeError("range past the last chunk");
  return { first, last, fileStart, fileEnd, skip: start - first * CHUNK_SIZE };
}

/** The key that seals the chunks, from the file key and the payload nonce (age: HKDF-SHA-256, info "payload"). */
export function payloadKey(fileKey: Uint8Array, payloadNonce: Uint8Array): Uint8Array {
  if (payloadNonce.length !== PAYLOAD_NONCE_SIZE) throw new AgeFormatError("the payload nonce must be 16 bytes");
  return new Uint8Array(hkdfSync("sha256", fileKey, payloadNonce, "payload", 32));
}

function chunkNonce(index: number, last: boolean): Uint8Array {
  const nonce = new Uint8Array(12);
  let n = index;
  for (let i = 10; i >= 0 && n > 0; i -= 1) {
    nonce[i] = n % 256;
    n = Math.floor(n / 256);
  }
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/**
 * Open consecutive sealed chunks, the first numbered `first`; `lastIndex` is the number of the
 * file's final chunk (sealed with the last-chunk flag). Throws naming the chunk that fails to
 * authenticate: the file was changed, or the key is not this file's.
 */
export function openChunks(key: Uint8Array, first: number, lastIndex: number, sealed: Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  for (let offset = 0, index = first; offset < sealed.length; offset += SEALED_CHUNK, index += 1) {
    const piece = sealed.subarray(offset, Math.min(offset + SEALED_CHUNK, sealed.length));
    try {
      out.push(chacha20poly1305(key, chunkNonce(index, index === lastIndex)).decrypt(piece));
    } catch {
      throw new AgeFormatError(
        `chunk ${index} of the encrypted file does not authenticate: the file was changed, or it is not the file this key opens`,
      );
    }
  }
  return Buffer.concat(out);
}
