// A backup from start to finish: lock, check the free space, dump into a new archive under a name
// that is never reused, write the manifest last, upload both off-site when asked, then (only after
// all that succeeded) apply retention to each storage. Also the preview a dry run shows, which reads
// the catalog and writes nothing.
import { PassThrough } from "node:stream";
import type pg from "pg";
import { MANIFEST_FORMAT, MANIFEST_VERSION, manifestText, parseManifest, type Manifest } from "../archive/manifest.ts";
import { backupNameCandidates, decryptedNameFor, localTimeLabel, manifestNameFor, prefixFor, type BackupType } from "../archive/name.ts";
import { ArchiveWriter, sealArchive } from "../archive/writer.ts";
import { BackupError } from "../errors.ts";
import { connect, withConnection, type DatabaseTarget } from "../engine/connection.ts";
import { DIGEST_ALGORITHM } from "../engine/digest.ts";
import { CopyInterruptedError } from "../engine/copy-out.ts";
import { dumpDatabase, previewDump, tableDataBytes, type DumpedTable, type DumpPreview } from "../engine/dump.ts";
import { withLock } from "../engine/lock.ts";
import { schemaFingerprint } from "../engine/schema-watch.ts";
import { describeLockHolders } from "../engine/sessions.ts";
import { isLockTimeout } from "../engine/sql.ts";
import { setLockTimeout } from "../engine/session.ts";
import { exactName, type Storage, type StoredFile } from "../storage/storage.ts";
import { TOOL } from "../version.ts";
import { schemaOptions, type BackupSettings } from "../settings.ts";
import { applyRetention, type CleanupOutcome } from "./cleanup.ts";
import { checkFreeSpace } from "./free-space.ts";
import type { Keyring } from "./keys.ts";
import { abortAbandonedUploads, type UploadSweep } from "./unfinished-uploads.ts";
import { uploadNewBackup, uploadPending } from "./upload.ts";

export interface BackupRequest {
  database: DatabaseTarget;
  settings: BackupSettings;
  storage: Storage;
  type: BackupType;
  /** Skip taking the lock: the caller (a restore taking its pre-restore backup) holds it. */
  lockHeld?: boolean;
  /** Apply the retention policy after the backup succeeded (to the off-site copies too). */
  cleanup?: boolean;
  /** Also upload the finished archive and manifest here (S3). */
  offsite?: Storage;
  /** Encryption and signing, when the settings configure them (a pre-restore backup takes the same). */
  keys?: Keyring;
  now?: () => Date;
  onProgress?: (message: string, percent: number) => void;
}

export interface OffsiteCopy {
  location: string;
  archive: StoredFile;
  manifest: StoredFile;
  /** Earlier backups kept locally that a failed upload had left out, uploaded by this run. */
  caughtUp: string[];
  /** Retention on this storage, or why it was skipped (the backup and its upload still succeeded). */
  cleanup?: CleanupOutcome | Skipped;
}

/** Retention that could not run after a good backup: why, and that it runs again next time. */
export interface Skipped {
  skipped: string;
}

export interface BackupOutcome {
  name: string;
  location: string;
  manifest: Manifest;
  cleanup?: CleanupOutcome | Skipped;
  offsite?: OffsiteCopy;
  /** Open uploads of killed runs aborted in the storage that keeps them (S3), or why not. */
  uploadSweep?: UploadSweep;
}

/**
 * Write a backup, upload it when asked, then (when asked, and only after both succeeded) apply
 * retention to each storage over its own listing, all under the bundle's lock on the database.
 * Once the new backup is safe in both places, what follows (uploading earlier backups a failed
 * upload left out, retention off-site) cannot fail the job: the result says what was skipped.
 */
export async function createBackup(request: BackupRequest): Promise<BackupOutcome> {
  const clock = request.now ?? (() => new Date());
  const run = async (): Promise<BackupOutcome> => {
    // First, so that a backup killed at the same point every night cannot pile up uploads: this run
    // holds the lock, so no run of ours is sending to them. The storage that keeps open uploads is
    // S3: the backup's own with local_copy: false, else the upload's.
    const remote = [request.offsite, request.storage].find((storage) => storage?.openUploads !== undefined);
    const uploadSweep = remote &&
      await abortAbandonedUploads(remote, request.settings, request.database.dbname, clock());
    const outcome = { ...await writeBackup(request), uploadSweep };
    const database = outcome.manifest.database;
    const now = clock();
    const what = request.offsite ? "The backup and its upload succeeded" : "The backup succeeded";
    const skipped = (storage: Storage, error: unknown): Skipped => ({
      skipped: `${(error as Error).message} ${what}; retention in ${storage.location} was skipped and runs again with the next backup.`,
    });
    const retention = async (storage: Storage) =>
      request.cleanup
        ? await applyRetention(storage, request.settings, database, now, true).catch((error: unknown) => skipped(storage, error))
        : undefined;
    if (!request.offsite) return { ...outcome, cleanup: await retention(request.storage) };
    const uploaded = await uploadNewBackup(request.storage, request.offsite, outcome, now, request.onProgress);
    const offsite: OffsiteCopy = { location: request.offsite.location, ...uploaded, caughtUp: [] };
    try {
      // Before local retention, so that a backup only this disk holds is copied before it can go.
      offsite.caughtUp = await uploadPending(request.storage, request.offsite, request.settings, database, now);
    } catch (error) {
      offsite.cleanup = skipped(request.offsite, error);
    }
    const cleanup = await retention(request.storage);
    if (offsite.cleanup === undefined) offsite.cleanup = await retention(request.offsite);
    return { ...outcome, cleanup, offsite };
  };
  return request.lockHeld
    ? await run()
    : await withLock(request.database, `${request.type} backup`, request.settings.lock_wait_seconds * 1000, run);
}

