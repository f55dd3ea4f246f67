// Where a script finds the backups: the volume at backup_dir, or, with local_copy: false, the S3
// bucket alone. One home for that choice, so that every script reads backups where backup_database
// wrote them, and says the same thing when the bucket is missing.
import { BackupError } from "../errors.ts";
import type { BackupSettings } from "../settings.ts";
import { LocalStorage, type LocalStorageOptions } from "../storage/local.ts";
import { S3Storage } from "../storage/s3.ts";
import type { Storage } from "../storage/storage.ts";
import { loadS3Config } from "./resources.ts";

/** The S3 storage an S3-only setup keeps its backups in; its error says why it is needed and what to do. */
export async function s3OnlyStorage(settingsResource: string, s3Resource: string): Promise<S3Storage> {
  try {
    return new S3Storage(await loadS3Config(s3Resource));
  } catch (error) {
    throw new BackupError(
      `local_copy: false in ${settingsResource} keeps backups in S3 only, so the S3 resource is needed, but: ${(error as Error).message} ` +
        `Nothing was read or written. Create or fix ${s3Resource}, or set local_copy: true (backups on the worker's volume at backup_dir).`,
      { cause: error },
    );
  }
}

/** The storage that holds this setup's backups: S3 when local_copy is false, else backup_dir. */
export async function backupStorage(
  settings: BackupSettings,
  resources: { settings: string; s3: string },
  local: LocalStorageOptions,
): Promise<Storage> {
  return settings.local_copy ? new LocalStorage(settings.backup_dir, local) : await s3OnlyStorage(resources.settings, resources.s3);
}
