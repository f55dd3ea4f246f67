// Pinning: a small marker file `<stem>.pin` beside the archive keeps the backup out of retention
// (e.g. before a risky migration) until it is unpinned. Written with Storage.create, so it appears
// whole or not at all, and a pin another run wrote at the same moment is never overwritten.
import { PassThrough } from "node:stream";
import { pinNameFor } from "../archive/name.ts";
import { BackupError } from "../errors.ts";
import { exactName, type Storage } from "../storage/storage.ts";
import { findBackup } from "./inventory.ts";

export type PinChange = "pinned" | "already pinned" | "unpinned" | "was not pinned";

export async function pinBackup(storage: Storage, prefix: string, name: string, note: string, now: Date): Promise<PinChange> {
  const backup = await findBackup(storage, prefix, name);
  if (backup.pinned) return "already pinned";
  const marker = JSON.stringify({ archive: name, pinned_at: now.toISOString(), note }, null, 2) + "\n";
  const taken = () => new BackupError(`${name} was pinned in ${storage.location} by another run at the same moment; it is pinned.`);
  await storage.create(exactName(pinNameFor(name), taken), PassThrough.from([Buffer.from(marker)]), { expectedSize: Buffer.byteLength(marker) });
  return "pinned";
}

export async function unpinBackup(storage: Storage, prefix: string, name: string): Promise<PinChange> {
  const backup = await findBackup(storage, prefix, name);
  if (!backup.pinned) return "was not pinned";
  await storage.remove(pinNameFor(name));
  return "unpinned";
}
