// The bundle's configuration as zod schemas, each both the check applied at the border and the
// static type: the backup settings, the database and S3 resources in the shapes Windmill and the
// seed give them, and a parser whose errors name the wrong field. Nothing here talks to Windmill
// (windmill/resources.ts reads the resources), so the library can run without it.
import { COMPRESSIONS } from "./archive/compression.ts";
import { z } from "zod";
import { DEFAULT_TIME_ZONE, assertBackupPrefix } from "./archive/name.ts";
import { BackupError } from "./errors.ts";
import { DEFAULT_RETENTION_POLICY, RetentionPolicySchema } from "./retention/policy.ts";
import { AWS_MAX_PARTS } from "./storage/s3-parts.ts";
import type { S3Target } from "./storage/s3.ts";

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

const names = z.array(z.string().min(1)).default([]);
const tableNames = z.array(z.string().regex(/^[^.]+\..+$/, "schema.table, e.g. public.error_logs")).default([]);

/** Which objects a backup covers, and whether it carries privileges, roles and database settings. */
export const DumpScope = z.strictObject({
  include_schemas: names,
  exclude_schemas: names,
  include_tables: tableNames,
  exclude_tables: tableNames,
  /** Keep these tables' definitions but not their rows (e.g. bulky logs). */
  exclude_table_data: tableNames,
  /** Leave out objects the engine cannot reproduce (listed in the result and manifest) instead of refusing. */
  skip_unsupported: z.boolean().default(false),
  /**
   * Owners, GRANTs (column grants too), default privileges, and changed privileges of extension members
   * and pg_catalog objects: who may do what is part of the database, so on by default. The roles must
   * exist where it is restored (a restore checks first; create_roles or roles: true create them).
   */
  privileges: z.boolean().default(true),
  /** Create the roles the objects use where they are missing (no passwords). */
  roles: z.boolean().default(false),
  /** ALTER DATABASE … SET and ALTER ROLE … IN DATABASE … SET. */
  database_settings: z.boolean().default(false),
});
export type DumpScope = z.infer<typeof DumpScope>;

/** The engine's options for a scope; an empty include list means "all", as it does in the settings. */
export function schemaOptions(scope: DumpScope, lockTimeoutSeconds: number) {
  const some = (list: string[]) => (list.length > 0 ? list : undefined);
  return {
    lockTimeoutMs: Math.max(1, Math.round(lockTimeoutSeconds * 1000)),
    includeSchemas: some(scope.include_schemas),
    excludeSchemas: scope.exclude_schemas,
    includeTables: some(scope.include_tables),
    excludeTables: scope.exclude_tables,
    excludeTableData: scope.exclude_table_data,
    skipUnsupported: scope.skip_unsupported,
    privileges: scope.privileges,
    roles: scope.roles,
    databaseSettings: scope.database_settings,
  };
}

/** A wait in seconds, bounded so that a typo cannot mean "forever" or overflow PostgreSQL's lock_timeout. */
const seconds = (min: number, max: number, fallback: number, meaning: string) =>
  z.number({ error: `a number of seconds from ${min} to ${max}` })
    .min(min, `at least ${min} s`).max(max, `at most ${max} s (${meaning})`)
    .default(fallback);

/** Where a secret lives: the path of a Windmill variable (mark it secret), never the secret itself. */
const VariablePath = z.string().regex(/^(u|f|g)\/[^\s]+$/, "the path of a Windmill secret variable, e.g. f/admin/backup_age_identity");

/**
 * Encryption at rest (age): new backups are encrypted to `recipients` (X25519 public keys: the
 * worker that backs up needs no secret), or else with the passphrase in `passphrase_variable`.
 * Restores open them with the identities in `identities_variable` (the private keys: set it only where
 * restores run) or the passphrase.
 */
export const EncryptionSettings = z.strictObject({
  recipients: z.array(z.string().regex(/^age1[02-9ac-hj-np-z]{58}$/, "an age X25519 public key: age1 and 58 characters (age-keygen -y)"))
    .default([]),
  passphrase_variable: VariablePath.optional(),
  identities_variable: VariablePath.optional(),
}).refine((e) => e.recipients.length > 0 || e.passphrase_variable !== undefined,
  "name what new backups are encrypted to: recipients (age1…) or passphrase_variable");
export type EncryptionSettings = z.infer<typeof EncryptionSettings>;

/**
 * Signed manifests: backups are signed with the Ed25519 key in `private_key_variable` (or an HMAC
 * with the secret in `hmac_secret_variable`); restores verify with `public_keys` (Ed25519, PEM or
 * base64) or the HMAC secret. Once signing is configured, unsigned manifests are refused unless
 * `require_signature: false`.
 */
