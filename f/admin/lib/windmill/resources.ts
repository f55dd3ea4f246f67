// Reads the bundle's configuration from Windmill resources (through windmill-client) and checks
// each with its schema (settings.ts) at the border; optional resources are handled the same in
// Windmill and locally.
import { readFile } from "node:fs/promises";
import * as wmill from "windmill-client";
import { BackupError } from "../errors.ts";
import { BackupSettings, DatabaseResource, parseResource, parseS3Config } from "../settings.ts";
import type { S3Target } from "../storage/s3.ts";

export const DEFAULT_DATABASE_RESOURCE = "f/admin/database";
export const DEFAULT_SETTINGS_RESOURCE = "f/admin/backup_settings";
export const DEFAULT_S3_RESOURCE = "f/admin/s3_backup_config";
/**
 * With WM_MOCKED_API_FILE, windmill-client falls back to the network for a resource missing from
 * the file (and fails with a misleading error), so an absent optional resource is read off the
 * file here; in Windmill, a 404 means absent.
 */
export async function optionalResource(path: string): Promise<unknown> {
  const mocked = process.env.WM_MOCKED_API_FILE;
  if (mocked) {
    const file = JSON.parse(await readFile(mocked, "utf8")) as { resources?: Record<string, unknown> };
    return file.resources?.[path];
  }
  return await wmill.getResource(path, true);
}

async function requiredResource(path: string, what: string): Promise<unknown> {
  const value = await optionalResource(path).catch((error: unknown) => {
    throw new BackupError(`Cannot read resource ${path} (${what}): ${(error as Error).message}`, { cause: error });
  });
  if (value === undefined || value === null) {
    throw new BackupError(
      `Resource ${path} (${what}) does not exist, is not visible to this script, or refers to a variable ($var:…) that does not exist. ` +
        "Create it in Windmill (the variables it refers to first), or pass another path.",
    );
  }
  return value;
}

export async function loadDatabase(path = DEFAULT_DATABASE_RESOURCE): Promise<DatabaseResource> {
  return parseResource(DatabaseResource, await requiredResource(path, "the PostgreSQL database"), path);
}

export async function loadSettings(path = DEFAULT_SETTINGS_RESOURCE): Promise<BackupSettings> {
  const value = await optionalResource(path).catch((error: unknown) => {
    throw new BackupError(`Cannot read resource ${path} (backup settings): ${(error as Error).message}`, { cause: error });
  });
  return parseResource(BackupSettings, value, path);
}

export async function loadS3Config(path = DEFAULT_S3_RESOURCE): Promise<S3Target> {
  return parseS3Config(await requiredResource(path, "the S3 bucket for backups"), path);
}

/** The S3 target when its resource exists, else undefined (for scripts where S3 is optional). */
export async function loadOptionalS3Config(path = DEFAULT_S3_RESOURCE): Promise<S3Target | undefined> {
  const value = await optionalResource(path).catch((error: unknown) => {
    throw new BackupError(`Cannot read resource ${path} (the S3 bucket for backups): ${(error as Error).message}`, { cause: error });
  });
  return value === undefined || value === null ? undefined : parseS3Config(value, path);
}
