// When a scheduled run was last due: the schedules' own cron (6 fields, seconds first, read as
// Windmill's cron_version v2 reads it, with croner) in the settings' time zone, so that a daily at
// 02:00 is expected every day at 02:00 local time across DST changes. Pure: `now` is given.
import { Cron } from "croner";
import type { BackupType } from "../archive/name.ts";
import { BackupError } from "../errors.ts";

/** What a schedule of schedules/ runs, as far as health is concerned. */
export interface ScheduleEntry {
  /** The schedule's Windmill path, e.g. f/admin/schedule_daily_backup. */
  path: string;
  cron: string;
  runs: "backup" | "drill" | "health";
  /** For a backup schedule: the type it takes. */
  backupType?: BackupType;
  enabled: boolean;
}

function cronOf(entry: Pick<ScheduleEntry, "path" | "cron">, timeZone: string): Cron {
  try {
    return new Cron(entry.cron, { timezone: timeZone, paused: true, mode: "6-part" });
  } catch (error) {
    throw new BackupError(`Schedule ${entry.path} has a cron expression croner cannot read (${entry.cron}): ${(error as Error).message}`);
  }
}

/**
 * The latest fire time that is at least `graceMs` old at `now`: a run fired then has had its grace to
 * finish, so its result must exist. Undefined when the schedule never fired before (cannot happen
 * for the repeating patterns schedules use).
 */
export function lastDue(entry: Pick<ScheduleEntry, "path" | "cron">, timeZone: string, now: Date, graceMs: number): Date | undefined {
  return cronOf(entry, timeZone).previousRuns(1, new Date(now.getTime() - graceMs + 1))[0];
}

/** The time between the two fire times before `now`: how often the schedule runs around then (a day, a week, a month). */
export function periodAround(entry: Pick<ScheduleEntry, "path" | "cron">, timeZone: string, now: Date): number {
  const [last, before] = cronOf(entry, timeZone).previousRuns(2, now);
  return last && before ? last.getTime() - before.getTime() : 0;
}
