// The merged backup list: local and S3 inventories joined by name into one row per backup, newest
// first, saying where its copies are, whether they agree, and what is wrong with them. Pure apart
// from the checksum reads the caller may ask for.
import { storedFile } from "../archive/manifest.ts";
import { localTimeLabel } from "../archive/name.ts";
import { durationText } from "../duration.ts";
import type { ChartPoint } from "../health/chart.ts";
import { megabytes } from "../size.ts";
import type { StoredBackup } from "./inventory.ts";

export type CopyPlace = "local" | "s3";

export interface MergedBackup {
  name: string;
  type: StoredBackup["type"];
  createdAt: Date;
  copies: Partial<Record<CopyPlace, StoredBackup>>;
}

/** One entry per name, newest first; the time comes from a manifest when any copy has one. */
export function mergeInventories(inventories: Partial<Record<CopyPlace, StoredBackup[]>>): MergedBackup[] {
  const merged = new Map<string, MergedBackup>();
  for (const place of ["local", "s3"] as const) {
    for (const backup of inventories[place] ?? []) {
      const entry = merged.get(backup.name) ?? { name: backup.name, type: backup.type, createdAt: backup.createdAt, copies: {} };
      entry.copies[place] = backup;
      if (backup.manifest) entry.createdAt = backup.createdAt;
      merged.set(backup.name, entry);
    }
  }
  return [...merged.values()].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.name < b.name ? 1 : -1));
}

const placesOf = (backup: MergedBackup): CopyPlace[] => (["local", "s3"] as const).filter((p) => backup.copies[p] !== undefined);

const age = (since: Date, now: Date): string => durationText(now.getTime() - since.getTime());

/** What a person should know about the copies: unfinished ones, and copies that are not the same file. */
export function copyWarnings(backup: MergedBackup, now = new Date()): string[] {
  const warnings: string[] = [];
  for (const place of placesOf(backup)) {
    const copy = backup.copies[place]!;
    if (copy.unfinished) {
      warnings.push(
        `unfinished on ${place} (no manifest), ${age(copy.createdAt, now)} old: a run stopped before its last step; not restorable, ` +
          "removed by retention once a complete backup of the same type is newer",
      );
    }
  }
  const { local, s3 } = backup.copies;
  if (local && s3) {
    if (local.size !== s3.size) warnings.push(`copies differ: local ${local.size} bytes, s3 ${s3.size} bytes`);
    const [a, b] = [local.manifest && storedFile(local.manifest).sha256, s3.manifest && storedFile(s3.manifest).sha256];
    if (a && b && a !== b) warnings.push(`copies differ: sha256 local ${a.slice(0, 12)}…, s3 ${b.slice(0, 12)}…`);
  }
  return warnings;
}

function pinnedLabel(backup: MergedBackup): string {
  const pinned = placesOf(backup).filter((p) => backup.copies[p]!.pinned);
  if (pinned.length === 0) return "no";
  return pinned.length === placesOf(backup).length ? "yes" : `${pinned[0]} only`;
}

/** One flat row per backup (the Windmill UI renders an array of flat objects as a table); `signature` as describeSignature words it. */
export function listingRow(
  backup: MergedBackup,
  timeZone: string,
  verified: Partial<Record<CopyPlace, string>>,
  signature: string,
  now = new Date(),
) {
  const places = placesOf(backup);
  const manifest = places.map((p) => backup.copies[p]!.manifest).find((m) => m !== undefined);
  const unfinished = places.every((p) => backup.copies[p]!.unfinished);
  const size = manifest ? storedFile(manifest).size : backup.copies[places[0]!]!.size;
  const verdicts = places.map((p) => verified[p]!);
  return {
    name: backup.name,
    type: backup.type,
    created_at: localTimeLabel(backup.createdAt, timeZone),
    size_mb: megabytes(size),
    location: places.length === 2 ? "both" : places[0]!,
    status: manifest ? "complete" : unfinished ? "unfinished" : "damaged",
    database: manifest?.database ?? places.map((p) => backup.copies[p]!.database).find((d) => d !== undefined) ?? null,
    tables: manifest?.totals.tables ?? null,
    rows: manifest?.totals.rows ?? null,
    encrypted: manifest?.archive.encryption?.method ?? (backup.name.endsWith(".age") ? "yes (no manifest)" : "no"),
    signature,
    pinned: pinnedLabel(backup),
    verified: new Set(verdicts).size === 1 ? verdicts[0]! : places.map((p, i) => `${p}: ${verdicts[i]}`).join("; "),
    warnings: copyWarnings(backup, now).join("; "),
  };
}

/** A backup as the chart of list_backups draws it: its size and how long it took, from whichever copy has a manifest. */
export function chartPoint(backup: MergedBackup): ChartPoint {
  const copies = placesOf(backup).map((p) => backup.copies[p]!);
  const manifest = copies.find((c) => c.manifest && !c.problem)?.manifest ?? copies.find((c) => c.manifest)?.manifest;
  return {
    name: backup.name,
    type: backup.type,
    createdAt: backup.createdAt,
    size: manifest?.archive.size ?? copies[0]!.size,
    durationMs: manifest?.duration_ms,
    complete: copies.some((c) => c.manifest !== undefined && c.problem === undefined),
  };
}
