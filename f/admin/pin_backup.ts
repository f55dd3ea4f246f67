// Pin a backup so retention never deletes it (e.g. before a risky migration), or unpin it again.
// The pin is a small marker file beside the archive, on each storage that holds the backup.
// package_json: windmill_pg_backup

import { z } from "zod";
import { BackupError } from "./lib/errors.ts";
import { pinBackup, unpinBackup, type PinChange } from "./lib/operations/pin.ts";
import type { Storage } from "./lib/storage/storage.ts";
import { parseScriptArgs } from "./lib/windmill/args.ts";
import { loadSettings } from "./lib/windmill/resources.ts";
import { storagesAt } from "./lib/windmill/storages.ts";

/** The arguments, with main's defaults (test/windmill_arguments.test.ts keeps the two equal). */
export const Args = z.object({
  backup_filename: z.string().min(1, "give the file name of a backup, as list_backups shows it"),
  pinned: z.boolean().default(true),
  location: z.enum(["all", "local", "s3"]).default("all"),
  note: z.string().max(500).default(""),
  settings_resource: z.string().min(1).default("f/admin/backup_settings"),
  s3_resource: z.string().min(1).default("f/admin/s3_backup_config"),
});

/** Windmill's entry point: the form's (or the flow's) values, forwarded by name. */
export async function main(
  backup_filename: string,
  pinned: boolean = true,
  location: "all" | "local" | "s3" = "all",
  note: string = "",
  settings_resource: string = "f/admin/backup_settings",
  s3_resource: string = "f/admin/s3_backup_config",
) {
  return await run({ backup_filename, pinned, location, note, settings_resource, s3_resource });
}

/** The script as a library call, for other scripts and flows: `input` is checked against Args, its defaults filled in. */
export async function run(input: z.input<typeof Args>) {
  const args = parseScriptArgs(Args, input);
  const settings = await loadSettings(args.settings_resource);
  const places = await storagesAt(args.location, settings, { settings: args.settings_resource, s3: args.s3_resource }, { access: "write",
    create: settings.create_backup_dir });
  const storages: Storage[] = [places.local, places.s3].filter((storage) => storage !== undefined);

  const changes: { location: string; result: PinChange | "no such backup here" }[] = [];
  for (const storage of storages) {
    // Under "all", a backup that is only on one side is pinned where it is.
    if (args.location === "all" && (await storage.stat(args.backup_filename)) === undefined) {
      changes.push({ location: storage.location, result: "no such backup here" });
      continue;
    }
    const result = args.pinned
      ? await pinBackup(storage, args.backup_filename, args.note, new Date())
      : await unpinBackup(storage, args.backup_filename);
    changes.push({ location: storage.location, result });
  }
  if (changes.every((c) => c.result === "no such backup here")) {
    throw new BackupError(
      `No backup named ${JSON.stringify(args.backup_filename)} in ${
        storages.map((s) => s.location).join(" or ")
      }: run f/admin/list_backups and pass one of its names.`,
    );
  }
  return {
    status: "success",
    backup_filename: args.backup_filename,
    pinned: args.pinned,
    changes,
    note: args.pinned
      ? "Retention keeps this backup until it is unpinned (pinned: false)."
      : "Retention applies to this backup again.",
  };
}
