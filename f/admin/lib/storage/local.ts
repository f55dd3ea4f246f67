// Backups in a local directory, behind the Storage contract. A file appears under its final name
// only whole and synced (temp file, fsync, link, directory fsync); link() fails on an existing name,
// so a backup is never overwritten, even by a concurrent run picking the same name.
import { randomBytes } from "node:crypto";
import { accessSync, constants, createReadStream, mkdirSync, rmSync, statSync, type Stats } from "node:fs";
import { link, lstat, open, readdir, stat, statfs, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { BackupError } from "../errors.ts";
import type { ByteRange, Listing, Storage, StoredFile } from "./storage.ts";

/** How many names `create` tries before giving up (`nameFor(0)` … `nameFor(99)`). */
const MAX_NAME_ATTEMPTS = 100;
const DEFAULT_STALE_TEMP_AGE_MS = 6 * 60 * 60 * 1000;
/** `.<name>.tmp-<host>-<pid>-<random>`: hidden, so listings skip it, and traceable to the run that wrote it. */
const TEMP_NAME = /^\.(.+)\.tmp-(.+)-(\d+)-([0-9a-f]{12})$/;

// Hostnames are plain in practice; keep the temp name a plain file name whatever the OS reports.
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, "_") || "localhost";

/**
 * Temp files being written by this process. When Windmill cancels a job it signals the process:
 * they are removed before it exits (a killed process leaves them to the next run's sweep), and
 * exiting closes the connections, which releases the lock and rolls back an open restore.
 */
const writing = new Set<string>();
let cancelHandlerInstalled = false;

function removeTempsOnCancel(): void {
  if (cancelHandlerInstalled) return;
  cancelHandlerInstalled = true;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      for (const path of writing) rmSync(path, { force: true });
      console.error(`${signal}: the job was cancelled; ${writing.size} unfinished file(s) removed`);
      process.exit(signal === "SIGTERM" ? 143 : 130);
    });
  }
}

const errorCode = (error: unknown): string | undefined =>
  error instanceof Error && "code" in error && typeof error.code === "string" ? error.code : undefined;

/**
 * Names come from users (a restore's backup_filename): only plain, visible file names, so no name
 * can reach outside the backup directory or collide with our temp files.
 */
export function assertPlainFileName(name: string): void {
  if (
    name.length === 0 ||
    Buffer.byteLength(name) > 255 ||
    name.startsWith(".") ||
    /[/\\\0]/.test(name)
  ) {
    throw new BackupError(
      `Invalid backup file name ${JSON.stringify(name)}: give a plain file name as list_backups shows it, ` +
        `e.g. family_brain_manual_20251208_023807.sql.gz (no directories, not starting with ".").`,
    );
  }
}

function assertByteRange({ start, end }: ByteRange): void {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new BackupError(`Invalid byte range [${start}, ${end}): expected whole numbers with 0 <= start <= end.`);
  }
}

function statOrMissing(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw new BackupError(
      `Cannot look at the backup directory ${path} (${
        (error as Error).message
      }): set backup_dir in f/admin/backup_settings to a directory this worker can reach.`,
      { cause: error },
    );
  }
}

/** Bytes available to this (unprivileged) process on the file system holding `directory`. */
export async function freeBytes(directory: string): Promise<number> {
  const stats = await statfs(directory);
  return Number(stats.bavail) * Number(stats.bsize);
}

/** How a run uses the backup directory. */
export interface LocalStorageOptions {
  /** Writes files there (a backup, a pin, a pre-restore backup), or only reads (a list, a restore's source, a preview). */
  access: "read" | "write";
  /** Create the directory when it is missing (backup_settings.create_backup_dir); never for a read. */
  create?: boolean;
}

export class LocalStorage implements Storage {
  readonly features = { cheapRereads: true, freeSpace: true };
  readonly location: string;

