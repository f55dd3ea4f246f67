// List the backups, newest first, one row per backup with where its copies are (local, s3, both),
// so the Windmill UI renders a table: name, type, time, size, tables, rows, pinned, whether it
// checks out, and warnings (copies that differ, archives without a manifest). With view: "html", the
// same rows below a chart of the backups' sizes and durations over time (inline SVG, Windmill's `html`
// rich result).
// package_json: windmill_pg_backup

import { z } from "zod";
import { BackupError } from "./lib/errors.ts";
import { chartLayout, chartSvg, htmlTable } from "./lib/health/chart.ts";
import { takeInventory, type StoredBackup } from "./lib/operations/inventory.ts";
import { judgeCopy } from "./lib/operations/judge.ts";
import { chartPoint, listingRow, mergeInventories, type CopyPlace, type MergedBackup } from "./lib/operations/listing.ts";
import { LocalStorage } from "./lib/storage/local.ts";
import { S3Storage } from "./lib/storage/s3.ts";
import type { Storage } from "./lib/storage/storage.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { loadKeyring, loadS3Config, loadSettings } from "./lib/windmill/resources.ts";
import { s3OnlyStorage } from "./lib/windmill/storages.ts";

/** The arguments, with main's defaults (test/windmill_arguments.test.ts keeps the two equal). */
export const Args = z.object({
  include_s3: z.boolean().default(false),
  backup_type: z.enum(["all", "daily", "weekly", "monthly", "manual", "pre_restore"]).default("all"),
  verify_checksums: z.boolean().default(false),
  view: z.enum(["table", "html"]).default("table"),
  settings_resource: z.string().min(1).default("f/admin/backup_settings"),
  s3_resource: z.string().min(1).default("f/admin/s3_backup_config"),
});

/** One row of the table view. */
export type ListingRow = ReturnType<typeof listingRow>;

/** Windmill's entry point: the form's (or the flow's) values, forwarded by name. */
export async function main(
  include_s3: boolean = false,
  backup_type: "all" | "daily" | "weekly" | "monthly" | "manual" | "pre_restore" = "all",
  verify_checksums: boolean = false,
  view: "table" | "html" = "table",
  settings_resource: string = "f/admin/backup_settings",
  s3_resource: string = "f/admin/s3_backup_config",
) {
  return await run({ include_s3, backup_type, verify_checksums, view, settings_resource, s3_resource });
}

/** The script as a library call, for other scripts and flows: `input` is checked against Args, its defaults filled in. */
export async function run(input: z.input<typeof Args>) {
  const args = parseScriptArgs(Args, input);
  const settings = await loadSettings(args.settings_resource);
  // S3 only (local_copy: false): the bucket is the one place there is, include_s3 or not.
  const storages: Partial<Record<CopyPlace, Storage>> = settings.local_copy
    ? { local: new LocalStorage(settings.backup_dir, { access: "read" }) }
    : { s3: await s3OnlyStorage(args.settings_resource, args.s3_resource) };
  if (args.include_s3 && settings.local_copy) storages.s3 = new S3Storage(await loadS3Config(args.s3_resource));
  const inventories: Partial<Record<CopyPlace, StoredBackup[]>> = {};
  for (const [place, storage] of Object.entries(storages) as [CopyPlace, Storage][]) {
    const inventory = await takeInventory(storage);
    if (!inventory.complete) {
      throw new BackupError(
        `The listing of ${storage.location} stopped halfway, so this list would miss backups: retry, or run with include_s3: false for the local backups.`,
      );
    }
    inventories[place] = inventory.backups;
  }
  const keys = loadKeyring(settings);
  const rows: ListingRow[] = [];
  const shown: MergedBackup[] = [];
  for (const backup of mergeInventories(inventories)) {
    if (args.backup_type !== "all" && backup.type !== args.backup_type) continue;
    shown.push(backup);
    const verified: Partial<Record<CopyPlace, string>> = {};
    const signatures: Partial<Record<CopyPlace, string>> = {};
    for (const [place, copy] of Object.entries(backup.copies) as [CopyPlace, StoredBackup][]) {
      // The manifest's signature is checked on every listing (it costs no download); the archive only with verify_checksums.
      const judged = await judgeCopy(storages[place]!, copy, keys, args.verify_checksums ? "checksum" : "listing");
      verified[place] = judged.verdict;
      signatures[place] = judged.signature;
    }
    const words = Object.entries(signatures);
    const signature = new Set(words.map(([, w]) => w)).size === 1 ? words[0]![1] : words.map(([p, w]) => `${p}: ${w}`).join("; ");
    rows.push(listingRow(backup, settings.time_zone, verified, signature));
  }
  if (args.view === "table") return rows;
  const points = shown.map(chartPoint);
  const which = args.backup_type === "all" ? "" : ` ${args.backup_type}`;
  const layout = chartLayout(points, { title: `${points.length}${which} backups: size and duration (${settings.time_zone})`,
    timeZone: settings.time_zone });
  return { html: `<div style="background:#ffffff">${chartSvg(layout, points)}${htmlTable(rows, Object.keys(rows[0] ?? {}))}</div>` };
}
