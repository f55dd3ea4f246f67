// Backup file names: `{prefix}_{type}_{YYYYMMDD}_{HHMMSS}[_{n}].sql.gz` (`.sql.zst` when written with
// zstd, `.age` after either when encrypted), stamped with the local time of the configured zone, and the manifest name beside each archive. Pure: the name is how we
// recognise our own files, so anything that does not parse is never ours to touch.
import { BackupError } from "../errors.ts";
import { COMPRESSIONS, compressionNamed, compressionOfName, type CompressionName } from "./compression.ts";

export const BACKUP_TYPES = ["daily", "weekly", "monthly", "manual", "pre_restore"] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];

export const DEFAULT_TIME_ZONE = "America/Toronto";

/** An archive encrypted whole in the age format: `age -d` gives back the `.sql.gz` (or `.sql.zst`). */
const AGE_SUFFIX = ".age";
const EXTENSIONS = COMPRESSIONS.map((c) => compressionNamed(c).extension);
const MANIFEST_SUFFIX = ".manifest.json";
const PIN_SUFFIX = ".pin";
const PREFIX_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export interface BackupNameParts {
  prefix: string;
  type: BackupType;
  at: Date;
  timeZone: string;
  /** Collision sequence, 2 or more; absent for the first backup of a local second. */
  sequence?: number;
  /** Encrypted with age: the name ends in `.age`. */
  encrypted?: boolean;
  /** gzip (`.sql.gz`, the default) or zstd (`.sql.zst`). */
  compression?: CompressionName;
}

export interface ParsedBackupName {
  prefix: string;
  type: BackupType;
  /** Local wall-clock time of the zone the backup was named in: `YYYYMMDD_HHMMSS`. */
  localStamp: string;
  /** 1 for a name without a collision sequence. */
  sequence: number;
  /** The name ends in `.age`. */
  encrypted: boolean;
  /** What the extension says the archive was compressed with (its manifest must say the same). */
  compression: CompressionName;
}

/** Wall-clock reading of an instant in a time zone. */
export interface LocalDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function assertBackupPrefix(prefix: string): void {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new BackupError(
      `Invalid backup name prefix "${prefix}": use letters, digits, "_" and "-", starting with a letter or digit ` +
        `(e.g. "family_brain"); set "prefix" in the f/admin/backup_settings resource.`,
    );
  }
}

/**
 * Pure: the prefix new backups take when the settings name none: the database's name, with every
 * character a file name should not carry written as `_` (a database named family_brain gets
 * family_brain_manual_…; one named "Shop Data" gets Shop_Data_…).
 */
export function prefixFor(database: string, configured?: string): string {
  if (configured !== undefined) return configured;
  const plain = database.replace(/[^A-Za-z0-9_-]/g, "_").replace(/^[_-]+/, "").slice(0, 60);
  return plain === "" ? "backup" : plain;
}

// One formatter per zone: constructing Intl.DateTimeFormat is costly and retention reads many dates.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat("en-US", {
        timeZone,
        // h23, not hour12: false, which some engines render as "24" at midnight.
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      });
    } catch (error) {
      throw new BackupError(
        `Unknown time zone "${timeZone}": use an IANA zone name such as "${DEFAULT_TIME_ZONE}" ` +
          `("time_zone" in the f/admin/backup_settings resource).`,
        { cause: error },
      );
    }
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The wall-clock date and time of `at` in `timeZone`. Throws a BackupError for an unknown zone. */
export function localDateTime(at: Date, timeZone: string): LocalDateTime {
  if (Number.isNaN(at.getTime())) throw new BackupError(`Cannot read the local time of an invalid date (${String(at)}).`);
  const fields = new Map(formatterFor(timeZone).formatToParts(at).map((part) => [part.type, Number(part.value)]));
  const field = (type: Intl.DateTimeFormatPartTypes): number => fields.get(type) ?? Number.NaN;
  return {
    year: field("year"),
    month: field("month"),
    day: field("day"),
    hour: field("hour"),
    minute: field("minute"),
    second: field("second"),
  };
}

const pad = (value: number, width: number): string => String(value).padStart(width, "0");

export function formatBackupName({ prefix, type, at, timeZone, sequence, encrypted, compression = "gzip" }: BackupNameParts): string {
  assertBackupPrefix(prefix);
  if (!(BACKUP_TYPES as readonly string[]).includes(type)) {
    throw new BackupError(`Unknown backup type "${type}": expected one of ${BACKUP_TYPES.join(", ")}.`);
  }
  if (sequence !== undefined && !(Number.isSafeInteger(sequence) && sequence >= 2)) {
    throw new BackupError(`Invalid backup name sequence ${sequence}: it must be an integer of 2 or more.`);
  }
  const t = localDateTime(at, timeZone);
  const stamp = `${pad(t.year, 4)}${pad(t.month, 2)}${pad(t.day, 2)}_${pad(t.hour, 2)}${pad(t.minute, 2)}${pad(t.second, 2)}`;
  const extension = compressionNamed(compression).extension + (encrypted ? AGE_SUFFIX : "");
  return `${prefix}_${type}_${stamp}${sequence === undefined ? "" : `_${sequence}`}${extension}`;
}

