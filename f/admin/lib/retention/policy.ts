// Retention planning for any storage (local now, S3 next): backups + now + policy → which to keep
// and which to delete, each with a reason a person can read. Pure; windows are counted in local
// calendar days and months of the configured zone, so run-time jitter and DST never move a boundary.
import { z } from "zod";
import { localDateTime, type BackupType } from "../archive/name.ts";

const count = (units: string, fallback: number) => {
  const message = `must be a whole number of ${units}, at least 1`;
  return z.number({ error: message }).int(message).min(1, message).max(100_000, `at most 100000 ${units}`).default(fallback);
};

/** How long each class is kept; unknown keys are rejected so a typo cannot silently keep the default. */
export const RetentionPolicySchema = z.strictObject({
  daily_days: count("days", 7),
  weekly_weeks: count("weeks", 4),
  monthly_months: count("months", 12),
  /** Also applies to pre-restore backups. */
  manual_days: count("days", 30),
});
export type RetentionPolicy = z.output<typeof RetentionPolicySchema>;

export const DEFAULT_RETENTION_POLICY: RetentionPolicy = RetentionPolicySchema.parse({});

export interface RetainedBackup {
  name: string;
  type: BackupType;
  /** UTC creation time from the manifest; not consulted for incomplete backups. */
  createdAt: Date;
  /** Has a valid manifest, i.e. the backup is known to be whole. */
  complete: boolean;
  /** No manifest at all: a run stopped between the archive and its manifest (not a damaged backup). */
  unfinished?: boolean;
  /** The database it is a backup of (its manifest, or the archive's own header); undefined when unknown. */
  database: string | undefined;
  pinned: boolean;
}

export interface Decision {
  name: string;
  reason: string;
}

export interface RetentionPlan {
  keep: Decision[];
  delete: Decision[];
}

export interface RetentionInput {
  backups: readonly RetainedBackup[];
  now: Date;
  policy: RetentionPolicy;
  timeZone: string;
  /** The database whose backups are judged: another database's backups in the same place are never touched. */
  database: string;
  /** False when the storage listing may have missed files: then nothing is deleted. Default true. */
  listingComplete?: boolean;
}

interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

/** Days since the epoch of a local calendar date: differences count calendar days, whatever the DST. */
const dayNumber = (date: CalendarDate): number => Date.UTC(date.year, date.month - 1, date.day) / 86_400_000;
const monthNumber = (date: CalendarDate): number => date.year * 12 + (date.month - 1);
const isoDate = (date: CalendarDate): string =>
  `${String(date.year).padStart(4, "0")}-${String(date.month).padStart(2, "0")}-${String(date.day).padStart(2, "0")}`;

interface Window {
  /** How many units back from today the backup's local date is (0 = today / this month). */
  age(created: CalendarDate, today: CalendarDate): number;
  limit: number;
  /** `7 days`, `4 weeks`, `12 months`. */
  label: string;
  /** How the backup's date is shown: a day, or a month for monthly backups. */
  dated(created: CalendarDate): string;
}

/** The retention window of a backup type; pre-restore backups are kept like manual ones. */
function windowFor(type: BackupType, policy: RetentionPolicy): Window {
  const days = (limit: number, label: string): Window => ({
    age: (created, today) => dayNumber(today) - dayNumber(created),
    limit,
    label,
    dated: isoDate,
  });
  switch (type) {
    case "daily":
      return days(policy.daily_days, plural(policy.daily_days, "day"));
    case "weekly":
      return days(policy.weekly_weeks * 7, plural(policy.weekly_weeks, "week"));
    case "monthly":
      return {
        age: (created, today) => monthNumber(today) - monthNumber(created),
        limit: policy.monthly_months,
        label: plural(policy.monthly_months, "month"),
        dated: (created) => isoDate(created).slice(0, 7),
      };
    case "manual":
      return days(policy.manual_days, plural(policy.manual_days, "day"));
    case "pre_restore":
      return days(policy.manual_days, `${plural(policy.manual_days, "day")} (the manual retention)`);
  }
}

const plural = (n: number, unit: string): string => `${n} ${unit}${n === 1 ? "" : "s"}`;
const typeLabel = (type: BackupType): string => (type === "pre_restore" ? "pre-restore" : type);

