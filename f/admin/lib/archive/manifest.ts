// The manifest: written last, beside the archive, it is the proof that a backup is complete and
// the map of the archive (where each member (gzip or zstd) starts and ends, and the sha256 of its bytes), with
// what a restore must find. One zod schema is both the check applied when a manifest is read back
// and the static type. Version 2 adds the members' digests, the roles the archive names, whether it
// carries privileges, and the manifest's own digest; version 1 manifests still restore (their
// archive is then checked whole before anything of it runs). An encrypted backup's manifest says how
// its archive was encrypted (never with which secret) and describes the stored `.age` file beside the
// archive inside it; a signed manifest carries a signature over its own digest.
import { createHash } from "node:crypto";
import { z } from "zod";
import { checkSignature, signManifest, type SigningKey, type VerifyingKey } from "../crypto/signing.ts";
import { OBJECT_KINDS } from "../engine/kinds.ts";
import { ArchiveIntegrityError } from "../errors.ts";
import { COMPRESSIONS, compressionNamed } from "./compression.ts";

export const MANIFEST_FORMAT = "windmill-pg-backup.manifest";
export const MANIFEST_VERSION = 2;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 in hex");

/** A member of the archive: where it starts and ends, and (version 2) the sha256 of those bytes. */
const MemberRange = z.object({ start: z.number().int().nonnegative(), end: z.number().int().nonnegative(), sha256: Sha256.optional() })
  .refine((r) => r.end >= r.start, "a byte range must not end before it starts");

/**
 * A column as the COPY statement names it: one identifier, double-quoted (or, in version 1 manifests
 * of extension configuration tables, a plain lower-case one), nothing that could end it.
 */
const QuotedIdentifier = z.string().regex(/^(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)$/, "a column must be one quoted identifier");

const TableEntry = z.object({
  schema: z.string(),
  name: z.string(),
  /** Quoted column names, in the order of the COPY lines. */
  columns: z.array(QuotedIdentifier),
  rows: z.number().int().nonnegative(),
  /** Bytes of COPY text, before compression. */
  bytes: z.number().int().nonnegative(),
  /** The table's own member in the archive. */
  range: MemberRange,
  digest: Sha256,
  /** An extension's configuration table (e.g. PostGIS's spatial_ref_sys): the rows matching this `WHERE …` ("" all). */
  condition: z.string().optional(),
});

