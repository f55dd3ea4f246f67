// The health check's reading of the world: the backups on each storage (their manifests), the uploads
// owed, the free space, and the audit trail in the app's system_logs; then the pure checks of
// lib/health judge them. Nothing is written.
import { readAuditRows, type StoredAuditRow } from "../engine/audit-log.ts";
import { type DatabaseTarget, withConnection } from "../engine/connection.ts";
import { assessHealth } from "../health/checks.ts";
import type { AuditEvent, AuditTrail, CopyState, HealthBackup, HealthInput, HealthReport, Thresholds } from "../health/model.ts";
import type { ScheduleEntry } from "../health/schedule.ts";
import type { Storage } from "../storage/storage.ts";
import { type StoredBackup, takeInventory } from "./inventory.ts";
import { type CopyPlace, mergeInventories, type MergedBackup } from "./listing.ts";
import { pendingNameFor } from "./upload.ts";

/** How many of the newest audit rows are read: months of a daily schedule with its drills and cleanups. */
const AUDIT_ROWS = 2000;

export interface HealthRequest {
  database: DatabaseTarget;
  timeZone: string;
  /** Absent with local_copy: false (the backups are in S3 alone). */
  local: Storage | undefined;
  s3: Storage | undefined;
  schedules: readonly ScheduleEntry[];
  thresholds: Thresholds;
  openIncidents: HealthInput["openIncidents"];
  now: Date;
}

function copyState(copy: StoredBackup | undefined): CopyState | undefined {
  if (!copy) return undefined;
  return {
    size: copy.size,
    sha256: copy.manifest?.archive.sha256,
    complete: copy.manifest !== undefined && copy.problem === undefined,
    unfinished: copy.unfinished,
    problem: copy.unfinished ? undefined : copy.problem,
  };
}

/** A merged backup as the checks see it; the manifest of whichever copy has one. */
export function healthBackup(backup: MergedBackup, uploadPendingSince: Date | undefined): HealthBackup {
  const copies = [backup.copies.local, backup.copies.s3].filter((c): c is StoredBackup => c !== undefined);
  const manifest = copies.find((c) => c.manifest && !c.problem)?.manifest ?? copies.find((c) => c.manifest)?.manifest;
  return {
    name: backup.name,
    type: backup.type,
    createdAt: backup.createdAt,
    database: manifest?.database ?? copies.find((c) => c.database !== undefined)?.database,
    size: manifest?.archive.size,
    durationMs: manifest?.duration_ms,
    tables: manifest ? Object.fromEntries(manifest.tables.map((t) => [`${t.schema}.${t.name}`, t.rows])) : undefined,
    local: copyState(backup.copies.local),
    s3: copyState(backup.copies.s3),
    uploadPendingSince,
  };
}

/** When each owed upload was asked for: the marker's `since`, else the marker file's time. */
async function pendingUploads(local: Storage, names: string[]): Promise<Map<string, Date>> {
  const files = new Map((await local.list()).files.map((f) => [f.name, f]));
  const owed = new Map<string, Date>();
  for (const name of names) {
    const marker = files.get(pendingNameFor(name));
    if (!marker) continue;
    const chunks: Buffer[] = [];
    let since = marker.modifiedAt;
    try {
      for await (const chunk of local.read(marker.name)) chunks.push(chunk as Buffer);
      const recorded = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { since?: unknown }).since;
      if (typeof recorded === "string" && !Number.isNaN(Date.parse(recorded))) since = new Date(recorded);
    } catch {
      // A marker written by an older version, or cut short: its file time says enough.
    }
    owed.set(name, since);
  }
  return owed;
}

const text = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

/** An audit row as an event, or undefined for a row the bundle did not write (or cannot date). */
export function auditEvent(row: StoredAuditRow): AuditEvent | undefined {
  let details: Record<string, unknown>;
  try {
    const parsed = JSON.parse(row.details ?? "null") as unknown;
    if (typeof parsed !== "object" || parsed === null) return undefined;
    details = parsed as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const action = text(details.action);
  const outcome = details.outcome;
  const at = text(details.at) ? new Date(details.at as string) : row.at;
  if (!action || (outcome !== "success" && outcome !== "failure") || !at || Number.isNaN(at.getTime())) return undefined;
  return {
    at,
    action,
    outcome,
    backupType: text(details.backup_type),
    backup: text(details.backup) ?? text(details.backup_filename) ?? text(details.filename),
    message: text(details.error) ?? row.message ?? "",
  };
}

async function readAuditTrail(database: DatabaseTarget): Promise<AuditTrail> {
  try {
    const rows = await withConnection(database, "windmill-pg-backup: health", (client) => readAuditRows(client, AUDIT_ROWS));
    if (typeof rows === "string") return { readable: false, reason: rows };
    return { readable: true, events: rows.map(auditEvent).filter((e): e is AuditEvent => e !== undefined) };
  } catch (error) {
    return { readable: false, reason: `database ${database.dbname}: ${(error as Error).message}` };
  }
}

export interface HealthOutcome {
  input: HealthInput;
  report: HealthReport;
  /** Every backup, merged (for the chart and the details). */
  backups: MergedBackup[];
}

export async function checkHealth(request: HealthRequest): Promise<HealthOutcome> {
  const inventories: Partial<Record<CopyPlace, StoredBackup[]>> = {};
  if (request.local) inventories.local = (await takeInventory(request.local)).backups;
  if (request.s3) inventories.s3 = (await takeInventory(request.s3)).backups;
  const merged = mergeInventories(inventories);
  const owed = request.local && inventories.local
    ? await pendingUploads(request.local, inventories.local.map((b) => b.name))
    : new Map<string, Date>();
  const input: HealthInput = {
    database: request.database.dbname,
    now: request.now,
    timeZone: request.timeZone,
    backups: merged.map((b) => healthBackup(b, owed.get(b.name))),
    localListed: request.local !== undefined,
    s3Listed: request.s3 !== undefined,
    audit: await readAuditTrail(request.database),
    schedules: request.schedules,
    openIncidents: request.openIncidents,
    freeBytes: request.local?.features.freeSpace ? await request.local.freeBytes() : undefined,
    thresholds: request.thresholds,
  };
  return { input, report: assessHealth(input), backups: merged };
}
