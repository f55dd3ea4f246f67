// Multipart uploads a killed backup left open: S3 keeps (and bills) their parts, out of every
// listing, until someone aborts them. A backup run of a database, under that database's lock, aborts
// those of its own backups' names that are old enough that no run can still be sending them.
import { parseBackupName, prefixFor } from "../archive/name.ts";
import type { BackupSettings } from "../settings.ts";
import type { OpenUpload, Storage } from "../storage/storage.ts";

export interface AbortedUpload {
  name: string;
  /** When the provider says the upload began (ISO 8601). */
  initiated: string;
}

/** What a sweep did in one storage: what it aborted, what it left, or why it could not look. */
export interface UploadSweep {
  location: string;
  aborted: AbortedUpload[];
  /** Uploads of this database's names begun less than stale_upload_hours ago, left open. */
  recent: number;
  /** Why the sweep did not run (or stopped): the provider refused the listing or an abort. */
  skipped?: string;
}

/**
 * Pure: which open uploads are a killed run's of this database, to abort. Both must hold:
 *
 * - the name parses as a backup archive with this run's prefix (matched literally, a date must
 *   follow the type): never a key that is not one of our archive names (manifests and pins are
 *   never multipart), and never another prefix's, whatever database that is;
 * - it began at least `olderThanMs` ago. The run holds this database's lock, so no other run of
 *   ours is sending to it; but an upload has no manifest to say which database it is of, and
 *   another database, or another installation sharing the bucket, may write under the same prefix
 *   with its own lock. Only age tells that nobody is sending to it any more (see stale_upload_hours
 *   in settings.ts for the default).
 */
export function abandonedUploads(open: readonly OpenUpload[], { prefix, now, olderThanMs }: {
  prefix: string;
  now: Date;
  olderThanMs: number;
}): { abort: OpenUpload[]; recent: OpenUpload[] } {
  const ours = open.filter((upload) => parseBackupName(upload.name, prefix) !== undefined);
  const old = (upload: OpenUpload) => now.getTime() - upload.initiated.getTime() >= olderThanMs;
  return { abort: ours.filter(old), recent: ours.filter((upload) => !old(upload)) };
}

/**
 * Abort the abandoned uploads of `database`'s backups in `storage`, for a caller that holds the
 * database's lock. Never fails: a provider that cannot list or abort them is said in `skipped`
 * (a bucket lifecycle rule that aborts incomplete multipart uploads is the safety net).
 */
export async function abortAbandonedUploads(
  storage: Storage,
  settings: BackupSettings,
  database: string,
  now: Date,
): Promise<UploadSweep | undefined> {
  if (!storage.openUploads || !storage.abortUpload) return undefined;
  const sweep: UploadSweep = { location: storage.location, aborted: [], recent: 0 };
  try {
    const { abort, recent } = abandonedUploads(await storage.openUploads(), {
      prefix: prefixFor(database, settings.prefix),
      now,
      olderThanMs: settings.stale_upload_hours * 3_600_000,
    });
    sweep.recent = recent.length;
    for (const upload of abort) {
      await storage.abortUpload(upload);
      sweep.aborted.push({ name: upload.name, initiated: upload.initiated.toISOString() });
    }
  } catch (error) {
    sweep.skipped = `${(error as Error).message} Unfinished uploads of killed runs were not ${
      sweep.aborted.length === 0 ? "looked for" : "all aborted"
    }; the backup went ahead. A bucket lifecycle rule that aborts incomplete multipart uploads removes them (README: S3 only).`;
  }
  return sweep;
}
