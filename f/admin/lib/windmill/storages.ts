// Where a script finds the backups: the volume at backup_dir, or, with local_copy: false, the S3
// bucket alone. One home for that choice, so that every script reads backups where backup_database
// wrote them, and says the same thing when the bucket is missing.
import { BackupError } from "../errors.ts";
import type { BackupSettings } from "../settings.ts";
import { LocalStorage, type LocalStorageOptions } from "../storage/local.ts";
import { S3Storage } from "../storage/s3.ts";
import type { Storage } from "../storage/storage.ts";
import { loadOptionalS3Config, loadS3Config } from "./resources.ts";

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

/**
 * The storages a script that works on `location` copies reaches, as its `location` argument says:
 * "local" backup_dir, "s3" the bucket (which must be configured), "all" both (the bucket when it is
 * configured). With local_copy: false the bucket is the only place, and "local" is refused.
 */
export async function storagesAt(
  location: "all" | "local" | "s3",
  settings: BackupSettings,
  resources: { settings: string; s3: string },
  local: LocalStorageOptions,
): Promise<{ local?: Storage; s3?: Storage }> {
  if (!settings.local_copy) {
    if (location === "local") {
      throw new BackupError(
        `location: "local" asks for local copies, but local_copy: false in ${resources.settings} keeps backups in S3 only. ` +
          'Run with location: "s3" or "all".',
      );
    }
    return { s3: await s3OnlyStorage(resources.settings, resources.s3) };
  }
  const places: { local?: Storage; s3?: Storage } = location === "s3" ? {} : { local: new LocalStorage(settings.backup_dir, local) };
  const s3 = location === "s3"
    ? await loadS3Config(resources.s3)
    : location === "all"
    ? await loadOptionalS3Config(resources.s3)
    : undefined;
  if (s3) places.s3 = new S3Storage(s3);
  return places;
}
