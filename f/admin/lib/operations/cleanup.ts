// Retention applied to a storage: the pure plan over what the storage holds, then the deletions
// it decides (archive first, then its manifest, so a half-deleted backup reads as unfinished).
import { manifestNameFor } from "../archive/name.ts";
import { planRetention, type RetentionPlan } from "../retention/policy.ts";
import type { Storage } from "../storage/storage.ts";
import type { BackupSettings } from "../windmill/resources.ts";
import { takeInventory } from "./inventory.ts";

export type CleanupOutcome = RetentionPlan & { deleted: string[] };

/** Plan retention over what `storage` holds; with `apply`, delete what the plan says. */
export async function applyRetention(storage: Storage, settings: BackupSettings, now: Date, apply: boolean): Promise<CleanupOutcome> {
  const inventory = await takeInventory(storage, settings.prefix);
  const plan = planRetention({
    backups: inventory.backups.map((b) => ({
      name: b.name, type: b.type, createdAt: b.createdAt, complete: b.manifest !== undefined && b.problem === undefined, pinned: b.pinned,
    })),
    now,
    policy: settings.retention,
    timeZone: settings.time_zone,
    listingComplete: inventory.complete,
  });
  const deleted: string[] = [];
  if (apply) {
    for (const decision of plan.delete) {
      await storage.remove(decision.name);
      await storage.remove(manifestNameFor(decision.name));
      deleted.push(decision.name);
    }
  }
  return { ...plan, deleted };
}
