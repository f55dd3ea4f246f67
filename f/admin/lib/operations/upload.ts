// Copies of finished backups off-site (S3): the archive, then its manifest, under the same names,
// so an upload cut short reads there as unfinished. An upload asked for is owed until it succeeds
// (a marker beside the local archive), and the next run that uploads makes good what is owed.
import { pipeline, PassThrough, Transform, type Readable } from "node:stream";
import { storedFile, type Manifest } from "../archive/manifest.ts";
import { manifestNameFor } from "../archive/name.ts";
import { BackupError } from "../errors.ts";
import { megabytesText } from "../size.ts";
import { planRetention } from "../retention/policy.ts";
import { exactName, type Storage, type StoredFile } from "../storage/storage.ts";
import type { BackupSettings } from "../settings.ts";
import { asRetained } from "./cleanup.ts";
import { takeInventory } from "./inventory.ts";

/** A backup written whole to local storage: its name and its manifest. */
export interface FinishedBackup {
  name: string;
  manifest: Manifest;
}

type Progress = (message: string, percent: number) => void;

/**
 * Copy a finished backup to another storage under the same name: the archive, then its manifest,
 * so an interrupted upload reads there as unfinished. A failure fails the job (it throws) and says
 * that the local backup is kept.
 */
async function uploadBackup(
  local: Storage,
  remote: Storage,
  { name, manifest }: FinishedBackup,
  onProgress?: Progress,
): Promise<{ archive: StoredFile; manifest: StoredFile }> {
  const manifestName = manifestNameFor(name);
  const taken = (file: string) => () =>
    new BackupError(`${remote.location}${file} already exists (another copy with the same name); nothing was overwritten.`);
  let archive: StoredFile | undefined;
  try {
    // The file as stored: an encrypted backup goes off-site encrypted, as it is.
    const file = storedFile(manifest);
    const body = withUploadProgress(local.read(name), file.size, (sent) =>
      onProgress?.(`uploaded ${megabytesText(sent)} of ${megabytesText(file.size)} MB to ${remote.location}`,
        95 + Math.floor((sent / Math.max(1, file.size)) * 4)));
    archive = await remote.create(exactName(name, taken(name)), body, { expectedSize: file.size, sha256: file.sha256 });
    return { archive, manifest: await remote.create(exactName(manifestName, taken(manifestName)), local.read(manifestName)) };
  } catch (error) {
    // An archive without its manifest would sit there untrusted: take it back.
    if (archive) await remote.remove(name).catch(() => undefined);
    throw new BackupError(
      `Backup ${name} was written to ${local.location} and is kept there, but uploading it to ${remote.location} failed: ${
        (error as Error).message
      } ` +
        "No retention was applied. Fix the S3 problem; the next backup with upload_to_s3: true uploads this one too.",
      { cause: error },
    );
  }
}

/** `NAME.upload-pending`, beside a local archive whose upload was asked for and has not succeeded yet. */
const PENDING_SUFFIX = ".upload-pending";
export const pendingNameFor = (archive: string) => manifestNameFor(archive).replace(/\.manifest\.json$/, PENDING_SUFFIX);

/**
 * Upload the backup just written. A marker beside it says the upload is owed until it succeeds, so
 * that a failed upload, or a run killed during it, is made good by the next run that uploads.
 */
export async function uploadNewBackup(
  local: Storage,
  remote: Storage,
  backup: FinishedBackup,
  now: Date,
  onProgress?: Progress,
): Promise<{ archive: StoredFile; manifest: StoredFile }> {
  const marker = JSON.stringify({ archive: backup.name, upload_to: remote.location, since: now.toISOString() }) + "\n";
  try {
    await local.create(exactName(pendingNameFor(backup.name), () => new BackupError("an upload marker with this name already exists")),
      PassThrough.from([Buffer.from(marker)]));
  } catch (error) {
    throw new BackupError(
      `Backup ${backup.name} was written to ${local.location} and is kept there, but it was not uploaded to ${remote.location}: ` +
        `the marker that would let the next run upload it could not be written (${
          (error as Error).message
        }). Free space there, then run the backup with upload_to_s3: true again.`,
      { cause: error },
    );
  }
  const copy = await uploadBackup(local, remote, backup, onProgress);
  await local.remove(pendingNameFor(backup.name)).catch(() => undefined);
  return copy;
}

/**
 * Earlier backups of `database` whose upload is still owed (a marker beside the local archive),
 * uploaded now, except those retention would delete there at once. Returns the names uploaded.
 */
export async function uploadPending(
  local: Storage,
  remote: Storage,
  settings: BackupSettings,
  database: string,
  now: Date,
): Promise<string[]> {
  const files = (await local.list()).files.map((f) => f.name);
  const markers = new Set(files.filter((name) => name.endsWith(PENDING_SUFFIX)));
  if (markers.size === 0) return [];
  const localBackups = (await takeInventory(local)).backups;
  const pending = localBackups.filter((b) =>
    b.database === database && b.manifest !== undefined && b.problem === undefined && markers.has(pendingNameFor(b.name))
  );
  // A marker whose archive is gone (retention, a person) or damaged: nothing is left to upload.
  const orphans = [...markers].filter((marker) =>
    !localBackups.some((b) => pendingNameFor(b.name) === marker && (b.database !== database || pending.includes(b)))
  );
  for (const marker of orphans) await local.remove(marker).catch(() => undefined);
  if (pending.length === 0) return [];
  const there = await takeInventory(remote);
  const remoteCopy = new Map(there.backups.map((b) => [b.name, b]));
  const names = new Set(pending.map((b) => b.name));
  const plan = planRetention({
    backups: [...there.backups.filter((b) => !names.has(b.name)), ...pending].map(asRetained),
    now,
    policy: settings.retention,
    timeZone: settings.time_zone,
    database,
  });
  const kept = new Set(plan.keep.map((d) => d.name));
  const uploaded: string[] = [];
  for (const backup of pending.reverse()) {
    const copy = remoteCopy.get(backup.name);
    if (kept.has(backup.name) && copy?.manifest === undefined) {
      // Our own upload of this very backup, cut short before its manifest: replace it whole. Anything
      // else under that name (a damaged manifest, another database's) is left for a person.
      if (copy !== undefined && (!copy.unfinished || copy.database !== database)) continue;
      if (copy !== undefined) await remote.remove(backup.name);
      await uploadBackup(local, remote, { name: backup.name, manifest: backup.manifest! });
      uploaded.push(backup.name);
    }
    await local.remove(pendingNameFor(backup.name));
  }
  return uploaded;
}

/** The same bytes, reporting how many have gone by at every twentieth of `total`. */
function withUploadProgress(source: Readable, total: number, report: (sent: number) => void): Readable {
  let sent = 0;
  let reported = -1;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.length;
      const step = Math.floor((sent / Math.max(1, total)) * 20);
      if (step !== reported) {
        reported = step;
        report(sent);
      }
      callback(null, chunk);
    },
  });
  // pipeline hands a read error on to the counter, so the upload fails instead of waiting.
  pipeline(source, counter, () => undefined);
  return counter;
}