  /**
   * The directory must exist (a missing one is usually a volume that is not mounted: backups written
   * into the container would be lost with it), be a directory, and allow what the run does.
   */
  constructor(directory: string, options: LocalStorageOptions = { access: "write" }) {
    this.location = resolve(directory);
    const stats = statOrMissing(this.location);
    if (stats === undefined && options.create && options.access === "write") {
      mkdirSync(this.location, { recursive: true, mode: 0o700 });
    } else if (stats === undefined) {
      throw new BackupError(
        `The backup directory ${this.location} does not exist. Nothing was ${
          options.access === "write" ? "written" : "read"
        }. On Windmill, mount the ` +
          "backup volume at this path on every worker (README: Install, step 4), or set backup_dir in f/admin/backup_settings to where it is " +
          "mounted; it is never created by itself, so that a volume that is not mounted cannot pass for one. To have it created, set " +
          "create_backup_dir: true in f/admin/backup_settings.",
      );
    } else if (!stats.isDirectory()) {
      throw new BackupError(
        `The backup directory ${this.location} is not a directory. Set backup_dir in f/admin/backup_settings to a directory.`,
      );
    }
    try {
      accessSync(this.location, options.access === "write" ? constants.W_OK | constants.X_OK : constants.R_OK | constants.X_OK);
    } catch (error) {
      throw new BackupError(
        `This worker may not ${options.access === "write" ? "write into" : "read"} the backup directory ${this.location} ` +
          `(${
            error instanceof Error ? error.message : String(error)
          }): give the worker's user access to the volume, or set backup_dir in ` +
          "f/admin/backup_settings to a directory it may use.",
        { cause: error },
      );
    }
  }

  private pathOf(name: string): string {
    assertPlainFileName(name);
    return join(this.location, name);
  }

  async list(): Promise<Listing> {
    let entries;
    try {
      entries = await readdir(this.location, { withFileTypes: true });
    } catch (error) {
      throw new BackupError(
        `Cannot list the backup directory ${this.location} (${(error as Error).message}): check that the volume is mounted on ` +
          "this worker and readable by it, or fix backup_dir in f/admin/backup_settings.",
        { cause: error },
      );
    }
    let complete = true;
    const files: StoredFile[] = [];
    for (const entry of entries) {
      if (!entry.isFile() || entry.name.startsWith(".")) continue;
      try {
        files.push(await this.statPath(entry.name));
      } catch (error) {
        // Removed since readdir (a concurrent cleanup): it is rightly absent. Anything else means we
        // may be hiding a backup, so the listing must not be trusted for deletion.
        if (errorCode(error) !== "ENOENT") complete = false;
      }
    }
    return { files, complete };
  }

  /** Regular files only, as list() sees them: a symlink, directory or socket under a name is not a file of ours. */
  async stat(name: string): Promise<StoredFile | undefined> {
    const path = this.pathOf(name);
    try {
      const stats = await lstat(path);
      return stats.isFile() ? { name, size: stats.size, modifiedAt: stats.mtime } : undefined;
    } catch (error) {
      if (errorCode(error) === "ENOENT") return undefined;
      throw error;
    }
  }

  private async statPath(name: string): Promise<StoredFile> {
    const stats = await stat(join(this.location, name));
    return { name, size: stats.size, modifiedAt: stats.mtime };
  }

  read(name: string, range?: ByteRange): Readable {
    const path = this.pathOf(name);
    if (range === undefined) return createReadStream(path);
    assertByteRange(range);
    // createReadStream's end is inclusive and cannot express an empty range.
    if (range.end === range.start) return Readable.from([]);
    return createReadStream(path, { start: range.start, end: range.end - 1 });
  }

