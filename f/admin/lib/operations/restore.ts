// A restore from start to finish: refuse unless confirmed, check the archive against its manifest,
// take the pre-restore backup under the same lock, then replace the target's objects in ONE
// transaction that commits only when every table's rows and digest match the manifest. A local
// archive is checked before anything is touched; a remote one (S3) is streamed once and its sha256,
// taken on the way, is checked before COMMIT.
import { type Manifest } from "../archive/manifest.ts";
import { checkArchive } from "../archive/reader.ts";
import { ArchiveIntegrityError, BackupError, RestoreRefusedError } from "../errors.ts";
import { connect, type DatabaseTarget } from "../engine/connection.ts";
import type { ObjectRef } from "../engine/model.ts";
import { quoteIdent, quoteLiteral } from "../engine/quote.ts";
import { applyArchive, clearOwnObjects, verifyTables, type TableCheck } from "../engine/restore.ts";
import { pinSettings } from "../engine/session.ts";
import { HashingStorage } from "../storage/hashing.ts";
import type { Storage } from "../storage/storage.ts";
import type { BackupSettings } from "../windmill/resources.ts";
import { withLock } from "../engine/lock.ts";
import { createBackup } from "./backup.ts";
import { findBackup } from "./inventory.ts";

export interface RestoreRequest {
  database: DatabaseTarget;
  settings: BackupSettings;
  /** Where the pre-restore backup is written (the local backup volume). */
  storage: Storage;
  /** Where the backup to restore is; default `storage`. */
  source?: Storage;
  backupName: string;
  confirm: boolean;
  createPreRestoreBackup: boolean;
  /** Restore into this database instead of the resource's; created when missing. */
  targetDatabase?: string;
  onProgress?: (message: string, percent: number) => void;
}

export interface RestoreOutcome {
  backup: string;
  target_database: string;
  created_database: boolean;
  pre_restore_backup: string | null;
  pre_restore_note: string;
  dropped_objects: ObjectRef[];
  verification: { passed: boolean; tables: TableCheck[] };
  manifest: Manifest;
}

export async function restoreBackup(request: RestoreRequest): Promise<RestoreOutcome> {
  const { database, settings, storage, backupName } = request;
  const target = request.targetDatabase ?? database.dbname;
  if (!request.confirm) {
    throw new RestoreRefusedError(
      `Restore refused: restoring ${backupName} replaces every table, view and function of database ${JSON.stringify(target)}. ` +
        "Nothing was changed. Run again with confirm_restore: true to proceed.",
    );
  }
  const source = request.source ?? storage;
  const backup = await findBackup(source, settings.prefix, backupName);
  if (!backup.manifest || backup.problem) {
    throw new RestoreRefusedError(`Restore refused: backup ${backupName} in ${source.location} cannot be trusted (${backup.problem}). Nothing was changed; pick another backup.`);
  }
  const manifest = backup.manifest;
  const { reader, verify } = archiveCheck(source, manifest);
  if (source.kind === "local") {
    request.onProgress?.(`checking ${backupName} against its manifest`, 2);
    await checkArchive(source, manifest);
  }

  const created = target !== database.dbname && (await ensureDatabase(database, target, manifest));
  const targetDb: DatabaseTarget = { ...database, dbname: target };
  try {
    return await withLock(targetDb, "restore", settings.lock_wait_seconds * 1000, async () => {
      let preRestore: string | null = null;
      let note = "not requested";
      if (created) {
        note = "not taken: the target database was created by this restore";
      } else if (request.createPreRestoreBackup) {
        request.onProgress?.("taking the pre-restore backup", 5);
        const taken = await createBackup({ database: targetDb, settings, storage, type: "pre_restore", lockHeld: true });
        preRestore = taken.name;
        note = `restore this backup to roll back (${taken.manifest.totals.tables} tables, ${taken.manifest.totals.rows} rows)`;
      }
      const { dropped, checks } = await replaceContents(targetDb, reader, manifest, settings, verify, request.onProgress);
      return {
        backup: backupName, target_database: target, created_database: created,
        pre_restore_backup: preRestore, pre_restore_note: note,
        dropped_objects: dropped, verification: { passed: true, tables: checks }, manifest,
      };
    });
  } catch (error) {
    if (created) await dropDatabase(database, target);
    throw error;
  }
}

/**
 * How the archive is read and what is checked before COMMIT. Local: read directly (it was checked
 * whole beforehand). Remote: read through a hashing view; before COMMIT its sha256 must match the
 * manifest's, or, if the reads did not cover the file in order, the archive is read once more.
 */
