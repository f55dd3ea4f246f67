// What the health check judges and what it concludes: the backups as the storages hold them (read
// from their manifests), the audit trail's events, and the findings, each with the key that names
// its incident for notifications. No I/O here.
import type { BackupType } from "../archive/name.ts";
import type { ScheduleEntry } from "./schedule.ts";

export interface CopyState {
  size: number;
  sha256: string | undefined;
  /** Has its manifest and matches it. */
  complete: boolean;
  /** No manifest: a run stopped before its last step. */
  unfinished: boolean;
  /** Why the copy cannot be trusted, when it cannot (other than being unfinished). */
  problem: string | undefined;
}

export interface HealthBackup {
  name: string;
  type: BackupType;
  createdAt: Date;
  /** The database it is a backup of; undefined when nothing says. */
  database: string | undefined;
  /** Archive bytes, from the manifest. */
  size: number | undefined;
  durationMs: number | undefined;
  /** Rows per table (`schema.table`), from the manifest. */
  tables: Record<string, number> | undefined;
  local: CopyState | undefined;
  s3: CopyState | undefined;
  /** A marker beside the local archive says its upload is owed since then. */
  uploadPendingSince: Date | undefined;
}

/** One audit row of the app's system_logs, as health reads it. */
export interface AuditEvent {
  at: Date;
  action: string;
  outcome: "success" | "failure";
  /** For backups and scheduled backup runs: the type asked for. */
  backupType: string | undefined;
  /** The backup file a drill, restore or verification was about, or the one a backup wrote. */
  backup: string | undefined;
  message: string;
}

export type AuditTrail = { readable: true; events: AuditEvent[] } | { readable: false; reason: string };

export interface Thresholds {
  /** How long a scheduled run has to finish before its result is expected. */
  graceMinutes: number;
  /** A backup smaller than the median of its type divided by this, or larger than the median times this, is flagged. */
  sizeFactor: number;
  /** How many earlier backups of a type the size median is taken over (at least 3 are needed). */
  sizeWindow: number;
  /** A table whose rows fall by more than this percentage between consecutive backups is flagged… */
  rowDropPercent: number;
  /** …when it also lost at least this many rows (small tables move by a few rows). */
  rowDropMinRows: number;
  /** How many of the newest backups row drops are looked for among. */
  rowWindow: number;
  /** Free space below this many times the newest archive's size is flagged. */
  freeSpaceFactor: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  graceMinutes: 60,
  sizeFactor: 2,
  sizeWindow: 7,
  rowDropPercent: 20,
  rowDropMinRows: 10,
  rowWindow: 7,
  freeSpaceFactor: 2,
};

export interface HealthInput {
  database: string;
  now: Date;
  timeZone: string;
  /** Every backup the storages hold (of any database: the check keeps this one's). */
  backups: HealthBackup[];
  /** Whether backup_dir was listed: false with local_copy: false (the backups are in S3 alone). */
  localListed: boolean;
  /** Whether the S3 copies were listed too. */
  s3Listed: boolean;
  audit: AuditTrail;
  schedules: readonly ScheduleEntry[];
  /** Incidents already open (from the notifier's state): a failure reported by a failure module is one. */
  openIncidents: ReadonlyArray<{ key: string; openedAt: Date }>;
  /** Free bytes of the local backup directory, when known. */
  freeBytes: number | undefined;
  thresholds: Thresholds;
}

export type Severity = "critical" | "warning" | "ok" | "info";

export interface Finding {
  /** Names the incident: the same problem found again is the same key. */
  key: string;
  check: string;
  /** What it is about: a backup type, a backup, a table, the drill. */
  subject: string;
  severity: Severity;
  message: string;
}

export interface HealthReport {
  healthy: boolean;
  findings: Finding[];
  /** Incident keys this check looked at: one of them no longer found has cleared. */
  evaluated: (key: string) => boolean;
}
