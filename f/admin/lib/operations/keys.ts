// The keys of encryption and signing, from the settings (public keys, and the paths of the secret
// variables that hold the rest) and a reader of secrets the caller supplies (Windmill's variables,
// or files for the rescue tool). Each secret is read only when an archive needs it, so the worker
// that backs up never asks for the private key that restores need. Error messages name settings
// and variables, never their values.
import type { Opening, Sealing } from "../crypto/age-file.ts";
import { ed25519PrivateKey, ed25519PublicKey, hmacSecret, SignatureError, type SigningKey, type VerifyingKey } from "../crypto/signing.ts";
import type { ArchiveKeys } from "../archive/reader.ts";
import { BackupError } from "../errors.ts";
import type { BackupSettings } from "../settings.ts";

/** Reads one secret variable; throws a BackupError (naming the path) when it cannot. */
export type ReadSecret = (path: string, purpose: string) => Promise<string>;

/** How new backups are encrypted, as the manifest records it (public keys only). */
export interface BackupSealing {
  sealing: Sealing;
  method: "age-x25519" | "age-scrypt";
  recipients: string[];
}

export interface Keyring extends ArchiveKeys {
  /** How new backups are encrypted; undefined when encryption is off. */
  sealing(): Promise<BackupSealing | undefined>;
  /** The key new manifests are signed with; undefined when signing is off. */
  signingKey(): Promise<SigningKey | undefined>;
}

/** The identities of an age identity file (what age-keygen writes: comments, then AGE-SECRET-KEY-1… lines). */
export function identitiesIn(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.startsWith("AGE-SECRET-KEY-"));
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

export function keyringFor(settings: Pick<BackupSettings, "encryption" | "signing">, readSecret: ReadSecret): Keyring {
  const { encryption, signing } = settings;
  const secret = (field: string, path: string) => readSecret(path, `${field} in the backup settings`);
  const signingError = (field: string, error: unknown) =>
    new BackupError(`The key in ${field} of the backup settings cannot be used: ${(error as Error).message}.`, { cause: error });

  const sealing = once(async (): Promise<BackupSealing | undefined> => {
    if (!encryption) return undefined;
    if (encryption.recipients.length > 0) {
      return { sealing: { recipients: encryption.recipients }, method: "age-x25519", recipients: encryption.recipients };
    }
    const passphrase = await secret("encryption.passphrase_variable", encryption.passphrase_variable!);
    if (passphrase.length < 16) {
      throw new BackupError(
        `The passphrase in variable ${encryption.passphrase_variable} (encryption.passphrase_variable) is shorter than 16 characters: ` +
          "use a long random one (or X25519 recipients from age-keygen). Nothing was written.",
      );
    }
    return { sealing: { passphrase }, method: "age-scrypt", recipients: [] };
  });

  const signingKey = once(async (): Promise<SigningKey | undefined> => {
    if (signing?.private_key_variable) {
      const text = await secret("signing.private_key_variable", signing.private_key_variable);
      try {
        return ed25519PrivateKey(text);
      } catch (error) {
        throw signingError("signing.private_key_variable", error);
      }
    }
    if (signing?.hmac_secret_variable) {
      const text = await secret("signing.hmac_secret_variable", signing.hmac_secret_variable);
      try {
        return hmacSecret(text);
      } catch (error) {
        throw signingError("signing.hmac_secret_variable", error);
      }
    }
    return undefined;
  });

  const verifying = once(async (): Promise<VerifyingKey[]> => {
    if (!signing) return [];
    const keys: VerifyingKey[] = [];
    for (const text of signing.public_keys) {
      try {
        keys.push(ed25519PublicKey(text));
      } catch (error) {
        if (error instanceof SignatureError) throw signingError("signing.public_keys", error);
        throw error;
      }
    }
    if (signing.hmac_secret_variable) {
      const text = await secret("signing.hmac_secret_variable", signing.hmac_secret_variable);
      try {
        keys.push(hmacSecret(text));
      } catch (error) {
        throw signingError("signing.hmac_secret_variable", error);
      }
    }
    // Only the private key configured: where it is, its public half verifies too.
    if (keys.length === 0 && signing.private_key_variable) {
      const key = await signingKey();
      if (key?.algorithm === "ed25519") keys.push(ed25519PublicKey(key.key.export({ format: "pem", type: "spki" }).toString()));
    }
    return keys;
  });

  const sources = [
    ...(encryption?.identities_variable ? [`encryption.identities_variable (${encryption.identities_variable})`] : []),
    ...(encryption?.passphrase_variable ? [`encryption.passphrase_variable (${encryption.passphrase_variable})`] : []),
  ];
  const opening = once(async (): Promise<Opening> => {
    if (sources.length === 0) {
      throw new BackupError(
        "The archive is encrypted, and the backup settings name no key to open it: set encryption.identities_variable in " +
          "f/admin/backup_settings to the path of a secret variable holding the age identity (AGE-SECRET-KEY-1…, the private key " +
          "of a recipient the backup was encrypted to), or encryption.passphrase_variable for a passphrase. Nothing was restored or changed.",
      );
    }
    const identities = encryption?.identities_variable
      ? identitiesIn(await secret("encryption.identities_variable", encryption.identities_variable))
      : [];
    if (encryption?.identities_variable && identities.length === 0) {
      throw new BackupError(
        `Variable ${encryption.identities_variable} (encryption.identities_variable) holds no age identity: it must hold ` +
          "the AGE-SECRET-KEY-1… line that age-keygen writes. Nothing was restored or changed.",
      );
    }
    const passphrases = encryption?.passphrase_variable
      ? [await secret("encryption.passphrase_variable", encryption.passphrase_variable)]
      : [];
    return { identities, passphrases };
  });

  return {
    sealing,
    signingKey,
    verifying,
    opening,
    requireSignature: signing?.require_signature ??
      (signing !== undefined && (signing.public_keys.length > 0 || !!signing.private_key_variable || !!signing.hmac_secret_variable)),
    openingSource: sources.join(" and ") || "none configured",
  };
}
