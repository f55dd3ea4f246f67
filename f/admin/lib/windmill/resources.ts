// Reads the bundle's configuration from Windmill resources (through windmill-client), validates
// each with zod at the border, and handles optional resources the same in Windmill and locally.
import { readFile } from "node:fs/promises";
import * as wmill from "windmill-client";
import { z } from "zod";
import { BACKUP_TYPES, DEFAULT_BACKUP_PREFIX, DEFAULT_TIME_ZONE, assertBackupPrefix } from "../archive/name.ts";
import { BackupError } from "../errors.ts";
import { DEFAULT_RETENTION_POLICY, RetentionPolicySchema } from "../retention/policy.ts";

export const DEFAULT_DATABASE_RESOURCE = "f/admin/database";
export const DEFAULT_SETTINGS_RESOURCE = "f/admin/backup_settings";
/** Where backups go when the settings resource does not say: mount a volume here on every worker. */
export const DEFAULT_BACKUP_DIR = "/var/backups/windmill-pg-backup";

/** Windmill's standard `postgresql` resource. */
export const DatabaseResource = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(1).max(65535).default(5432),
  user: z.string().min(1),
  password: z.string().default(""),
  dbname: z.string().min(1),
  sslmode: z.enum(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]).default("prefer"),
  root_certificate_pem: z.string().optional(),
});
export type DatabaseResource = z.infer<typeof DatabaseResource>;

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The optional `f/admin/backup_settings` resource; every field has a default. */
export const BackupSettings = z.object({
  backup_dir: z.string().min(1).default(DEFAULT_BACKUP_DIR),
  prefix: z.string().default(DEFAULT_BACKUP_PREFIX).refine((p) => {
    try {
      assertBackupPrefix(p);
      return true;
    } catch {
      return false;
    }
  }, "letters, digits, _ and - only, starting with a letter or digit"),
  time_zone: z.string().default(DEFAULT_TIME_ZONE).refine(validTimeZone, "an IANA time zone such as America/Toronto"),
  retention: RetentionPolicySchema.default(DEFAULT_RETENTION_POLICY),
  /** How long the dump waits for a table lock held by someone else (e.g. a migration). */
  lock_timeout_seconds: z.number().positive().default(30),
  /** How long a run waits for another backup, restore or cleanup of the same database to finish. */
  lock_wait_seconds: z.number().nonnegative().default(600),
  compression_level: z.number().int().min(1).max(9).default(6),
});
export type BackupSettings = z.infer<typeof BackupSettings>;

/** Names the first wrong field, so the user knows what to fix in which resource. */
function parseResource<T extends z.ZodType>(schema: T, value: unknown, path: string): z.infer<T> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(value)"}: ${issue.message}`).join("; ");
  throw new BackupError(`Resource ${path} is not valid (${details}). Fix it in Windmill (Resources → ${path}).`);
}

/**
 * With WM_MOCKED_API_FILE, windmill-client falls back to the network for a resource missing from
 * the file (and fails with a misleading error), so an absent optional resource is read off the
 * file here; in Windmill, a 404 means absent.
 */
async function optionalResource(path: string): Promise<unknown> {
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
    throw new BackupError(`Resource ${path} (${what}) does not exist or is not visible to this script. Create it in Windmill or pass another path.`);
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

export const BackupTypeArg = z.enum(BACKUP_TYPES.filter((t) => t !== "pre_restore") as ["daily", "weekly", "monthly", "manual"]);