export const SigningSettings = z.strictObject({
  private_key_variable: VariablePath.optional(),
  public_keys: z.array(z.string().min(1)).default([]),
  hmac_secret_variable: VariablePath.optional(),
  require_signature: z.boolean().optional(),
});
export type SigningSettings = z.infer<typeof SigningSettings>;

/**
 * The optional `f/admin/backup_settings` resource; every field has a default. Unknown fields are
 * refused, so a misspelt setting cannot silently leave its default in place.
 */
export const BackupSettings = z.strictObject({
  backup_dir: z.string().min(1).refine((dir) => dir.startsWith("/"),
    "an absolute path such as /var/backups/windmill-pg-backup (a job's working directory is deleted after each job)").default(
      DEFAULT_BACKUP_DIR,
    ),
  /** Create backup_dir when it is missing; off, a missing directory (a volume that is not mounted) fails the backup. */
  create_backup_dir: z.boolean().default(false),
  /**
   * false: backups (pre-restore ones too) are streamed to S3 (the backup's s3_resource) while the
   * dump runs and never written to backup_dir; listings, checks and restores read them there.
   */
  local_copy: z.boolean().default(true),
  /** How new backups are named (`PREFIX_TYPE_…`); default: the database's name. Backups are recognised whatever their prefix. */
  prefix: z.string().refine((p) => {
    try {
      assertBackupPrefix(p);
      return true;
    } catch {
      return false;
    }
  }, "letters, digits, _ and - only, starting with a letter or digit").optional(),
  time_zone: z.string().default(DEFAULT_TIME_ZONE).refine(validTimeZone, "an IANA time zone such as America/Toronto"),
  retention: RetentionPolicySchema.default(DEFAULT_RETENTION_POLICY),
  /** How long the dump waits for a table lock held by someone else (e.g. a migration). */
  lock_timeout_seconds: seconds(0.001, 3600, 30, "an hour"),
  /** How long a run waits for another backup, restore or cleanup of the same database to finish (0: not at all). */
  lock_wait_seconds: seconds(0, 86_400, 600, "a day"),
  /**
   * A backup aborts the multipart uploads of its database's backup names (its prefix) begun more
   * than this many hours ago and never finished: a run killed while streaming to S3 leaves one,
   * billed until aborted. 12: no backup should still be sending after 12 hours (1 TiB, the most a
   * streamed archive holds, at 25 MB/s), and a killed daily's upload is a day old when the next
   * daily runs. Younger ones are left: with a shared bucket and prefix, another installation's run
   * of a database of the same name may be sending it. 0 aborts them all (one installation per prefix).
   */
  stale_upload_hours: z.number({ error: "a number of hours from 0 to 720" }).min(0, "at least 0 hours")
    .max(720, "at most 720 hours (30 days)").default(12),
  /**
   * gzip (`.sql.gz`, read by `gunzip -c | psql`) or zstd (`.sql.zst`, read by `zstd -dc | psql`): zstd
   * keeps pace with reading the tables where gzip makes the backup wait on compression; writing it
   * needs Bun or Deno (every runtime reads it).
   */
  compression: z.enum(COMPRESSIONS).default("gzip"),
  /** Default 6 for gzip (1 to 9), 1 for zstd (1 to 19). */
  compression_level: z.number().int().min(1).max(19).optional(),
  /** What the dump covers: everything, with privileges, by default. */
  dump: DumpScope.default(DumpScope.parse({})),
  /**
   * Archive bytes per byte of table data, for the free-space check before a backup: 0.5 covers
   * vector-heavy data (floats as text compress about that well; the sample measures 0.47), text-heavy
   * data needs less. 0 turns the check off.
   */
  archive_size_ratio: z.number().min(0).max(10).default(0.5),
  /** Encrypt new backups with age (off when absent); see EncryptionSettings. */
  encryption: EncryptionSettings.optional(),
  /** Sign new backups' manifests and verify them before use (off when absent); see SigningSettings. */
  signing: SigningSettings.optional(),
}).superRefine((settings, context) => {
  if (!settings.local_copy && settings.create_backup_dir) {
    context.addIssue({
      code: "custom",
      path: ["create_backup_dir"],
      message: "true asks for a backup directory that local_copy: false never writes to; remove create_backup_dir, or set " +
        "local_copy: true to keep a copy on the worker",
    });
  }
});
export type BackupSettings = z.infer<typeof BackupSettings>;

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.join(".");
  if (issue.code === "unrecognized_keys") {
    const fields = issue.keys.map((key) => (where ? `${where}.${key}` : key));
    return `unknown field${fields.length > 1 ? "s" : ""} ${
      fields.map((f) => JSON.stringify(f)).join(", ")
    } (misspelt? see the README's Configuration)`;
  }
  return `${where || "(value)"}: ${issue.message}`;
}

