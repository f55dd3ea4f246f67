// Pinning: a small marker file `<stem>.pin` beside the archive keeps the backup out of retention
// (e.g. before a risky migration) until it is unpinned. Written with Storage.create, so it appears
// whole or not at all, and a pin another run wrote at the same moment is never overwritten.
import { PassThrough } from "node:stream";
import { pinNameFor } from "../archive/name.ts";
import { BackupError } from "../errors.ts";
import { exactName, type Storage } from "../storage/storage.ts";
import { findBackup } from "./inventory.ts";

export type PinChange = "pinned" | "already pinned" | "unpinned" | "was not pinned";

export async function pinBackup(storage: Storage, name: string, note: string, now: Date): Promise<PinChange> {
  const backup = await findBackup(storage, name);
  if (backup.pinned) return "already pinned";
  const marker = JSON.stringify({ archive: name, pinned_at: now.toISOString(), note }, null, 2) + "\n";
  const pin = pinNameFor(name);
  const taken = new PinNameTaken();
  try {
    await storage.create(exactName(pin, () => taken), PassThrough.from([Buffer.from(marker)]), { expectedSize: Buffer.byteLength(marker) });
  } catch (error) {
    if (error !== taken) throw error;
    // Another run pinned it since we looked; or the name holds something that is not a pin (a
    // symlink, a directory), which listing and retention ignore: saying "pinned" would be a lie.
    if ((await findBackup(storage, name)).pinned) return "already pinned";
    throw new BackupError(
      `Cannot pin ${name}: ${pin} already exists in ${storage.location} but is not a regular file (a symlink or a directory?), ` +
        `so it does not pin anything and retention may delete the backup. Remove ${pin}, then pin again. Nothing was changed.`,
    );
  }
  return "pinned";
}

class PinNameTaken extends Error {}

export async function unpinBackup(storage: Storage, name: string): Promise<PinChange> {
  const backup = await findBackup(storage, name);
  if (!backup.pinned) return "was not pinned";
  await storage.remove(pinNameFor(name));
  return "unpinned";
}
