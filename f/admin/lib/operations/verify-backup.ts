// verify_backup's story: every backup asked for, on each storage, judged in full (judge.ts), and
// optionally restored into a throwaway database with the restore's own verification, dropped afterwards.
import { randomBytes } from "node:crypto";
import { storedFile } from "../archive/manifest.ts";
import { describeEncryption } from "../archive/reader.ts";
import type { DatabaseTarget } from "../engine/connection.ts";
import { BackupError } from "../errors.ts";
import type { BackupSettings } from "../settings.ts";
import type { Storage } from "../storage/storage.ts";
import { dropDrillDatabase } from "./drill.ts";
import { takeInventory, type StoredBackup } from "./inventory.ts";
import { judgeCopy } from "./judge.ts";
import type { Keyring } from "./keys.ts";
import { restoreBackup } from "./restore.ts";

export interface VerifyRequest {
  /** Where to look, by place (`local`, `s3`). */
  storages: Record<string, Storage>;
  /** One backup by its file name, or every backup. */
  backupName?: string;
  keys: Keyring;
  /** Also restore each backup into a throwaway database on this server, with the restore's full verification. */
  restoreInto?: { database: DatabaseTarget; settings: BackupSettings };
  onProgress?: (message: string, percent: number) => void;
}

export interface VerifiedBackup {
  backup: string;
  location: string;
  encrypted: string;
  signature: string;
  archive: string;
  restore: string;
  ok: boolean;
}

/** Every backup asked for, each copy judged in full (and restored when asked); one row per copy. */
export async function verifyBackups(request: VerifyRequest): Promise<VerifiedBackup[]> {
  const rows: VerifiedBackup[] = [];
  for (const [place, storage] of Object.entries(request.storages)) {
    const inventory = await takeInventory(storage);
    const backups = inventory.backups.filter((b) => request.backupName === undefined || b.name === request.backupName);
    if (!inventory.complete) {
      rows.push({ backup: "(listing)", location: place, encrypted: "", signature: "", restore: "not tried", ok: false,
        archive: `no: the listing of ${storage.location} stopped halfway, so backups may be missing from this check` });
    }
    for (const [index, backup] of backups.entries()) {
      request.onProgress?.(`checking ${backup.name} (${place})`, Math.round((index / Math.max(1, backups.length)) * 90));
      const judged = await judgeCopy(storage, backup, request.keys, "full");
      const row: VerifiedBackup = {
        backup: backup.name,
        location: place,
        encrypted: backup.manifest ? describeEncryption(backup.manifest) : backup.name.endsWith(".age") ? "yes" : "no",
        signature: judged.signature,
        archive: judged.verdict,
        restore: "not asked (restore: true restores into a throwaway database)",
        ok: judged.ok,
      };
      if (request.restoreInto) row.restore = judged.ok ? await trialRestore(storage, backup, request) : "not tried: the archive failed";
      if (row.restore.startsWith("no:")) row.ok = false;
      rows.push(row);
    }
  }
  if (request.backupName !== undefined && !rows.some((r) => r.backup === request.backupName)) {
    throw new BackupError(
      `No backup named ${JSON.stringify(request.backupName)} in ${
        Object.values(request.storages).map((s) => s.location).join(" or ")
      }. Run f/admin/list_backups to see the backups, and pass one of their names.`,
    );
  }
  return rows;
}

/** Restore into a new drill_verify_… database on the same server, then drop it whatever happened. */
async function trialRestore(storage: Storage, backup: StoredBackup, request: VerifyRequest): Promise<string> {
  const { database, settings } = request.restoreInto!;
  const target = `drill_verify_${randomBytes(6).toString("hex")}`;
  try {
    const outcome = await restoreBackup({ database, settings, storage, source: storage, backupName: backup.name, confirm: true,
      createPreRestoreBackup: false, targetDatabase: target, keys: request.keys });
    const rows = outcome.verification.tables.reduce((sum, t) => sum + t.found_rows, 0);
    return `yes: restored into a throwaway database (${outcome.verification.tables.length} tables, ${rows} rows, rows and content ` +
      `digests match the manifest; ${storedFile(backup.manifest!).size} bytes read)`;
  } catch (error) {
    if (error instanceof BackupError) return `no: ${error.message}`;
    throw error;
  } finally {
    await dropDrillDatabase(database, target).catch(() => undefined);
  }
}
