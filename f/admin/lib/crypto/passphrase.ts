// age's passphrase stanza (`-> scrypt <salt> <log2 N>`, the file key sealed with ChaCha20-Poly1305
// under scrypt(passphrase, "age-encryption.org/v1/scrypt" ‖ salt, N, r=8, p=1), as the age
// specification defines it) with the runtime's native scrypt. age-encryption's own runs scrypt in
// JavaScript, whose 64 MiB working array (2^16 × 1 KiB) lingered until the next collection: a
// passphrase-encrypted backup of a 500 MB row peaked at 203 MB under Node, 70 MB above the same
// backup to an X25519 recipient. node:crypto's scrypt (OpenSSL, BoringSSL under Bun) frees its
// memory when it returns, and is several times faster.
import { randomBytes, scrypt } from "node:crypto";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { type Identity, type Recipient, Stanza } from "age-encryption";

const LABEL = "age-encryption.org/v1/scrypt";
/** age refuses work factors above this when decrypting: a header must not make us spend unbounded memory. */
const MAX_WORK_FACTOR = 20;
const ZERO_NONCE = new Uint8Array(12);

/** The key that seals the file key: scrypt of the passphrase over the label and salt (memory: 128 × r × N bytes). */
function stanzaKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  const options = { N, r: 8, p: 1, maxmem: 2 * 128 * 8 * N };
  return new Promise((resolve, reject) =>
    scrypt(passphrase, Buffer.concat([Buffer.from(LABEL), salt]), 32, options, (error, key) => (error ? reject(error) : resolve(key)))
  );
}

/** Unpadded standard base64, as age writes it; anything else (padding, stray characters) is refused. */
const base64 = {
  encode: (bytes: Uint8Array) => Buffer.from(bytes).toString("base64").replace(/=+$/, ""),
  decode: (text: string): Buffer | undefined => {
    const bytes = Buffer.from(text, "base64");
    return base64.encode(bytes) === text ? bytes : undefined;
  },
};

/** Seals the file key with a passphrase (age's scrypt recipient). */
export class PassphraseRecipient implements Recipient {
  constructor(private readonly passphrase: string, private readonly logN: number) {}

  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
    const salt = randomBytes(16);
    const key = await stanzaKey(this.passphrase, salt, this.logN);
    const body = chacha20poly1305(key, ZERO_NONCE).encrypt(fileKey);
    return [new Stanza(["scrypt", base64.encode(salt), String(this.logN)], body)];
  }
}

/** Opens a file key sealed with a passphrase; null when the header has no passphrase stanza or another passphrase sealed it. */
export class PassphraseIdentity implements Identity {
  constructor(private readonly passphrase: string) {}

  async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
    const stanza = stanzas.find((s) => s.args[0] === "scrypt");
    if (stanza === undefined) return null;
    // The specification's rules: alone in its header (no one else can have the file key), exact form.
    if (stanzas.length !== 1) throw new Error("invalid age header: a passphrase stanza must be the only one");
    const [, saltText = "", logNText = ""] = stanza.args;
    const salt = base64.decode(saltText);
    if (stanza.args.length !== 3 || salt?.length !== 16 || !/^[1-9][0-9]*$/.test(logNText) || stanza.body.length !== 32) {
      throw new Error("invalid age header: a malformed passphrase stanza");
    }
    const logN = Number(logNText);
    if (logN > MAX_WORK_FACTOR) throw new Error(`the age header asks for a scrypt work factor of 2^${logN}, above 2^${MAX_WORK_FACTOR}`);
    const key = await stanzaKey(this.passphrase, salt, logN);
    try {
      return chacha20poly1305(key, ZERO_NONCE).decrypt(stanza.body);
    } catch {
      return null;
    }
  }
}