export const Manifest = z.object({
  format: z.literal(MANIFEST_FORMAT),
  format_version: z.union([z.literal(1), z.literal(MANIFEST_VERSION)]),
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
    sha256: Sha256,
    /** How every member was compressed; the name's extension says the same (`.sql.gz`, `.sql.zst`). */
    compression: z.enum(COMPRESSIONS),
    /**
     * The archive above is stored encrypted whole in the age format (`age -d` gives it back): how, for
     * whom (public keys only), and the stored file itself. Byte ranges and digests above stay those of
     * the decrypted archive, so one table's bytes are read from the encrypted chunks that hold them.
     */
    encryption: z.object({
      method: z.enum(["age-x25519", "age-scrypt"]),
      /** The X25519 recipients (`age1…`) any of whose identities opens it; empty for a passphrase. */
      recipients: z.array(z.string().regex(/^age1[0-9a-z]+$/, "an age X25519 recipient (age1…)")),
      file: z.object({ name: z.string(), size: z.number().int().nonnegative(), sha256: Sha256 }),
    }).optional(),
  }),
  sections: z.object({
    pre_data: MemberRange,
    sequences: MemberRange,
    post_data: MemberRange,
    /** Large objects' own member (absent when there are none), with what a restore must find again. */
    large_objects: z.object({
      start: z.number().int().nonnegative(),
      end: z.number().int().nonnegative(),
      sha256: Sha256.optional(),
      count: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
      digest: Sha256,
    }).optional(),
  }),
  digest_algorithm: z.string(),
  tables: z.array(TableEntry),
  /** What the archive creates, by kind; every kind a manifest of any version names is in OBJECT_KINDS. */
  objects: z.array(z.object({ kind: z.enum(OBJECT_KINDS), schema: z.string(), name: z.string() })),
  extensions: z.array(z.object({ name: z.string(), version: z.string(), schema: z.string() })),
  /** What the backup was asked to cover (backup_settings.dump); absent in the first manifests, which covered everything. */
  scope: z.record(z.string(), z.unknown()).optional(),
  /** Objects left out because the engine cannot reproduce them (only with skip_unsupported), and credential options never archived. */
  skipped: z.array(z.string()).optional(),
  /** What the backup knew would fail at restore time; absent when nothing. */
  warnings: z.array(z.string()).optional(),
  /** The database's owner and GRANT … ON DATABASE (privileges option), for a database a restore creates. */
  database_access: z.object({
    owner: z.string(),
    grants: z.array(z.object({ grantee: z.string().nullable(), privileges: z.array(z.string()), grantable: z.boolean() })).nullable(),
  }).optional(),
  totals: z.object({ tables: z.number().int(), rows: z.number().int(), data_bytes: z.number().int() }),
  /** Version 2: whether the archive sets owners and grants (then the roles below must exist where it is restored). */
  privileges: z.boolean().optional(),
  /** Version 2: every role the archive names (owners, grantees, policies, user mappings). */
  roles: z.array(z.string()).optional(),
  /** Version 2: sha256 of this manifest's JSON without this field: an edit made without recomputing it shows. */
  manifest_sha256: Sha256.optional(),
  /** A signature over `{"manifest_sha256": …}` (which covers everything above): who signed is a key's fingerprint, never the key. */
  signature: z.object({ algorithm: z.enum(["ed25519", "hmac-sha256"]), key_id: z.string(), value: z.string().min(1) }).optional(),
}).superRefine((m, context) => {
  const problem = (message: string) => context.addIssue({ code: "custom", message });
  const extension = compressionNamed(m.archive.compression).extension;
  if (!m.archive.name.endsWith(extension)) {
    problem(`the archive ${m.archive.name} is said to be ${m.archive.compression}, whose archives end in ${extension}`);
  }
  const sealed = m.archive.encryption;
  if (sealed && sealed.file.name !== `${m.archive.name}.age`) {
    problem(`the encrypted file ${sealed.file.name} is not ${m.archive.name}.age`);
  }
  if (sealed && (sealed.method === "age-scrypt") !== (sealed.recipients.length === 0)) {
    problem("an age-x25519 archive names its recipients; an age-scrypt one names none");
  }
  if (m.signature && m.manifest_sha256 === undefined) problem("a signed manifest records its own sha256");
  const members = membersOf(m);
  // The members must tile the archive: no byte that a check skips, none that two members share.
  let next = 0;
  for (const member of members) {
    if (member.range.start !== next) return problem(`${member.label} starts at byte ${member.range.start}, expected ${next}`);
    next = member.range.end;
  }
  if (next !== m.archive.size) problem(`the members end at byte ${next}, but the archive has ${m.archive.size}`);
  if (m.format_version === 1) return;
  for (const member of members) if (member.range.sha256 === undefined) problem(`${member.label} has no sha256`);
  if (m.privileges === undefined || m.roles === undefined || m.manifest_sha256 === undefined) {
    problem("a version 2 manifest records privileges, roles and its own sha256");
  }
});

export type Manifest = z.infer<typeof Manifest>;
export type TableEntry = z.infer<typeof TableEntry>;
export type MemberRange = z.infer<typeof MemberRange>;

/** Every member of a manifest, in file order, with a label for messages. */
export function membersOf(manifest: Pick<Manifest, "sections" | "tables">): Array<{ label: string; range: MemberRange }> {
  const { pre_data, sequences, post_data, large_objects } = manifest.sections;
  return [
    { label: "the schema (pre-data)", range: pre_data },
    ...manifest.tables.map((t) => ({ label: `the rows of ${t.schema}.${t.name}`, range: t.range })),
    ...(large_objects ? [{ label: "the large objects", range: large_objects }] : []),
    { label: "the sequence values", range: sequences },
    { label: "the indexes, constraints and triggers (post-data)", range: post_data },
  ].sort((a, b) => a.range.start - b.range.start);
}