/** The backup's own wait for any lock (lock_timeout_seconds), in milliseconds. */
const lockTimeoutMs = (settings: BackupSettings) => Math.max(1, Math.round(settings.lock_timeout_seconds * 1000));

/** How many times a backup starts over when the schema changed while it was read. */
const SCHEMA_ATTEMPTS = 3;

/** The schema changed while the backup read it: the archive could mix two versions of it. */
class SchemaChangedError extends Error {}

/**
 * Dump into a new archive; when the schema changed while it was read (a migration committing at
 * that moment), throw that attempt away and start over, a few times.
 */
async function writeBackup(request: BackupRequest): Promise<BackupOutcome> {
  for (let attempt = 1;; attempt++) {
    try {
      return await writeBackupOnce(request);
    } catch (error) {
      if (!(error instanceof SchemaChangedError)) throw error;
      if (attempt >= SCHEMA_ATTEMPTS) {
        throw new BackupError(
          `${backupLabel(request.type)} gave up: the schema of database ${
            JSON.stringify(request.database.dbname)
          } changed while the backup ` +
            `read it, ${SCHEMA_ATTEMPTS} times in a row (a migration running?), so an archive could have mixed two versions of it. ` +
            "Nothing was kept; earlier backups are untouched. Run the backup again once the schema changes are done.",
          { cause: error },
        );
      }
      request.onProgress?.(`the schema changed while it was read (attempt ${attempt}); starting over`, 0);
    }
  }
}

const backupLabel = (type: BackupType) =>
  type === "pre_restore" ? "The pre-restore backup (so the restore did not start: the database is unchanged)" : `The ${type} backup`;

/**
 * One attempt, on a connection of its own. Every statement on it, from the first, waits at most
 * lock_timeout_seconds for a lock; giving up names the sessions that held it. A connection the
 * server closes (a restart, a crash, the network) is said in those words, with where the dump was.
 * A second connection watches the schema: its fingerprint before the snapshot and once the schema
 * is read must be equal.
 */
