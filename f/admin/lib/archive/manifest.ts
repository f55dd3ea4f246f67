// The manifest: written last, beside the archive, it is the proof that a backup is complete and
// the map of the archive (where each gzip member starts and ends), with what a restore must find.
// One zod schema is both the check applied when a manifest is read back and the static type.
import { z } from "zod";
import { ArchiveIntegrityError } from "../errors.ts";

export const MANIFEST_FORMAT = "windmill-pg-backup.manifest";
export const MANIFEST_VERSION = 1;

const ByteRange = z.object({ start: z.number().int().nonnegative(), end: z.number().int().nonnegative() })
  .refine((r) => r.end >= r.start, "a byte range must not end before it starts");

const TableEntry = z.object({
  schema: z.string(),
  name: z.string(),
  /** Quoted column names, in the order of the COPY lines. */
  columns: z.array(z.string()),
  rows: z.number().int().nonnegative(),
  /** Bytes of COPY text, before compression. */
  bytes: z.number().int().nonnegative(),
  /** The table's own gzip member in the archive. */
  range: ByteRange,
  digest: z.string().regex(/^[0-9a-f]{64}$/),
  /** An extension's configuration table (e.g. PostGIS's spatial_ref_sys): the rows matching this `WHERE …` ("" all). */
  condition: z.string().optional(),
});

export const Manifest = z.object({
  format: z.literal(MANIFEST_FORMAT),
  format_version: z.literal(MANIFEST_VERSION),
  tool: z.object({ name: z.string(), version: z.string() }),
  backup_type: z.string(),
  created_at: z.iso.datetime(),
  created_at_local: z.string(),
  time_zone: z.string(),
  duration_ms: z.number().nonnegative(),
  database: z.string(),
  server: z.object({
    version: z.string(),
    version_num: z.number().int(),
    encoding: z.string(),
    lc_collate: z.string(),
    lc_ctype: z.string(),
    locale_provider: z.string(),
    icu_locale: z.string().nullable(),
  }),
  archive: z.object({
    name: z.string(),
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    compression: z.literal("gzip"),
  }),
  sections: z.object({
    pre_data: ByteRange, sequences: ByteRange, post_data: ByteRange,
    /** Large objects' own member (absent when there are none), with what a restore must find again. */
    large_objects: z.object({
      start: z.number().int().nonnegative(), end: z.number().int().nonnegative(),
      count: z.number().int().nonnegative(), bytes: z.number().int().nonnegative(), digest: z.string().regex(/^[0-9a-f]{64}$/),
    }).optional(),
  }),
  digest_algorithm: z.string(),
  tables: z.array(TableEntry),
  objects: z.array(z.object({ kind: z.string(), schema: z.string(), name: z.string() })),
  extensions: z.array(z.object({ name: z.string(), version: z.string(), schema: z.string() })),
  /** What the backup was asked to cover (backup_settings.dump); absent in the first manifests, which covered everything. */
  scope: z.record(z.string(), z.unknown()).optional(),
  /** Objects left out because the engine cannot reproduce them (only with skip_unsupported), and credential options never archived. */
  skipped: z.array(z.string()).optional(),
  totals: z.object({ tables: z.number().int(), rows: z.number().int(), data_bytes: z.number().int() }),
});

export type Manifest = z.infer<typeof Manifest>;
export type TableEntry = z.infer<typeof TableEntry>;
export type ByteRange = z.infer<typeof ByteRange>;

/** Parse a manifest read back from storage; a damaged or foreign file gets an error naming it. */
export function parseManifest(text: string, name: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ArchiveIntegrityError(`Manifest ${name} is not valid JSON (${String(error)}): the backup is damaged; use another backup.`);
  }
  const parsed = Manifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ArchiveIntegrityError(
      `Manifest ${name} is not a windmill-pg-backup manifest of version ${MANIFEST_VERSION}` +
        (issue ? ` (${issue.path.join(".") || "root"}: ${issue.message})` : "") +
        ": the backup is damaged or was written by another tool.",
    );
  }
  return parsed.data;
}
