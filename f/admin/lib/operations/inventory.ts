// What backups a storage holds: our archives (by name), each with its manifest when it has one.
// Files that do not carry our name are never listed, judged or touched.
import { parseManifest, type Manifest } from "../archive/manifest.ts";
import { manifestNameFor, parseBackupName, pinNameFor, type BackupType } from "../archive/name.ts";
import { BackupError } from "../errors.ts";
import type { Storage, StoredFile } from "../storage/storage.ts";

export interface StoredBackup {
  name: string;
  type: BackupType;
  /** From the manifest when present, else the file's modification time. */
  createdAt: Date;
  size: number;
  manifest: Manifest | undefined;
  /** Why the backup cannot be trusted, when it cannot (no manifest, unreadable manifest, size differs). */
  problem: string | undefined;
  /** A pin marker sits beside it: retention keeps it. */
  pinned: boolean;
}

export interface Inventory {
  backups: StoredBackup[];
  /** False when the storage listing may have missed files. */
  complete: boolean;
}

export async function readManifestFile(storage: Storage, name: string): Promise<Manifest> {
  const chunks: Buffer[] = [];
  for await (const chunk of storage.read(name)) chunks.push(chunk as Buffer);
  return parseManifest(Buffer.concat(chunks).toString("utf8"), `${name} in ${storage.location}`);
}

async function describe(storage: Storage, file: StoredFile, type: BackupType, names: Set<string>): Promise<StoredBackup> {
  const manifestName = manifestNameFor(file.name);
  const base = { name: file.name, type, size: file.size, createdAt: file.modifiedAt, pinned: names.has(pinNameFor(file.name)) };
  if (!names.has(manifestName)) {
    return { ...base, manifest: undefined, problem: "no manifest: the backup did not finish, or was not written by this tool" };
  }
  try {
    const manifest = await readManifestFile(storage, manifestName);
    if (manifest.archive.name !== file.name) {
      return { ...base, manifest: undefined, problem: `manifest describes ${manifest.archive.name}, not this file` };
    }
    const problem = manifest.archive.size === file.size
      ? undefined
      : `size ${file.size} bytes differs from the manifest's ${manifest.archive.size}: the file is damaged`;
    return { ...base, createdAt: new Date(manifest.created_at), manifest, problem };
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    return { ...base, manifest: undefined, problem: error.message };
  }
}

/** Our backups in `storage`, newest first. */
export async function takeInventory(storage: Storage, prefix: string): Promise<Inventory> {
  const listing = await storage.list();
  const names = new Set(listing.files.map((f) => f.name));
  const backups: StoredBackup[] = [];
  for (const file of listing.files) {
    const parsed = parseBackupName(file.name, prefix);
    if (parsed) backups.push(await describe(storage, file, parsed.type, names));
  }
  backups.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.name < b.name ? 1 : -1));
  return { backups, complete: listing.complete };
}

/** Find one backup by its file name; the error lists what exists, so the user can pick. */
export async function findBackup(storage: Storage, prefix: string, name: string): Promise<StoredBackup> {
  const inventory = await takeInventory(storage, prefix);
  const backup = inventory.backups.find((b) => b.name === name);
  if (!backup) {
    const known = inventory.backups.slice(0, 5).map((b) => b.name).join(", ") || "none";
    throw new BackupError(
      `No backup named ${JSON.stringify(name)} in ${storage.location} (newest there: ${known}). ` +
        "Run f/admin/list_backups to see the backups, and pass one of their names.",
    );
  }
  return backup;
}