/**
 * The newest complete backup of each type, by manifest time (then name, for the `_2` of the same
 * second). Pre-restore and manual each keep their own newest: the last rollback point and the last
 * deliberate snapshot serve different purposes. Backups dated in the future are kept anyway and do
 * not count, so clock skew cannot strip the protection from the real newest backup.
 */
function newestOfEachType(backups: readonly RetainedBackup[], now: Date): Set<string> {
  const newest = new Map<BackupType, RetainedBackup>();
  for (const backup of backups) {
    if (!backup.complete || backup.createdAt.getTime() > now.getTime()) continue;
    const current = newest.get(backup.type);
    if (current === undefined || compareByTime(backup, current) > 0) newest.set(backup.type, backup);
  }
  return new Set([...newest.values()].map((backup) => backup.name));
}

const compareByTime = (a: RetainedBackup, b: RetainedBackup): number =>
  a.createdAt.getTime() - b.createdAt.getTime() || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** `3 h`, `2 days`: how long an unfinished backup has been lying there. */
function age(since: Date, now: Date): string {
  const hours = Math.max(0, Math.floor((now.getTime() - since.getTime()) / 3_600_000));
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} days`;
}

/** Decides every backup; decisions come newest first. */
export function planRetention({ backups, now, policy, timeZone, database, listingComplete = true }: RetentionInput): RetentionPlan {
  const today = localDateTime(now, timeZone);
  const ours = backups.filter((b) => b.database === database);
  const newest = newestOfEachType(ours, now);
  const plan: RetentionPlan = { keep: [], delete: [] };
  const ordered = [...backups].sort((a, b) => compareByTime(b, a));
  for (const backup of ordered) {
    const [verdict, reason] = decide(backup);
    plan[verdict].push({ name: backup.name, reason });
  }
  return plan;

  function decide(backup: RetainedBackup): ["keep" | "delete", string] {
    if (backup.database !== undefined && backup.database !== database) {
      return ["keep",
        `backup of database ${JSON.stringify(backup.database)}, not ${
          JSON.stringify(database)
        }: never touched by this database's retention`];
    }
    if (backup.pinned) return ["keep", "pinned"];
    if (backup.unfinished) return decideUnfinished(backup);
    if (!backup.complete) return ["keep", "its manifest is unreadable or does not match the archive: kept for a person to look at"];
    const created = localDateTime(backup.createdAt, timeZone);
    const kind = typeLabel(backup.type);
    if (backup.createdAt.getTime() > now.getTime()) {
      return ["keep", `${kind} backup dated ${backup.createdAt.toISOString()}, after now (${now.toISOString()}): clock skew? kept`];
    }
    if (newest.has(backup.name)) return ["keep", `newest complete ${kind} backup: always kept`];
    const window = windowFor(backup.type, policy);
    const age = window.age(created, today);
    if (age < window.limit) return ["keep", `${kind} backup from ${window.dated(created)} is within ${window.label}`];
    if (!listingComplete) {
      return ["keep",
        `${kind} backup from ${window.dated(created)} is older than ${window.label}, but the listing was incomplete: nothing is deleted`];
    }
    return ["delete", `${kind} backup from ${window.dated(created)} is older than ${window.label}`];
  }

  /**
   * An archive without a manifest is what a run killed before its last step leaves. It never
   * restores; once a complete backup of the same type and database is newer, it has no purpose left.
   */
  function decideUnfinished(backup: RetainedBackup): ["keep" | "delete", string] {
    const kind = typeLabel(backup.type);
    const unfinished = `unfinished ${kind} backup (no manifest) for ${age(backup.createdAt, now)}`;
    if (backup.database === undefined) {
      return ["keep", `${unfinished}, of an unknown database (its header is unreadable): not ours to judge, kept`];
    }
    const newer = ours
      .filter((b) =>
        b.complete && b.type === backup.type && b.createdAt.getTime() > backup.createdAt.getTime() && b.createdAt.getTime() <= now.getTime()
      )
      .sort((a, b) => compareByTime(b, a))[0];
    if (newer === undefined) return ["keep", `${unfinished}: kept until a complete ${kind} backup is newer`];
    if (!listingComplete) return ["keep", `${unfinished}, superseded by ${newer.name}, but the listing was incomplete: nothing is deleted`];
    return ["delete", `${unfinished}, superseded by the complete ${newer.name}`];
  }
}
