// Judging one stored copy of a backup without restoring it: the manifest (present, whole, signed by
// a configured key), the stored file's sha256, and (in full) every member decrypted, decompressed and
// proven to its end. What list_backups shows, and the first half of what verify_backup checks.
import { describeSignature, signatureStatus } from "../archive/manifest.ts";
import { authenticate, checkArchive, checkArchiveReadable } from "../archive/reader.ts";
import { BackupError } from "../errors.ts";
import type { Storage } from "../storage/storage.ts";
import type { StoredBackup } from "./inventory.ts";
import type { Keyring } from "./keys.ts";

/** How far a check goes: the listing and signature only, the stored file's sha256 too, or every member to its end. */
export type CheckDepth = "listing" | "checksum" | "full";

export interface CopyJudgement {
  ok: boolean;
  /** `valid (ed25519 key sha256:…)`, `unsigned`, `INVALID: …`, `not checked: …`. */
  signature: string;
  /** What was found, in a sentence: `yes: …` or `no: …`. */
  verdict: string;
}

/** The signature in words; never throws (a key that cannot be read is said instead). */
async function signatureWords(backup: StoredBackup, keys: Keyring): Promise<string> {
  const manifest = backup.manifest!;
  try {
    return describeSignature(signatureStatus(manifest, manifest.signature ? await keys.verifying() : []));
  } catch (error) {
    if (error instanceof BackupError) return `not checked: ${error.message}`;
    throw error;
  }
}

/** Judge one stored copy; problems become a `no: …` verdict, never an exception (other errors propagate). */
export async function judgeCopy(storage: Storage, backup: StoredBackup, keys: Keyring, depth: CheckDepth): Promise<CopyJudgement> {
  if (!backup.manifest || backup.problem) return { ok: false, signature: "no manifest", verdict: `no: ${backup.problem}` };
  const manifest = backup.manifest;
  const signature = await signatureWords(backup, keys);
  try {
    await authenticate(storage, manifest, keys);
    if (depth === "listing") {
      return { ok: true, signature, verdict: "size matches manifest (checksum not read; verify_checksums: true reads it)" };
    }
    const encrypted = manifest.archive.encryption !== undefined;
    await checkArchive(storage, manifest);
    const whole = encrypted ? "sha256 of the encrypted file matches manifest" : "sha256 matches manifest";
    if (depth === "checksum") return { ok: true, signature, verdict: `yes: ${whole}` };
    const { decompressed_bytes } = await checkArchiveReadable(storage, manifest, keys);
    return {
      ok: true,
      signature,
      verdict: `yes: ${whole}; ${encrypted ? "decrypted with the configured key, every chunk authenticated; " : ""}` +
        `every member read to its end and matches its sha256 (${decompressed_bytes} bytes of SQL)`,
    };
  } catch (error) {
    if (error instanceof BackupError) return { ok: false, signature, verdict: `no: ${error.message}` };
    throw error;
  }
}