  async create(nameFor: (attempt: number) => string, body: Readable): Promise<StoredFile> {
    const firstName = nameFor(0);
    assertPlainFileName(firstName);
    const tempPath = join(this.location, `.${firstName}.tmp-${HOST}-${process.pid}-${randomBytes(6).toString("hex")}`);
    removeTempsOnCancel();
    writing.add(tempPath);
    let finalName: string | undefined;
    try {
      await writeSynced(tempPath, body);
      finalName = await this.linkUnderFreeName(tempPath, nameFor);
      await unlink(tempPath);
      await this.syncDirectory();
      return await this.statPath(finalName);
    } catch (error) {
      // Stop the producer (e.g. a COPY) and leave nothing behind: no temp, and no final name unless
      // we returned it, so the caller's view and the directory agree.
      // A failing cleanup must not hide the error that caused it.
      const reason = errorCode(error) === "ENOSPC"
        ? new BackupError(
          `The backup directory ${this.location} ran out of space while writing ${firstName}; nothing was kept. ` +
            "Free space there (or give the volume more), or lower the retention in f/admin/backup_settings, then retry.",
          { cause: error },
        )
        : error;
      body.destroy(reason as Error);
      await removeIfPresent(tempPath).catch(() => false);
      if (finalName !== undefined) await removeIfPresent(join(this.location, finalName)).catch(() => false);
      throw reason;
    } finally {
      writing.delete(tempPath);
    }
  }

  private async linkUnderFreeName(tempPath: string, nameFor: (attempt: number) => string): Promise<string> {
    for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++) {
      const name = nameFor(attempt);
      try {
        await link(tempPath, this.pathOf(name));
        return name;
      } catch (error) {
        const code = errorCode(error);
        if (code === "EEXIST") continue;
        if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP") {
          throw new BackupError(
            `The file system of ${this.location} does not support hard links, which backups need to be written without ` +
              `overwriting: use a local file system (ext4, xfs, btrfs, a Docker volume) for backup_dir.`,
            { cause: error },
          );
        }
        throw error;
      }
    }
    throw new BackupError(
      `No free backup name in ${this.location} after ${MAX_NAME_ATTEMPTS} attempts (${nameFor(0)} … ${nameFor(MAX_NAME_ATTEMPTS - 1)}): ` +
        `too many backups in the same second; retry in a moment.`,
    );
  }

  freeBytes(): Promise<number> {
    return freeBytes(this.location);
  }

  /** Makes the new directory entry durable, not only the file's bytes. */
  private async syncDirectory(): Promise<void> {
    const directory = await open(this.location, "r");
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }

  async remove(name: string): Promise<void> {
    await unlink(this.pathOf(name)).catch((error: unknown) => {
      if (errorCode(error) !== "ENOENT") throw error;
    });
  }

  /**
   * Removes temp files that killed runs left behind: those of this host whose process is gone, and
   * any older than `olderThanMs` (another host's, or a reused pid). Returns the names removed.
   */
  async sweepStaleTemps({ olderThanMs = DEFAULT_STALE_TEMP_AGE_MS }: { olderThanMs?: number } = {}): Promise<string[]> {
    const removed: string[] = [];
    for (const entry of await readdir(this.location, { withFileTypes: true })) {
      const temp = TEMP_NAME.exec(entry.name);
      if (!entry.isFile() || temp === null) continue;
      const path = join(this.location, entry.name);
      const ownerGone = temp[2] === HOST && !isProcessAlive(Number(temp[3]));
      if (ownerGone || (await ageMs(path)) > olderThanMs) {
        if (await removeIfPresent(path)) removed.push(entry.name);
      }
    }
    return removed;
  }
}

async function writeSynced(path: string, body: Readable): Promise<void> {
  // "wx": the random suffix makes a clash unlikely; this makes it impossible.
  const file = await open(path, "wx", 0o600);
  try {
    // Awaiting each write is the backpressure: the body is not read faster than the disk takes it.
    for await (const chunk of body) {
      const bytes: Uint8Array = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      // A write may be short (e.g. just before the disk fills): loop until the chunk is on disk.
      for (let offset = 0; offset < bytes.length;) offset += (await file.write(bytes, offset)).bytesWritten;
    }
    await file.sync();
  } finally {
    await file.close();
  }
}

/** True if the file was there to remove; a concurrent sweep may have won. */
async function removeIfPresent(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return false;
    throw error;
  }
}

async function ageMs(path: string): Promise<number> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return 0;
    throw error;
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return errorCode(error) === "EPERM";
  }
}