/** Names the first wrong field, so the user knows what to fix in which resource. */
export function parseResource<T extends z.ZodType>(schema: T, value: unknown, path: string): z.infer<T> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map(describeIssue).join("; ");
  throw new BackupError(`Resource ${path} is not valid (${details}). Fix it in Windmill (Resources → ${path}).`);
}

/** Fields both S3 shapes may add: where in the bucket, encryption at rest, the provider's part limit. */
const S3Options = {
  prefix: z.string().default("").refine((p) => !p.split("/").some((segment) => segment === "." || segment === ".."), "no . or .. folders")
    .transform((p) => p.replace(/^\/+|\/+$/g, "")).transform((p) => (p === "" ? "" : `${p}/`)),
  server_side_encryption: z.enum(["AES256", "aws:kms"]).optional(),
  sse_kms_key_id: z.string().min(1).optional(),
  max_parts: z.number().int().min(1000, "at least 1000").max(AWS_MAX_PARTS, `at most ${AWS_MAX_PARTS}`).default(AWS_MAX_PARTS),
};

/** The seed's shape (AWS): `{bucket, region, access_key_id, secret_access_key}`; `endpoint` for others. */
export const SeedS3Resource = z.object({
  bucket: z.string().min(1),
  region: z.string().min(1).default("us-east-1"),
  access_key_id: z.string().min(1),
  secret_access_key: z.string().min(1),
  endpoint: z.url({ protocol: /^https?$/, error: "a URL such as https://s3.example.com" }).optional(),
  path_style: z.boolean().default(false),
  ...S3Options,
});

/** Windmill's standard `s3` resource: `endPoint` is a host name (or a URL), `port` and `useSSL` beside it. */
export const WindmillS3Resource = z.object({
  bucket: z.string().min(1),
  region: z.string().min(1).default("us-east-1"),
  endPoint: z.string().min(1).optional(),
  port: z.coerce.number().int().min(1).max(65535).optional(),
  useSSL: z.boolean().default(true),
  pathStyle: z.boolean().default(false),
  accessKey: z.string().min(1),
  secretKey: z.string().min(1),
  ...S3Options,
});

/** `endPoint` as Windmill's form takes it (`minio:9000`, `s3.example.com`, or a full URL) → a URL. */
function endpointUrl(endPoint: string, port: number | undefined, useSSL: boolean): string {
  const url = new URL(/^https?:\/\//.test(endPoint) ? endPoint : `${useSSL ? "https" : "http"}://${endPoint}`);
  if (port !== undefined && url.port === "") url.port = String(port);
  return url.origin;
}

/** Either shape, told apart by its credential fields, into one target; errors name the wrong field. */
export function parseS3Config(value: unknown, path: string): S3Target {
  const windmillShape = typeof value === "object" && value !== null &&
    ("accessKey" in value || "secretKey" in value || "endPoint" in value);
  if (windmillShape) {
    const r = parseResource(WindmillS3Resource, value, path);
    let endpoint: string | undefined;
    try {
      endpoint = r.endPoint === undefined ? undefined : endpointUrl(r.endPoint, r.port, r.useSSL);
    } catch {
      throw new BackupError(
        `Resource ${path} is not valid (endPoint: a host name such as s3.example.com or minio:9000). Fix it in Windmill (Resources → ${path}).`,
      );
    }
    return {
      bucket: r.bucket,
      region: r.region,
      endpoint,
      forcePathStyle: r.pathStyle,
      accessKeyId: r.accessKey,
      secretAccessKey: r.secretKey,
      prefix: r.prefix,
      serverSideEncryption: r.server_side_encryption,
      kmsKeyId: r.sse_kms_key_id,
      maxParts: r.max_parts,
      resourcePath: path,
    };
  }
  const r = parseResource(SeedS3Resource, value, path);
  return {
    bucket: r.bucket,
    region: r.region,
    endpoint: r.endpoint && new URL(r.endpoint).origin,
    forcePathStyle: r.path_style,
    accessKeyId: r.access_key_id,
    secretAccessKey: r.secret_access_key,
    prefix: r.prefix,
    serverSideEncryption: r.server_side_encryption,
    kmsKeyId: r.sse_kms_key_id,
    maxParts: r.max_parts,
    resourcePath: path,
  };
}

/** `fail_if_busy`: an interactive run that finds another operation running fails at once instead of waiting. */
export function busyPolicy(settings: BackupSettings, failIfBusy: boolean): BackupSettings {
  return failIfBusy ? { ...settings, lock_wait_seconds: 0 } : settings;
}