async function writeBackupOnce(request: BackupRequest): Promise<BackupOutcome> {
  const { database, settings, type } = request;
  const what = backupLabel(type);
  const stage: DumpStage = { doing: "connecting" };
  const client = await connect(database, `windmill-pg-backup: ${type} backup`);
  let watch: pg.Client | undefined;
  try {
    watch = await connect(database, `windmill-pg-backup: ${type} backup (schema watch)`);
    for (const session of [client, watch]) await setLockTimeout(session, lockTimeoutMs(settings));
    const before = await schemaFingerprint(watch);
    stage.schemaUnchanged = async () => {
      if ((await schemaFingerprint(watch!)) !== before) throw new SchemaChangedError("the schema changed while the backup read it");
    };
    return await dumpToStorage(client, request, stage);
  } catch (error) {
    const lost = connectionLost(error);
    if (lost) {
      const where = lost instanceof CopyInterruptedError ? `copying table ${lost.table}` : stage.doing;
      throw new BackupError(
        `${what} stopped: PostgreSQL closed the connection while the backup was ${where} (${
          (lost instanceof CopyInterruptedError ? lost.reason : lost).message
        }). ` +
          "Nothing was kept (no archive, no manifest); earlier backups are untouched. Check that the server is up (a restart, a crash " +
          "or a failover ends every session), then run the backup again.",
        { cause: error },
      );
    }
    // A definition that vanished under the schema read fails in many ways (a missing row, a null
    // definition): when the schema changed meanwhile, that is the cause, and a new attempt the cure.
    if (!(error instanceof SchemaChangedError) && stage.doing === "reading the schema" && stage.schemaUnchanged) {
      await stage.schemaUnchanged().catch((changed: unknown) => {
        if (changed instanceof SchemaChangedError) throw new SchemaChangedError(changed.message, { cause: error });
      });
    }
    if (!isLockTimeout(error)) throw error;
    const holders = await describeLockHolders(database, (client as unknown as { processID: number }).processID, ["AccessExclusiveLock"]);
    throw new BackupError(
      `${what} gave up after waiting ${settings.lock_timeout_seconds} s for a lock on database ${JSON.stringify(database.dbname)} ` +
        `(${(error as Error).message}): ${holders}. Nothing was written; earlier backups are untouched. Run it again once that ` +
        "session has finished (a migration, a long ALTER), or end it; lock_timeout_seconds in f/admin/backup_settings sets the wait.",
      { cause: error },
    );
  } finally {
    await watch?.end().catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** What the dump was doing, for an error that interrupts it; and the check that the schema held still. */
interface DumpStage {
  doing: string;
  schemaUnchanged?: () => Promise<void>;
}

/** A remote storage that gave up on an archive streamed to it; not to be mistaken for PostgreSQL's connection ending. */
class NotStoredError extends BackupError {}

/** A storage's failure to store the archive, as the job reports it: for S3, that the upload was aborted. */
function notStored(storage: Storage, type: BackupType, error: unknown): unknown {
  if (storage.features.cheapRereads) return error;
  return new NotStoredError(
    `${backupLabel(type)} was not stored: ${(error as Error).message} The upload was aborted, so nothing is left in ${storage.location} ` +
      "under its name (no archive, no manifest); earlier backups are untouched. Run the backup again once that is fixed.",
    { cause: error },
  );
}

/** Whether `error` is `cause` or was caused by it (a storage that failed because the dump did). */
function causedBy(error: unknown, cause: unknown): boolean {
  for (let e = error as { cause?: unknown } | undefined; e; e = e.cause as typeof e) if (e === cause) return true;
  return false;
}

/** The error (or one of its causes) that says the server ended the session, if any. */
function connectionLost(error: unknown): Error | undefined {
  for (let e = error as { code?: string; message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    // S3's connection reset is not PostgreSQL's.
    if (e instanceof NotStoredError) return undefined;
    if (e instanceof CopyInterruptedError) return e;
    if (["57P01", "57P02", "57P03", "ECONNRESET", "EPIPE"].includes(e.code ?? "")) return e as Error;
    if (/^Connection terminated unexpectedly$|encountered a connection error and is not queryable/.test(e.message ?? "")) return e as Error;
  }
  return undefined;
}

async function dumpToStorage(
  client: pg.Client,
  { database, settings, storage, offsite, type, keys, now = () => new Date(), onProgress }: BackupRequest,
  stage: DumpStage,
): Promise<BackupOutcome> {
  const startedAt = now();
  stage.doing = "reading the encryption and signing keys";
  // Before anything is written: a key that cannot be read fails the backup with nothing left behind.
  const sealing = await keys?.sealing();
  const signingKey = await keys?.signingKey();
  stage.doing = "checking the free space and the names in use";
  const body = new PassThrough();
  // A compression this runtime cannot write (zstd under Node 20) is refused here, before anything is written.
  const writer = new ArchiveWriter(body, settings.compression, settings.compression_level);
  const free = settings.archive_size_ratio > 0 && storage.features.freeSpace ? await storage.freeBytes() : undefined;
  if (free !== undefined) {
    checkFreeSpace({ tableBytes: await tableDataBytes(client), ratio: settings.archive_size_ratio, freeBytes: free,
      location: storage.location });
  }
  // The name must be free where the backup goes: locally, and off-site when it is uploaded (a
  // local file deleted by hand must not lead to a name that S3 still holds). S3 out of reach must
  // not cost the local backup: the upload, later, says what is wrong with it.
  const listed = [...(await storage.list()).files, ...(offsite ? await offsite.list().then((l) => l.files, () => []) : [])];
  const existing = new Set(listed.map((f) => f.name));
  const candidates = backupNameCandidates({ prefix: prefixFor(database.dbname, settings.prefix), type, at: startedAt,
    timeZone: settings.time_zone, encrypted: sealing !== undefined, compression: settings.compression });
  const sealed = sealing ? await sealArchive(body, sealing.sealing) : undefined;
  const stored = storage.create(freeNames(candidates, existing), sealed?.body ?? body);
  // The storage may fail while the dump is still running (a full disk): observe the rejection now,
  // the dump then fails on the destroyed stream and the error is rethrown below.
  stored.catch(() => undefined);
  let dump;
  let summary;
  try {
    stage.doing = "reading the schema";
    dump = await dumpDatabase(client, writer, {
      ...schemaOptions(settings.dump, settings.lock_timeout_seconds),
      schemaRead: async () => {
        await stage.schemaUnchanged?.();
        stage.doing = "copying the tables";
      },
      onTable: (table, index, total) => {
        stage.doing = index + 1 < total
          ? `between tables (${index + 1} of ${total} copied, the last ${table.schema}.${table.name})`
          : "writing the sequence values, indexes and constraints after the tables";
        onProgress?.(`dumped ${table.schema}.${table.name}: ${table.rows} rows`, Math.round(((index + 1) / total) * 90));
      },
    });
    summary = writer.finish();
  } catch (error) {
    body.destroy(error as Error);
    // When the storage failed first (a full disk, S3 refusing a part), its error says what
    // happened; the dump's own error is then only the aborted stream. Waiting for it also waits
    // for an upload to be aborted, so that nothing is left under the name when the job ends.
    const storageError = await stored.then(() => undefined, (failure: unknown) => failure);
    if (storageError === undefined || causedBy(storageError, error)) throw error;
    throw notStored(storage, type, storageError);
  }
  // The last parts of a streamed upload are still on their way when the dump ends.
  const file = await stored.catch((error: unknown) => {
    throw notStored(storage, type, error);
  });
  const encrypted = sealed && sealing ? { ...sealed.file(), name: file.name } : undefined;
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    format_version: MANIFEST_VERSION,
    tool: { ...TOOL },
    backup_type: type,
    created_at: startedAt.toISOString(),
    created_at_local: localTimeLabel(startedAt, settings.time_zone),
    time_zone: settings.time_zone,
    duration_ms: now().getTime() - startedAt.getTime(),
    database: dump.database,
    server: dump.server,
    archive: {
      name: encrypted ? decryptedNameFor(file.name) : file.name,
      size: summary.size,
      sha256: summary.sha256,
      compression: settings.compression,
      ...(encrypted && sealing ? { encryption: { method: sealing.method, recipients: sealing.recipients, file: encrypted } } : {}),
    },
    sections: dump.sections,
    digest_algorithm: DIGEST_ALGORITHM,
    tables: dump.tables,
    objects: dump.objects,
    extensions: dump.extensions,
    scope: settings.dump,
    skipped: dump.skipped,
    ...(dump.warnings.length === 0 ? {} : { warnings: dump.warnings }),
    ...(dump.database_access === undefined ? {} : { database_access: dump.database_access }),
    totals: totals(dump.tables),
    privileges: settings.dump.privileges,
    roles: dump.roles,
  };
  const written = encrypted?.size ?? summary.size;
  if (file.size !== written) {
    await storage.remove(file.name).catch(() => undefined);
    throw new BackupError(
      `Archive ${file.name} was stored with ${file.size} bytes but ${written} were written: the disk or storage lost data. Nothing was kept; check free space and retry.`,
    );
  }
  let sealedManifest: Manifest;
  try {
    const text = manifestText(manifest, signingKey);
    // As a reader will see it: with its own digest and its signature.
    sealedManifest = parseManifest(text, manifestNameFor(file.name));
    const taken = () =>
      new BackupError(
        `A manifest named ${manifestNameFor(file.name)} already exists in ${storage.location} without its archive; move it away and retry.`,
      );
    await storage.create(exactName(manifestNameFor(file.name), taken), PassThrough.from([Buffer.from(text)]) as PassThrough);
  } catch (error) {
    // An archive without its manifest is an unfinished backup: do not leave it looking like one.
    await storage.remove(file.name).catch(() => undefined);
    throw error;
  }
  onProgress?.(`backup ${file.name} written`, 95);
  return { name: file.name, location: storage.location, manifest: sealedManifest };
}

/**
 * Candidate names that are free, and whose manifest name is free too: a manifest left behind by a
 * deleted archive must not block, or be mistaken for, the manifest of a new backup.
 */
function freeNames(candidates: (attempt: number) => string, existing: Set<string>): (attempt: number) => string {
  const free: string[] = [];
  let next = 0;
  return (attempt) => {
    while (free.length <= attempt) {
      const name = candidates(next++);
      if (!existing.has(name) && !existing.has(manifestNameFor(name))) free.push(name);
    }
    return free[attempt]!;
  };
}

function totals(tables: DumpedTable[]): Manifest["totals"] {
  return {
    tables: tables.length,
    rows: tables.reduce((sum, t) => sum + t.rows, 0),
    data_bytes: tables.reduce((sum, t) => sum + t.bytes, 0),
  };
}

/** What a backup would dump, read inside the same kind of snapshot, with estimated row counts. */
export async function previewBackup(database: DatabaseTarget, settings: BackupSettings): Promise<DumpPreview> {
  return await withConnection(database, "windmill-pg-backup: backup preview", async (client) => {
    await setLockTimeout(client, lockTimeoutMs(settings));
    return await previewDump(client, schemaOptions(settings.dump, settings.lock_timeout_seconds));
  });
}
