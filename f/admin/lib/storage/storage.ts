// The one small interface every place that keeps backups implements (local disk, S3).
// Storage knows files and bytes only: nothing about gzip, manifests or PostgreSQL.
import type { Readable } from "node:stream";

export interface StoredFile {
  /** File name inside the storage (no directories): `family_brain_daily_20251208_020000.sql.gz`. */
  name: string;
  size: number;
  modifiedAt: Date;
}

export interface Listing {
  files: StoredFile[];
  /** False when the listing may have missed files (an error halfway): never delete on an incomplete listing. */
  complete: boolean;
}

/** A write started and neither finished nor abandoned: an S3 multipart upload of a run that was killed (or is still running). */
export interface OpenUpload {
  /** The file name it would have had (no directories). */
  name: string;
  /** When the storage says it began (the provider's clock). */
  initiated: Date;
  /** The storage's own handle on it (S3's UploadId). */
  id: string;
}

/** Inclusive start, exclusive end, in bytes. */
export interface ByteRange {
  start: number;
  end: number;
}

/** What a writer knows about a file before sending it; a storage may use it or not. */
export interface CreateHints {
  /** Expected size in bytes: S3 picks its part size from it (a guess is fine; parts grow past it). */
  expectedSize?: number;
  /** The file's sha256 (hex), kept beside the object where the storage can (S3 metadata). */
  sha256?: string;
}

/**
 * What a storage can do, asked by callers instead of which storage it is (pgBackRest's
 * storageFeature): a new backend says what it offers and every caller adapts.
 */
export interface StorageFeatures {
  /** Reading a file a second time costs little (a local disk), so a restore may check a whole archive before using it; elsewhere each read is a download. */
  cheapRereads: boolean;
  /** freeBytes counts the space a new file can take (a volume of our own); else it says nothing (S3). */
  freeSpace: boolean;
}

export interface Storage {
  readonly features: StorageFeatures;
  /** Where the files are, for people: a directory or `s3://bucket/prefix`. Never contains secrets. */
  readonly location: string;
  list(): Promise<Listing>;
  stat(name: string): Promise<StoredFile | undefined>;
  /** Stream a file, or one byte range of it. */
  read(name: string, range?: ByteRange): Readable;
  /**
   * Write a new file from a stream, atomically: readers see the whole file under its final name or
   * nothing. Never overwrites: `nameFor(0)`, then `nameFor(1)`, … are tried until one is free, and
   * the name used is returned.
   */
  create(nameFor: (attempt: number) => string, body: Readable, hints?: CreateHints): Promise<StoredFile>;
  /** The file is gone afterwards; removing one that is not there is not an error (a retry, or another run, got there first). */
  remove(name: string): Promise<void>;
  /** Bytes a new file can still take, or undefined where space is not ours to count (S3). */
  freeBytes(): Promise<number | undefined>;
  /**
   * Writes left open where the storage keeps them out of sight of `list` and bills for them (S3's
   * multipart uploads of a killed run). Absent where an unfinished write is a file the storage
   * sweeps by itself (local temp files).
   */
  openUploads?(): Promise<OpenUpload[]>;
  /** Give up an open upload: its parts are freed and nothing appears under its name. Gone already is not an error. */
  abortUpload?(upload: OpenUpload): Promise<void>;
}

/**
 * The `nameFor` of a file that has exactly one right name (a manifest, a pin, an upload of an
 * existing backup): when that name is taken, `taken` says why that is an error.
 */
export function exactName(name: string, taken: () => Error): (attempt: number) => string {
  return (attempt) => {
    if (attempt > 0) throw taken();
    return name;
  };
}