function archiveCheck(source: Storage, manifest: Manifest): { reader: Storage; verify: () => Promise<void> } {
  if (source.kind === "local") return { reader: source, verify: async () => undefined };
  const hashing = new HashingStorage(source, manifest.archive.name);
  return {
    reader: hashing,
    verify: async () => {
      const sha256 = hashing.digest(manifest.archive.size);
      if (sha256 === undefined) return await checkArchive(source, manifest);
      if (sha256 !== manifest.archive.sha256) {
        throw new ArchiveIntegrityError(
          `Archive ${manifest.archive.name} in ${source.location} does not match its manifest (sha256 ${sha256.slice(0, 16)}…, ` +
            `expected ${manifest.archive.sha256.slice(0, 16)}…): it was damaged or changed after the backup. The restore was rolled back; ` +
            "use another backup (list_backups).",
        );
      }
    },
  };
}

/** The transaction: everything or nothing, committed only after the rows and the archive are proven. */
async function replaceContents(
  target: DatabaseTarget, storage: Storage, manifest: Manifest, settings: BackupSettings,
  verifyArchive: () => Promise<void>, onProgress?: RestoreRequest["onProgress"],
) {
  const client = await connect(target, "windmill-pg-backup: restore");
  try {
    await pinSettings(client);
    await client.query("BEGIN");
    // Never wait silently behind the app's locks: give up, roll back and say so.
    await client.query("SELECT pg_catalog.set_config('lock_timeout', $1, true)", [`${settings.lock_timeout_seconds * 1000}ms`]);
    try {
      const dropped = await clearOwnObjects(client, manifest);
      await applyArchive(client, storage, manifest, {
        onTable: (table, index, total) => onProgress?.(`restored ${table.schema}.${table.name}`, 10 + Math.round(((index + 1) / total) * 70)),
      });
      onProgress?.("verifying restored rows", 85);
      const checks = await verifyTables(client, manifest.tables);
      const failed = checks.filter((c) => !c.match);
      if (failed.length > 0) {
        throw new BackupError(
          `Verification failed, so the restore was rolled back and the database is as it was: ` +
            failed.map((c) => `${c.table} has ${c.found_rows} rows (expected ${c.expected_rows})${c.found_digest === c.expected_digest ? "" : ", content differs"}`).join("; "),
        );
      }
      await verifyArchive();
      await client.query("COMMIT");
      return { dropped, checks };
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      if (isLockTimeout(error)) {
        throw new BackupError(
          `The restore was rolled back and changed nothing: another session kept a lock on an object it must replace for ` +
            `${settings.lock_timeout_seconds} s (${(error as Error).message}). The database is in use: stop the app (or its ` +
            "workers) and run the restore again, or raise lock_timeout_seconds in f/admin/backup_settings.",
          { cause: error },
        );
      }
      throw error;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

function isLockTimeout(error: unknown): boolean {
  const code = (e: unknown) => (e as { code?: string } | undefined)?.code;
  return code(error) === "55P03" || code((error as { cause?: unknown }).cause) === "55P03";
}

/** Create the target database from template0 with the archive's encoding and locale, unless it exists. */
async function ensureDatabase(database: DatabaseTarget, name: string, manifest: Manifest): Promise<boolean> {
  const client = await connect(database, "windmill-pg-backup: restore (create database)");
  try {
    const exists = await client.query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", [name]);
    if (exists.rows.length > 0) return false;
    const { encoding, lc_collate, lc_ctype, locale_provider, icu_locale } = manifest.server;
    const icu = locale_provider === "i" && icu_locale ? ` LOCALE_PROVIDER icu ICU_LOCALE ${quoteLiteral(icu_locale)}` : "";
    try {
      await client.query(
        `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING ${quoteLiteral(encoding)} ` +
          `LC_COLLATE ${quoteLiteral(lc_collate)} LC_CTYPE ${quoteLiteral(lc_ctype)}${icu}`,
      );
    } catch (error) {
      throw new BackupError(
        `Cannot create database ${JSON.stringify(name)} with the backup's encoding ${encoding} and locale ${lc_collate}: ${(error as Error).message}. ` +
          "Create it yourself (CREATE DATABASE … TEMPLATE template0) and run the restore again.",
        { cause: error },
      );
    }
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function dropDatabase(database: DatabaseTarget, name: string): Promise<void> {
  const client = await connect(database, "windmill-pg-backup: restore (clean up)");
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}
