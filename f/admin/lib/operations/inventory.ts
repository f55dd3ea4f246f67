// What backups a storage holds: our archives (by name), each with its manifest when it has one, and
// the database each one is of. Files that do not carry our name are never listed, judged or touched.
import { compressionNamed, type CompressionName } from "../archive/compression.ts";
import { parseManifest, storedFile, type Manifest } from "../archive/manifest.ts";
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
  /** No manifest beside it: a run stopped before its last step (the archive alone never restores). */
  unfinished: boolean;
  /**
   * The database it is a backup of: the manifest's, or for an unfinished backup the archive's first
   * line; undefined when neither says (retention then never touches it).
   */
  database: string | undefined;
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

async function describe(
  storage: Storage,
  file: StoredFile,
  { type, compression }: { type: BackupType; compression: CompressionName },
  names: Set<string>,
): Promise<StoredBackup> {
  const manifestName = manifestNameFor(file.name);
  const base = { name: file.name, type, size: file.size, createdAt: file.modifiedAt, pinned: names.has(pinNameFor(file.name)),
    unfinished: false };
  if (!names.has(manifestName)) {
    return {
      ...base,
      manifest: undefined,
      unfinished: true,
      database: await archiveDatabase(storage, file, compression),
      problem: "no manifest: the backup did not finish, or was not written by this tool",
    };
  }
  try {
    const manifest = await readManifestFile(storage, manifestName);
    // An encrypted backup's manifest describes the stored .age file beside the archive inside it.
    const stored = storedFile(manifest);
    if (stored.name !== file.name) {
      // The same backup under another extension: renamed by hand, and its bytes are not what the name says.
      const renamed = manifestNameFor(stored.name) === manifestName
        ? `: this file was renamed from ${stored.name} (a ${manifest.archive.compression} archive); an archive's extension must say how it ` +
          `was compressed, rename it back to ${stored.name}`
        : "";
      return { ...base, manifest: undefined, database: undefined, problem: `manifest describes ${stored.name}, not this file${renamed}` };
    }
    const problem = stored.size === file.size
      ? undefined
      : `size ${file.size} bytes differs from the manifest's ${stored.size}: the file is damaged`;
    return { ...base, createdAt: new Date(manifest.created_at), manifest, database: manifest.database, problem };
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    return { ...base, manifest: undefined, database: undefined, problem: error.message };
  }
}

/** Text read from the start of an archive to find its first line (the header names the database). */
const HEADER_BYTES = 4096;
const HEADER = /^-- \S+ \S+ archive of database ("(?:[^"\\]|\\.)*") \(/;

/**
 * The database an archive without a manifest is of, from the first line of its first gzip member
 * (`-- windmill-pg-backup 0.1.0 archive of database "family_brain" (PostgreSQL …)`); undefined when
 * the file does not start that way, or is encrypted (its first line cannot be read without the key).
 */
async function archiveDatabase(storage: Storage, file: StoredFile, compression: CompressionName): Promise<string | undefined> {
  const { headBytes, decompressor } = compressionNamed(compression);
  const text: Buffer[] = [];
  try {
    const decompress = decompressor();
    decompress.on("data", (chunk: Buffer) => text.push(chunk));
    // The head ends mid-stream, so the decompressor fails at its end: what it gave until then is the text.
    await new Promise<void>((resolve) => {
      decompress.on("error", () => resolve()).on("end", resolve);
      (async () => {
        for await (const chunk of storage.read(file.name, { start: 0, end: Math.min(file.size, headBytes) })) {
          if (!decompress.write(chunk as Buffer)) await new Promise((drained) => decompress.once("drain", drained));
        }
        decompress.end();
      })().catch(() => resolve());
    });
    const quoted = HEADER.exec(Buffer.concat(text).subarray(0, HEADER_BYTES).toString("utf8"))?.[1];
    return quoted === undefined ? undefined : (JSON.parse(quoted) as string);
  } catch {
    return undefined;
  }
}

/** Our backups in `storage`, newest first (of every database: callers that change anything filter). */
export async function takeInventory(storage: Storage): Promise<Inventory> {
  const listing = await storage.list();
  const names = new Set(listing.files.map((f) => f.name));
  const backups: StoredBackup[] = [];
  for (const file of listing.files) {
    const parsed = parseBackupName(file.name);
    if (parsed) backups.push(await describe(storage, file, parsed, names));
  }
  backups.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.name < b.name ? 1 : -1));
  return { backups, complete: listing.complete };
}

/** Find one backup by its file name; the error lists what exists, so the user can pick. */
export async function findBackup(storage: Storage, name: string): Promise<StoredBackup> {
  const inventory = await takeInventory(storage);
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
