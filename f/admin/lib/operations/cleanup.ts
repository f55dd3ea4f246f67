// Retention applied to a storage: the pure plan over what the storage holds, then the deletions
// it decides (archive first, then its manifest, so a half-deleted backup reads as unfinished).
// Only the backups of one database are judged: others sharing the directory or prefix are left alone.
import { manifestNameFor } from "../archive/name.ts";
import { planRetention, type RetainedBackup, type RetentionPlan } from "../retention/policy.ts";
import type { Storage } from "../storage/storage.ts";
import type { BackupSettings } from "../settings.ts";
import { takeInventory, type StoredBackup } from "./inventory.ts";

/** What the retention plan needs to know of a stored backup. */
export function asRetained(b: StoredBackup): RetainedBackup {
  return {
    name: b.name,
    type: b.type,
    createdAt: b.createdAt,
    complete: b.manifest !== undefined && b.problem === undefined,
    unfinished: b.unfinished,
    database: b.database,
    pinned: b.pinned,
  };
}

export type CleanupOutcome = RetentionPlan & { deleted: string[] };

/** Plan retention over the backups of `database` that `storage` holds; with `apply`, delete what the plan says. */
export async function applyRetention(
  storage: Storage,
  settings: BackupSettings,
  database: string,
  now: Date,
  apply: boolean,
): Promise<CleanupOutcome> {
  const inventory = await takeInventory(storage);
  const plan = planRetention({
    backups: inventory.backups.map(asRetained),
    now,
    policy: settings.retention,
    timeZone: settings.time_zone,
    database,
    listingComplete: inventory.complete,
  });
  const deleted: string[] = [];
  if (apply) {
    const unfinished = new Set(inventory.backups.filter((b) => b.unfinished).map((b) => b.name));
    for (const decision of plan.delete) {
      await storage.remove(decision.name);
      if (!unfinished.has(decision.name)) await storage.remove(manifestNameFor(decision.name));
      deleted.push(decision.name);
    }
  }
  return { ...plan, deleted };
}
