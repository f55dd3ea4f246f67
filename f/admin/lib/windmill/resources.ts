// Reads the bundle's configuration from Windmill resources (through windmill-client) and checks
// each with its schema (settings.ts) at the border; optional resources are handled the same in
// Windmill and locally.
import { readFile } from "node:fs/promises";
import * as wmill from "windmill-client";
import { BackupError } from "../errors.ts";
import { keyringFor, type Keyring } from "../operations/keys.ts";
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

/**
 * A secret variable's value, for the keys of encryption and signing (never logged, never returned).
 * With WM_MOCKED_API_FILE a missing variable is read off the file too (the client would fall back
 * to the network); in Windmill, the job's token must be allowed to read it.
 */
async function readSecretVariable(path: string, purpose: string): Promise<string> {
  const missing = () =>
    new BackupError(
      `Cannot read secret variable ${path} (named by ${purpose}): it does not exist or this script may not read it. ` +
        "Create it in Windmill (Variables → New variable, marked secret) with the key, or correct the path in f/admin/backup_settings. " +
        "Nothing was written, restored or changed.",
    );
  const mocked = process.env.WM_MOCKED_API_FILE;
  if (mocked) {
    const file = JSON.parse(await readFile(mocked, "utf8")) as { variables?: Record<string, unknown> };
    const value = file.variables?.[path];
    if (typeof value !== "string" || value === "") throw missing();
    return value;
  }
  let value: unknown;
  try {
    value = await wmill.getVariable(path);
  } catch (error) {
    throw Object.assign(missing(), { cause: error });
  }
  if (typeof value !== "string" || value === "") throw missing();
  return value;
}

/** The keys the settings configure, each secret read from its Windmill variable only when an archive needs it. */
export function loadKeyring(settings: BackupSettings): Keyring {
  return keyringFor(settings, readSecretVariable);
}
