// Signatures over manifests: the manifest holds every member's digest, so signing it covers the
// whole backup. Ed25519 (the worker holds the private key; anyone with the public key verifies) or
// HMAC-SHA-256 (one shared secret). Keys arrive as text from Windmill secret variables: PEM, or the
// bare key in base64. What is signed is the manifest's JSON, in its own key order, without the
// signature itself.
import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, timingSafeEqual, verify,
  type KeyObject } from "node:crypto";

export type SignatureAlgorithm = "ed25519" | "hmac-sha256";

/** What a signed manifest carries: never a key, only which one signed (its fingerprint). */
export interface ManifestSignature {
  algorithm: SignatureAlgorithm;
  /** `sha256:` and the first 16 hex digits of the sha256 of the public key (Ed25519) or of the secret (HMAC). */
  key_id: string;
  /** Base64. */
  value: string;
}

export type SigningKey = { algorithm: "ed25519"; key: KeyObject; keyId: string } | { algorithm: "hmac-sha256"; secret: Buffer;
  keyId: string };
export type VerifyingKey = { algorithm: "ed25519"; key: KeyObject; keyId: string } | { algorithm: "hmac-sha256"; secret: Buffer;
  keyId: string };

export class SignatureError extends Error {}

// DER prefixes of Ed25519 keys (RFC 8410): a 32-byte key follows each.
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");

function fingerprint(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}`;
}

function rawPublic(key: KeyObject): Buffer {
  return (key.export({ format: "der", type: "spki" }) as Buffer).subarray(SPKI_ED25519.length);
}

/** An Ed25519 private key from PEM (PKCS#8) or base64 (its 32-byte seed, or PKCS#8 DER). */
export function ed25519PrivateKey(text: string): SigningKey {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith("-----")) key = createPrivateKey(trimmed);
    else {
      const bytes = Buffer.from(trimmed, "base64");
      key = createPrivateKey({ key: bytes.length === 32 ? Buffer.concat([PKCS8_ED25519, bytes]) : bytes, format: "der", type: "pkcs8" });
    }
  } catch (error) {
    throw new SignatureError(`the signing key is not an Ed25519 private key in PEM or base64 (${(error as Error).message.split("\n")[0]})`);
  }
  if (key.asymmetricKeyType !== "ed25519") throw new SignatureError(`the signing key is a ${key.asymmetricKeyType} key, not Ed25519`);
  return { algorithm: "ed25519", key, keyId: fingerprint(rawPublic(createPublicKey(key))) };
}

/** An Ed25519 public key from PEM (SPKI) or base64 (its 32 bytes, or SPKI DER). */
export function ed25519PublicKey(text: string): VerifyingKey {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith("-----")) key = createPublicKey(trimmed);
    else {
      const bytes = Buffer.from(trimmed, "base64");
      key = createPublicKey({ key: bytes.length === 32 ? Buffer.concat([SPKI_ED25519, bytes]) : bytes, format: "der", type: "spki" });
    }
  } catch (error) {
    throw new SignatureError(
      `a verification key is not an Ed25519 public key in PEM or base64 (${(error as Error).message.split("\n")[0]})`,
    );
  }
  if (key.asymmetricKeyType !== "ed25519") throw new SignatureError(`a verification key is a ${key.asymmetricKeyType} key, not Ed25519`);
  return { algorithm: "ed25519", key, keyId: fingerprint(rawPublic(key)) };
}

/** An HMAC secret: at least 32 bytes of text, so that it cannot be guessed offline. */
export function hmacSecret(text: string): SigningKey & VerifyingKey {
  const secret = Buffer.from(text, "utf8");
  if (secret.length < 32) throw new SignatureError("the HMAC secret must be at least 32 characters (use a random string)");
  return { algorithm: "hmac-sha256", secret, keyId: fingerprint(secret) };
}

/** A new Ed25519 key pair, each half in the base64 form the settings take. */
export function newSigningKeyPair(): { privateKey: string; publicKey: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const seed = (privateKey.export({ format: "der", type: "pkcs8" }) as Buffer).subarray(PKCS8_ED25519.length);
  return { privateKey: seed.toString("base64"), publicKey: rawPublic(publicKey).toString("base64"),
    keyId: fingerprint(rawPublic(publicKey)) };
}

/** The bytes a signature covers: the manifest's JSON in its own key order, without its signature. */
export function signedBytes(manifest: Record<string, unknown>): Buffer {
  const { signature: _, ...rest } = manifest;
  return Buffer.from(JSON.stringify(rest), "utf8");
}

export function signManifest(manifest: Record<string, unknown>, key: SigningKey): ManifestSignature {
  const bytes = signedBytes(manifest);
  const value = key.algorithm === "ed25519" ? sign(null, bytes, key.key) : createHmac("sha256", key.secret).update(bytes).digest();
  return { algorithm: key.algorithm, key_id: key.keyId, value: value.toString("base64") };
}

/**
 * "valid" when one of `keys` made `signature` over this manifest; otherwise why not, in a sentence.
 * A manifest whose signature names a key we do not have is not valid (it may be an attacker's).
 */
export function checkSignature(manifest: Record<string, unknown>, signature: ManifestSignature, keys: VerifyingKey[]): "valid" | string {
  const key = keys.find((k) => k.algorithm === signature.algorithm && k.keyId === signature.key_id);
  if (!key) {
    return `signed with ${signature.algorithm} key ${signature.key_id}, which is not among the verification keys configured (${
      keys.map((k) => k.keyId).join(", ") || "none"
    })`;
  }
  const bytes = signedBytes(manifest);
  const given = Buffer.from(signature.value, "base64");
  const ok = key.algorithm === "ed25519"
    ? verify(null, bytes, key.key, given)
    : given.length === 32 && timingSafeEqual(createHmac("sha256", key.secret).update(bytes).digest(), given);
  return ok ? "valid" : "the signature does not match: the manifest was changed after it was signed";
}
