// A restore from start to finish: refuse unless confirmed (and when the target lacks the archive's
// roles, or would be left empty), take the pre-restore backup under the same lock, then change the
// target in ONE transaction that commits only when the rows are proven. Three kinds of restore share
// that frame: a whole backup of ours (every member proven by its sha256 before it is used, rows and
// digests checked against the manifest), chosen tables of one (only their bytes read), and an
// archive made by pg_dump in plain format (header checked, parsed whole first, then run; rows counted).
import { pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import type pg from "pg";
import { describeSignature, type Manifest, type TableEntry } from "../archive/manifest.ts";
import { describeEncryption, ProvenArchive } from "../archive/reader.ts";
import { unrecoverableObjects } from "../engine/catalog.ts";
import { withConnection, type DatabaseTarget } from "../engine/connection.ts";
import type { NamedObject } from "../engine/kinds.ts";
import { withLock } from "../engine/lock.ts";
import { applyArchiveToNewDatabase } from "../engine/parallel-restore.ts";
import { applyPlainScript, summarizePlainScript, type PlainArchiveSummary } from "../engine/plain-archive.ts";
import { applyArchive, clearOwnObjects, createRoles, missingRoles, objectKey, ownObjects, ownObjectsEverywhere,
  type TableCheck } from "../engine/restore.ts";
import { checkSelection, partitionLeaves, restoreTables, selectTables } from "../engine/selective.ts";
import { inSnapshot, inTransaction } from "../engine/session.ts";
import { describeLockHolders, describeSessions, lockHolders, terminateSessions, type OtherSession } from "../engine/sessions.ts";
import { isLockTimeout } from "../engine/sql.ts";
import { createDatabase, databaseExists, dropDatabase } from "../engine/target.ts";
import { countRows } from "../engine/verify.ts";
import { ArchiveIntegrityError, BackupError, RestoreRefusedError } from "../errors.ts";
import type { BackupSettings } from "../settings.ts";
import { measuringStage } from "../storage/hashing.ts";
import type { Storage } from "../storage/storage.ts";
import { createBackup } from "./backup.ts";
import { findBackup } from "./inventory.ts";
import type { Keyring } from "./keys.ts";

export interface RestoreRequest {
  database: DatabaseTarget;
  settings: BackupSettings;
  /** Where the pre-restore backup is written (the local backup volume). */
  storage: Storage;
  /** Where the backup to restore is; default `storage` (which only a pre-restore backup writes to). */
  source?: Storage;
  backupName: string;
  confirm: boolean;
  createPreRestoreBackup: boolean;
  /** Restore into this database instead of the resource's; created when missing. */
  targetDatabase?: string;
  /** Restore only these tables' rows (`schema.table`), in place. */
  tables?: string[];
  /** Let PostgreSQL judge foreign keys to or from tables left out, row by row, instead of refusing. */
  skipForeignKeyCheck?: boolean;
  /** `backupName` is an archive made by pg_dump in plain format (`.sql` or `.sql.gz`), not one of ours. */
  pgDumpArchive?: boolean;
  /** End the target database's other sessions (never the bundle's own) before the restore. */
  terminateSessions?: boolean;
  /** Create the roles the archive names that this server lacks (NOLOGIN, no password), in the restore's transaction. */
  createRoles?: boolean;
  /** Let a restore leave the target without any object of its own (an empty backup over a full database). */
  allowEmptyResult?: boolean;
  /**
   * Replace a database that holds objects no backup of ours can hold (refused kinds, left out by
   * skip_unsupported): they are lost for good. Refused unless true; they are listed either way.
   */
  allowUnrecoverableDrops?: boolean;
  /** Keys that open encrypted archives and verify signatures (and encrypt and sign the pre-restore backup). */
  keys?: Keyring;
  onProgress?: (message: string, percent: number) => void;
}

export interface RestoreOutcome {
  backup: string;
  target_database: string;
  created_database: boolean;
  pre_restore_backup: string | null;
  pre_restore_note: string;
  dropped_objects: NamedObject[];
  verification: { passed: boolean; method: string; tables: TableCheck[] };
  /** Absent for an archive made by pg_dump. */
  manifest: Manifest | undefined;
  backup_created_at: string | null;
  /** Sequences a selective restore set (in the transaction: a rollback takes them back). */
  sequences_set: string[];
  terminated_sessions: OtherSession[];
  /** How the archive was stored (`no`, `age-x25519 (age1…)`) and whether its manifest's signature held. */
  encryption: string;
  signature: string;
}

/** One kind of restore: what it checks before the lock, and what it does inside the transaction. */
interface RestorePlan {
  manifest: Manifest | undefined;
  createdAt: string | null;
  /** The target's whole contents are replaced (else only chosen tables' rows). */
  replacesDatabase: boolean;
  verificationMethod: string;
  /** The archive's encryption and signature, in words (an archive made by pg_dump has neither). */
  security: { encryption: string; signature: string };
  /** Refusals that need the target's catalog, made before the pre-restore backup. */
  precheck?(target: DatabaseTarget): Promise<void>;
  /** The archive creates nothing (no table, no object but the public schema): the target would be left empty. */
  leavesNothing: boolean;
  apply(client: pg.ClientBase, onProgress: RestoreRequest["onProgress"], allowEmptyResult: boolean): Promise<Applied>;
  /**
   * Into a database this restore created, which is dropped if anything fails: no single transaction
   * is needed, so the work may be spread over several sessions.
   */
  applyToNew?(target: DatabaseTarget, onProgress: RestoreRequest["onProgress"]): Promise<Applied>;
}

interface Applied {
  dropped: NamedObject[];
  checks: TableCheck[];
  sequences: string[];
}

export async function restoreBackup(request: RestoreRequest): Promise<RestoreOutcome> {
  const { database, settings, storage, backupName } = request;
  const target = request.targetDatabase ?? database.dbname;
  if (!request.confirm) {
    throw new RestoreRefusedError(
      `Restore refused: restoring ${backupName} replaces ${
        request.tables?.length ? `the rows of ${request.tables.join(", ")} in` : "every table, view and function of"
      } database ${JSON.stringify(target)}. ` +
        "Nothing was changed. Run again with confirm_restore: true to proceed.",
    );
  }
  if (request.tables?.length && request.pgDumpArchive) {
    throw new RestoreRefusedError(
      "Restore refused: tables works with this bundle's backups only (they have a manifest with each table's bytes). Nothing was changed.",
    );
  }
  const source = request.source ?? storage;
  const intoNew = target !== database.dbname &&
    !(await withConnection(database, "windmill-pg-backup: restore (find database)", (client) => databaseExists(client, target)));
  const plan = request.pgDumpArchive
    ? await planPlainRestore(source, backupName, request.onProgress)
    : await planOwnRestore(source, backupName, request, intoNew);
  if (!plan.replacesDatabase && target !== database.dbname) {
    if (intoNew) {
      throw new RestoreRefusedError(
        `Restore refused: a selective restore writes into an existing database, and ${
          JSON.stringify(target)
        } does not exist. Nothing was changed.`,
      );
    }
  }

  const rolesToCreate = await checkRoles(database, plan.manifest, request.createRoles ?? false);

  const created = target !== database.dbname && (await ensureDatabase(database, target, plan.manifest));
  // Every check before the restore's own transaction waits a bounded time for the app's locks, too.
  const targetDb: DatabaseTarget = { ...database, dbname: target, lockTimeoutMs: settings.lock_timeout_seconds * 1000 };
  try {
    await plan.precheck?.(targetDb);
    if (plan.replacesDatabase && plan.leavesNothing && !request.allowEmptyResult) await refuseEmptyResult(targetDb, backupName);
    if (plan.replacesDatabase && !request.pgDumpArchive && !request.allowUnrecoverableDrops) await refuseUnrecoverableDrops(targetDb);
    return await withLock(targetDb, "restore", settings.lock_wait_seconds * 1000, async () => {
      let preRestore: string | null = null;
      let note = "not requested";
      if (created) {
        note = "not taken: the target database was created by this restore";
      } else if (request.createPreRestoreBackup) {
        request.onProgress?.("taking the pre-restore backup", 5);
        const taken = await createBackup({ database: targetDb, settings, storage, type: "pre_restore", lockHeld: true,
          keys: request.keys });
        preRestore = taken.name;
        note = `restore this backup to roll back (${taken.manifest.totals.tables} tables, ${taken.manifest.totals.rows} rows)`;
      }
      const terminated = request.terminateSessions && !created ? await endOtherSessions(targetDb) : [];
      // Roles are the server's, not the database's: made in the one transaction, so a failure takes them back too.
      const { dropped, checks, sequences } = created && rolesToCreate.length === 0 && plan.applyToNew
        ? await plan.applyToNew(targetDb, request.onProgress)
        : await inRestoreTransaction(targetDb, settings, async (client) => {
          await createRoles(client, rolesToCreate);
          return await plan.apply(client, request.onProgress, request.allowEmptyResult ?? false);
        });
      return {
        backup: backupName,
        target_database: target,
        created_database: created,
        pre_restore_backup: preRestore,
        pre_restore_note: note,
        dropped_objects: dropped,
        verification: { passed: true, method: plan.verificationMethod, tables: checks },
        manifest: plan.manifest,
        backup_created_at: plan.createdAt,
        sequences_set: sequences,
        terminated_sessions: terminated,
        ...plan.security,
      };
    });
  } catch (error) {
    if (created) await withConnection(database, "windmill-pg-backup: restore (clean up)", (client) => dropDatabase(client, target));
    if (isLockTimeout(error) && !(error instanceof BackupError)) {
      throw new BackupError(
        `The restore gave up before changing anything: a check of database ${
          JSON.stringify(target)
        } waited ${settings.lock_timeout_seconds} s ` +
          `for a lock (${(error as Error).message}): ${await describeLockHolders(targetDb, 0, [
            "AccessExclusiveLock",
          ])}. Nothing was changed. ` +
          "Run it again once that session has finished, or end it; lock_timeout_seconds in f/admin/backup_settings sets the wait.",
        { cause: error },
      );
    }
    throw error;
  }
}

async function trustedManifest(source: Storage, backupName: string): Promise<Manifest> {
  const backup = await findBackup(source, backupName).catch(async (error: unknown) => {
    // The file is there but not under a name of ours: most likely an archive made by pg_dump.
    if (await source.stat(backupName).catch(() => undefined)) {
      throw new RestoreRefusedError(
        `Restore refused: ${backupName} is in ${source.location}, but it is not a backup of this bundle (its name is not PREFIX_TYPE_YYYYMMDD_HHMMSS.sql.gz). ` +
          "Nothing was changed. If pg_dump made it, run again with pg_dump_archive: true.",
      );
    }
    throw error;
  });
  if (!backup.manifest || backup.problem) {
    throw new RestoreRefusedError(
      `Restore refused: backup ${backupName} in ${source.location} cannot be trusted (${backup.problem}). Nothing was changed; pick another backup` +
        " (an archive made by pg_dump restores with pg_dump_archive: true).",
    );
  }
  return backup.manifest;
}

/**
 * The roles the archive names that this server lacks: refused before anything changes unless they
 * are to be created (then returned), or the archive creates them itself (dump.roles).
 */
async function checkRoles(database: DatabaseTarget, manifest: Manifest | undefined, create: boolean): Promise<string[]> {
  if (!manifest?.roles?.length || manifest.scope?.roles === true) return [];
  const roles = manifest.roles;
  const missing = await withConnection(database, "windmill-pg-backup: restore (check roles)", (client) => missingRoles(client, roles));
  if (missing.length === 0 || create) return missing;
  throw new RestoreRefusedError(
    `Restore refused: the backup gives objects or privileges to roles this server does not have: ${
      missing.join(", ")
    }. Nothing was changed. ` +
      "Create them first (CREATE ROLE …, with LOGIN and a password for a role the app connects as), or run again with create_roles: true " +
      "to create them in the restore's transaction as NOLOGIN roles without passwords (give them LOGIN and a password afterwards), " +
      "or take backups with backup_settings.dump.roles: true so that archives create their roles.",
  );
}

/** An archive that would leave the target without a single object of its own: refused unless asked for, naming what would go. */
async function refuseEmptyResult(target: DatabaseTarget, backupName: string): Promise<void> {
  const objects =
    (await withConnection(target, "windmill-pg-backup: restore (check target)", (client) => ownObjects(client, new Set(["public"]))))
      .filter((o) => !(o.kind === "schema" && o.name === "public"));
  if (objects.length === 0) return;
  throw new RestoreRefusedError(
    `Restore refused: ${backupName} creates no table and no object, so restoring it would leave database ${
      JSON.stringify(target.dbname)
    } empty, ` +
      `dropping ${objects.length} object(s): ${
        describeObjects(objects)
      }. Nothing was changed. If an empty database is really what you want, ` +
      "run again with allow_empty_result: true; otherwise pick another backup (list_backups).",
  );
}

/** Before anything is written: a restore that would destroy what no backup holds goes on only when allowed. */
async function refuseUnrecoverableDrops(target: DatabaseTarget): Promise<void> {
  const lost = await withConnection(target, "windmill-pg-backup: restore (check what would be lost)",
    (client) => inSnapshot(client, () => unrecoverableObjects(client)));
  if (lost.length === 0) return;
  throw new RestoreRefusedError(
    `Restore refused: database ${JSON.stringify(target.dbname)} holds ${lost.length} object(s) that no backup of this version can hold, ` +
      `so the restore would destroy them for good (the pre-restore backup cannot keep them either): ${
        describeObjects(lost)
      }. Nothing was changed. ` +
      "Restore into another database (target_database), or run again with allow_unrecoverable_drops: true to restore anyway.",
  );
}

const describeObjects = (objects: NamedObject[]) =>
  objects.slice(0, 20).map((o) => `${o.kind} ${o.schema ? `${o.schema}.` : ""}${o.name}`).join(", ") +
  (objects.length > 20 ? `, and ${objects.length - 20} more` : "");

/** Pure: the archive creates nothing a person would miss. */
function createsNothing(manifest: Manifest): boolean {
  return manifest.tables.length === 0 && manifest.objects.every((o) => o.kind === "schema" && o.name === "public");
}

/** A backup of ours: whole (everything replaced) or chosen tables' rows. */
async function planOwnRestore(source: Storage, backupName: string, request: RestoreRequest, intoNew: boolean): Promise<RestorePlan> {
  const manifest = await trustedManifest(source, backupName);
  const base = { manifest, createdAt: manifest.created_at_local };
  if (request.tables?.length) {
    const target = { ...request.database, dbname: request.targetDatabase ?? request.database.dbname };
    const tables = selectTables(manifest, await withPartitions(target, manifest, request.tables));
    const archive = await ProvenArchive.open(source, manifest, { keys: request.keys });
    return {
      ...base,
      security: securityOf(archive),
      replacesDatabase: false,
      leavesNothing: false,
      verificationMethod: "rows and content digest of each restored table against the manifest; each member's sha256 before COMMIT",
      precheck: async (target) => {
        await withConnection(target, "windmill-pg-backup: restore (check tables)", (client) =>
          checkSelection(client, tables, request.skipForeignKeyCheck ?? false));
      },
      apply: async (client, onProgress) => {
        const done = await restoreTables(client, archive, tables, {
          skipForeignKeyCheck: request.skipForeignKeyCheck ?? false,
          onTable: (table, index, total) =>
            onProgress?.(`restored ${table.schema}.${table.name}`, 10 + Math.round(((index + 1) / total) * 70)),
        });
        return { dropped: [], checks: failIfDifferent(done.checks), sequences: done.sequences };
      },
    };
  }
  // Where reading twice is cheap, a damaged archive is refused before anything is touched (a
  // database this restore creates is dropped again instead: nothing to protect, no need to read twice).
  const wholeFirst = source.features.cheapRereads && !intoNew;
  if (wholeFirst) request.onProgress?.(`checking ${backupName} against its manifest`, 2);
  const archive = await ProvenArchive.open(source, manifest, { wholeFirst, keys: request.keys });
  const onTable = (onProgress: RestoreRequest["onProgress"]) => (table: TableEntry, index: number, total: number) =>
    onProgress?.(`restored ${table.schema}.${table.name}`, 10 + Math.round(((index + 1) / total) * 70));
  return {
    ...base,
    security: securityOf(archive),
    replacesDatabase: true,
    leavesNothing: createsNothing(manifest),
    verificationMethod: "rows and content digest of every table against the manifest; each member's sha256 before it is used",
    apply: async (client, onProgress) => {
      const lost = await unrecoverableObjects(client);
      const dropped = [...lost, ...(await clearOwnObjects(client, manifest))];
      const checks = await applyArchive(client, archive, { onTable: onTable(onProgress) });
      return { dropped, checks: failIfDifferent(checks), sequences: [] };
    },
    applyToNew: async (target, onProgress) => {
      const { dropped, checks } = await applyArchiveToNewDatabase(target, archive, { onTable: onTable(onProgress) });
      return { dropped, checks: failIfDifferent(checks), sequences: [] };
    },
  };
}

const securityOf = (archive: ProvenArchive) => ({ encryption: describeEncryption(archive.manifest),
  signature: describeSignature(archive.signature) });

/**
 * The names asked for, a partitioned table's name replaced by its partitions' (the backup holds the
 * rows of the leaves): read from the target, which a selective restore writes into.
 */
export async function withPartitions(target: DatabaseTarget, manifest: Manifest, requested: string[]): Promise<string[]> {
  const inBackup = new Set(manifest.tables.map((t) => `${t.schema}.${t.name}`));
  const unknown = requested.filter((name) => !inBackup.has(name) && !manifest.tables.some((t) => t.name === name));
  if (unknown.length === 0) return requested;
  let leaves: Map<string, string[]>;
  try {
    leaves = await withConnection(target, "windmill-pg-backup: restore (partitions)", (client) => partitionLeaves(client, unknown));
  } catch (error) {
    // The target cannot be reached: the names stay as asked, and the restore says why it cannot go on.
    if (error instanceof BackupError) return requested;
    throw error;
  }
  return requested.flatMap((name) => (leaves.get(name)?.length ? leaves.get(name)! : [name]));
}

/** The verified checks, or the error that rolls everything back naming each table that differs. */
function failIfDifferent(checks: TableCheck[]): TableCheck[] {
  const failed = checks.filter((c) => !c.match);
  if (failed.length > 0) {
    throw new BackupError(
      `Verification failed, so the restore was rolled back and the database is as it was: ` +
        failed.map((c) =>
          `${c.table} has ${c.found_rows} rows (expected ${c.expected_rows})${
            c.found_digest === c.expected_digest ? "" : ", content differs"
          }`
        ).join("; "),
    );
  }
  return checks;
}

/**
 * The archive's bytes, decompressed when they are gzip (recognised by its magic bytes, whatever the
 * name), and the sha256 of the file's own bytes once they were all read.
 */
async function plainChunks(source: Storage, name: string): Promise<{ chunks: AsyncIterable<Buffer>; sha256: () => string }> {
  const head: Buffer[] = [];
  for await (const chunk of source.read(name, { start: 0, end: 2 })) head.push(chunk as Buffer);
  const gzip = Buffer.concat(head).equals(Buffer.from([0x1f, 0x8b]));
  const measured = measuringStage();
  const stages: Array<NodeJS.ReadWriteStream> = gzip ? [measured.stage, createGunzip()] : [measured.stage];
  const out = stages.at(-1)! as unknown as AsyncIterable<Buffer>;
  pipeline([source.read(name), ...stages], () => undefined);
  return { chunks: out, sha256: () => measured.result().sha256 };
}

/**
 * An archive made by pg_dump: its header checked and the whole file read once (it must parse to
 * its end; its COPY rows are counted), then run into the emptied target; verified by each table's
 * row count, since it has no manifest, and by the file's sha256 being the same on both reads.
 */
async function planPlainRestore(source: Storage, name: string, onProgress?: RestoreRequest["onProgress"]): Promise<RestorePlan> {
  const file = await source.stat(name);
  if (!file) {
    throw new RestoreRefusedError(
      `Restore refused: there is no file ${
        JSON.stringify(name)
      } in ${source.location}. Nothing was changed. Put the pg_dump archive there and give its file name.`,
    );
  }
  onProgress?.(`reading ${name} (made by pg_dump) to its end`, 2);
  let summary: PlainArchiveSummary;
  const firstRead = await plainChunks(source, name);
  try {
    summary = await summarizePlainScript(firstRead.chunks, name);
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw new ArchiveIntegrityError(
      `Archive ${name} in ${source.location} cannot be read to its end (${(error as Error).message}): it is damaged. Nothing was changed.`,
      { cause: error },
    );
  }
  const firstDigest = firstRead.sha256();
  return {
    manifest: undefined,
    security: { encryption: "no", signature: "unsigned (an archive made by pg_dump)" },
    createdAt: file.modifiedAt.toISOString(),
    replacesDatabase: true,
    leavesNothing: summary.tables.length === 0 && summary.creates === 0,
    verificationMethod:
      "rows of every table against the archive's COPY data (an archive made by pg_dump has no manifest, so no content digest)",
    apply: async (client, progress, allowEmptyResult) => {
      const everything = () => ownObjectsEverywhere(client);
      const before = await everything();
      // pg_dump does not create the public schema (initdb does): keep it unless the archive creates it.
      await clearOwnObjects(client, {
        objects: summary.createdSchemas.has("public") ? [] : [{ kind: "schema", schema: "", name: "public" }],
      });
      let loaded = 0;
      const secondRead = await plainChunks(source, name);
      await applyPlainScript(client, secondRead.chunks, (table) => {
        loaded += 1;
        progress?.(`restored ${table.schema}.${table.name}`, 10 + Math.round((loaded / Math.max(1, summary.tables.length)) * 70));
      });
      if (secondRead.sha256() !== firstDigest) {
        throw new ArchiveIntegrityError(
          `Archive ${name} in ${source.location} changed while it was being restored: the restore was rolled back. Nothing was changed.`,
        );
      }
      const afterObjects = await everything();
      const own = (objects: NamedObject[]) => objects.filter((o) => !(o.kind === "schema" && o.name === "public"));
      if (!allowEmptyResult && own(afterObjects).length === 0 && own(before).length > 0) {
        throw new RestoreRefusedError(
          `Restore refused and rolled back: ${name} left the database without any object of its own, where it had ${own(before).length} ` +
            `(${describeObjects(own(before))}). Nothing was changed. Pass allow_empty_result: true if an empty database is what you want.`,
        );
      }
      const after = new Set(afterObjects.map(objectKey));
      const checks: TableCheck[] = [];
      for (const table of summary.tables) {
        const found = await countRows(client, table.schema, table.name);
        checks.push({ table: `${table.schema}.${table.name}`, expected_rows: table.rows, found_rows: found, expected_digest: "",
          found_digest: "", match: found === table.rows });
      }
      return {
        dropped: before.filter((o) => !after.has(objectKey(o))).map(({ kind, schema, name }) => ({ kind, schema, name })),
        checks: failIfDifferent(checks),
        sequences: [],
      };
    },
  };
}

/** The transaction: everything or nothing, committed only after the plan's checks pass. */
async function inRestoreTransaction(
  target: DatabaseTarget,
  settings: BackupSettings,
  apply: (client: pg.ClientBase) => Promise<Applied>,
): Promise<Applied> {
  return await withConnection(target, "windmill-pg-backup: restore", async (client) => {
    // Never wait silently behind the app's locks: give up, roll back and say who holds them.
    let holders = "";
    try {
      return await inTransaction(client, settings.lock_timeout_seconds * 1000, () => apply(client), async (error) => {
        if (isLockTimeout(error)) holders = await sessionsHoldingLocks(target, client);
      });
    } catch (error) {
      if (isLockTimeout(error)) {
        throw new BackupError(
          `The restore was rolled back and changed nothing: another session kept a lock on an object it must replace for ` +
            `${settings.lock_timeout_seconds} s (${
              (error as Error).message
            }). The database is in use${holders}. To go on, stop the app (or its ` +
            "workers) and run the restore again, or pass terminate_sessions: true to end those sessions first, or raise " +
            "lock_timeout_seconds in f/admin/backup_settings.",
          { cause: error },
        );
      }
      throw error;
    }
  });
}

/** Read on a second connection while the failed transaction still holds its own locks. */
async function sessionsHoldingLocks(target: DatabaseTarget, restoring: pg.ClientBase): Promise<string> {
  const own = (restoring as unknown as { processID: number }).processID;
  try {
    const holders = await withConnection(target, "windmill-pg-backup: restore (lock report)", (monitor) => lockHolders(monitor, own));
    return holders.length === 0 ? " (the sessions had already let go)" : `; sessions holding locks: ${describeSessions(holders)}`;
  } catch (error) {
    return ` (the sessions holding locks could not be listed: ${(error as Error).message})`;
  }
}

async function endOtherSessions(target: DatabaseTarget): Promise<OtherSession[]> {
  return await withConnection(target, "windmill-pg-backup: restore (terminate sessions)",
    (client) => terminateSessions(client, "windmill-pg-backup"));
}

/** Create the target database unless it exists; true when this restore created it. */
async function ensureDatabase(database: DatabaseTarget, name: string, manifest: Manifest | undefined): Promise<boolean> {
  return await withConnection(database, "windmill-pg-backup: restore (create database)", async (client) => {
    if (await databaseExists(client, name)) return false;
    await createDatabase(client, name, manifest);
    return true;
  });
}