/** True when each member carries its own sha256 (version 2): a member can be proven before it is used. */
export function hasMemberDigests(manifest: Manifest): boolean {
  return manifest.format_version >= 2;
}

/** The file a backup's archive is stored as: the archive itself, or its encrypted `.age` file. */
export function storedFile(manifest: Pick<Manifest, "archive">): { name: string; size: number; sha256: string } {
  return manifest.archive.encryption?.file ?? manifest.archive;
}

/**
 * The digest a manifest carries of itself: sha256 of its JSON, in its own key order, without that
 * field and without the signature (which signs this digest).
 */
function selfDigest(json: Record<string, unknown>): string {
  const { manifest_sha256: _, signature: __, ...rest } = json;
  return createHash("sha256").update(JSON.stringify(rest)).digest("hex");
}

/** What a signature signs: the manifest's own digest, which covers every other field. */
const signedPart = (manifestSha256: string) => ({ manifest_sha256: manifestSha256 });

/** The manifest's file text, with its own digest, then (given a key) its signature, as the last fields. */
export function manifestText(manifest: Omit<Manifest, "manifest_sha256" | "signature">, signingKey?: SigningKey): string {
  const digest = selfDigest(manifest);
  const signature = signingKey ? { signature: signManifest(signedPart(digest), signingKey) } : {};
  return JSON.stringify({ ...manifest, manifest_sha256: digest, ...signature }, null, 2) + "\n";
}

/** Whether a manifest's signature holds, from the verification keys at hand. */
export type SignatureStatus =
  | { state: "valid"; algorithm: string; key_id: string }
  | { state: "unverified"; algorithm: string; key_id: string }
  | { state: "unsigned" }
  | { state: "invalid"; reason: string };

/**
 * Pure: check a parsed manifest's signature (its digest was checked against its content when it was
 * read). With no verification key at all it is `unverified` (signing was never configured here, or
 * was turned off): trusted no more than an unsigned one.
 */
export function signatureStatus(manifest: Manifest, keys: VerifyingKey[]): SignatureStatus {
  const { signature, manifest_sha256 } = manifest;
  if (!signature || manifest_sha256 === undefined) return { state: "unsigned" };
  if (keys.length === 0) return { state: "unverified", algorithm: signature.algorithm, key_id: signature.key_id };
  const verdict = checkSignature(signedPart(manifest_sha256), signature, keys);
  return verdict === "valid" ?
    { state: "valid", algorithm: signature.algorithm, key_id: signature.key_id } :
    { state: "invalid", reason: verdict };
}

/** `signed (ed25519 key sha256:…)`, `unsigned`, `INVALID: …`: for lists and results. */
export function describeSignature(status: SignatureStatus): string {
  if (status.state === "valid") return `valid (${status.algorithm} key ${status.key_id})`;
  if (status.state === "unverified") {
    return `signed (${status.algorithm} key ${status.key_id}), not verified: no verification key configured`;
  }
  return status.state === "unsigned" ? "unsigned" : `INVALID: ${status.reason}`;
}

/** Parse a manifest read back from storage; a damaged or foreign file gets an error naming it. */
export function parseManifest(text: string, name: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ArchiveIntegrityError(`Manifest ${name} is not valid JSON (${String(error)}): the backup is damaged; use another backup.`);
  }
  if (typeof json === "object" && json !== null && "manifest_sha256" in json) {
    const recorded = (json as { manifest_sha256: unknown }).manifest_sha256;
    if (recorded !== selfDigest(json as Record<string, unknown>)) {
      throw new ArchiveIntegrityError(
        `Manifest ${name} was changed after the backup (its own sha256 does not match its content): its row counts, digests or byte ranges ` +
          "cannot be trusted. Nothing was restored from it; use another backup (list_backups).",
      );
    }
  }
  const parsed = Manifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ArchiveIntegrityError(
      `Manifest ${name} is not a windmill-pg-backup manifest of version 1 or ${MANIFEST_VERSION}` +
        (issue ? ` (${issue.path.join(".") || "root"}: ${issue.message})` : "") +
        ": the backup is damaged or was written by another tool.",
    );
  }
  return parsed.data;
}