/**
 * The `nameFor` of `Storage.create`: attempt 0 is the plain name, attempt n gets sequence n + 1,
 * so a second backup in the same local second (or in the repeated hour when DST ends) is `_2`.
 */
export function backupNameCandidates(parts: Omit<BackupNameParts, "sequence">): (attempt: number) => string {
  return (attempt) => formatBackupName({ ...parts, sequence: attempt === 0 ? undefined : attempt + 1 });
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Names of our shape: `undefined` for other extensions, temp files, manifests, impossible dates.
 * With `prefix`, only that prefix (matched literally, so prefixes containing `_` stay unambiguous:
 * a date must follow the type); without, any prefix: which database a backup is of is then its
 * manifest's word (or its archive's first line), never its name's.
 */
export function parseBackupName(name: string, prefix?: string): ParsedBackupName | undefined {
  const prefixPattern = prefix === undefined ? "[A-Za-z0-9][A-Za-z0-9_-]*?" : escapeRegExp(prefix);
  const pattern = new RegExp(
    `^(${prefixPattern})_(${BACKUP_TYPES.join("|")})_(\\d{8}_\\d{6})(?:_([1-9]\\d*))?(${EXTENSIONS.map(escapeRegExp).join("|")})(\\.age)?$`,
  );
  const match = pattern.exec(name);
  if (match === null) return undefined;
  const [, matchedPrefix, type, localStamp, sequenceText, extension, age] = match;
  const compression = extension === undefined ? undefined : compressionOfName(extension);
  if (matchedPrefix === undefined || type === undefined || localStamp === undefined || compression === undefined) return undefined;
  const sequence = sequenceText === undefined ? 1 : Number(sequenceText);
  // `_1` is never written, so a name carrying it was not made by us.
  if (sequenceText !== undefined && sequence < 2) return undefined;
  if (!isWallClockStamp(localStamp)) return undefined;
  return { prefix: matchedPrefix, type: type as BackupType, localStamp, sequence, encrypted: age !== undefined,
    compression: compression.name };
}

function isWallClockStamp(stamp: string): boolean {
  const [year, month, day, hour, minute, second] = [
    stamp.slice(0, 4),
    stamp.slice(4, 6),
    stamp.slice(6, 8),
    stamp.slice(9, 11),
    stamp.slice(11, 13),
    stamp.slice(13, 15),
  ].map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60
  );
}

/** `x.sql.gz`, `x.sql.zst`, or either with `.age` → `x`. */
function stemOf(archiveName: string): string {
  for (const extension of EXTENSIONS) {
    for (const suffix of [extension + AGE_SUFFIX, extension]) {
      if (archiveName.endsWith(suffix) && archiveName.length > suffix.length) return archiveName.slice(0, -suffix.length);
    }
  }
  throw new BackupError(
    `"${archiveName}" is not a backup archive name: archives end in ${
      EXTENSIONS.join(" or ")
    } (with ${AGE_SUFFIX} after it when encrypted).`,
  );
}

/** `x.sql.gz` (or `x.sql.zst`, or either `.age`) → `x.manifest.json`, written beside the archive once it is complete. */
export function manifestNameFor(archiveName: string): string {
  return stemOf(archiveName) + MANIFEST_SUFFIX;
}

/** `x.sql.gz.age` → `x.sql.gz` (`x.sql.zst.age` → `x.sql.zst`): the archive as `age -d` gives it back (the name its manifest describes). */
export function decryptedNameFor(encryptedName: string): string {
  const plain = encryptedName.slice(0, -AGE_SUFFIX.length);
  if (!encryptedName.endsWith(AGE_SUFFIX) || !EXTENSIONS.some((e) => plain.endsWith(e) && plain.length > e.length)) {
    throw new BackupError(`"${encryptedName}" is not an encrypted archive name (${EXTENSIONS.map((e) => e + AGE_SUFFIX).join(" or ")}).`);
  }
  return plain;
}

/** `x.sql.gz` (or `.sql.zst`, or either `.age`) → `x.pin`: the marker that keeps a backup out of retention while it exists. */
export function pinNameFor(archiveName: string): string {
  return manifestNameFor(archiveName).slice(0, -MANIFEST_SUFFIX.length) + PIN_SUFFIX;
}

/** `x.manifest.json` → `x.sql.gz` (`x.sql.zst` for zstd); `undefined` for a name that is not a manifest (a listing holds both). */
export function archiveNameForManifest(manifestName: string, compression: CompressionName = "gzip"): string | undefined {
  if (!manifestName.endsWith(MANIFEST_SUFFIX) || manifestName.length === MANIFEST_SUFFIX.length) return undefined;
  return manifestName.slice(0, -MANIFEST_SUFFIX.length) + compressionNamed(compression).extension;
}

/** `2025-12-08 02:38:07 America/Toronto`: local time with its zone, for manifests and results. */
export function localTimeLabel(at: Date, timeZone: string): string {
  const t = localDateTime(at, timeZone);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${t.year}-${two(t.month)}-${two(t.day)} ${two(t.hour)}:${two(t.minute)}:${two(t.second)} ${timeZone}`;
}
