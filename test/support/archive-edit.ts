// Edits of archives and manifests for tests: the honest kind (a manifest resealed after a test
// changes it, as another backup would have been written) and the attacker's kind (a member
// rewritten to the same length, so that the manifest's sizes and byte ranges still fit, with the
// manifest left as it was).
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { manifestText, type Manifest, type MemberRange } from "../../f/admin/lib/archive/manifest.ts";

type Json = Record<string, any>;

/** Read a manifest file, let `edit` change it, write it back sealed as the tool writes manifests. */
export function resealManifest(path: string, edit: (manifest: Json) => void): Json {
  const manifest = JSON.parse(readFileSync(path, "utf8")) as Json;
  delete manifest.manifest_sha256;
  edit(manifest);
  writeFileSync(path, manifestText(manifest as Manifest));
  return manifest;
}

/** The manifest's text sealed after `edit`, for stores other than a local file (S3). */
export function resealedText(text: string, edit: (manifest: Json) => void): string {
  const manifest = JSON.parse(text) as Json;
  delete manifest.manifest_sha256;
  edit(manifest);
  return manifestText(manifest as Manifest);
}

/** The decompressed text of one member. */
export function memberText(archive: Buffer, range: { start: number; end: number }): string {
  return gunzipSync(archive.subarray(range.start, range.end)).toString("utf8");
}

/**
 * A gzip member of exactly `length` bytes that decompresses to `content`: the spare bytes go into
 * the header's comment field (FCOMMENT), which every gzip reader skips. Throws when `content`
 * does not compress into `length` bytes.
 */
export function gzipOfLength(content: Buffer, length: number): Buffer {
  const compressed = gzipSync(content, { level: 9 });
  const body = compressed.subarray(10);
  const spare = length - 10 - 1 - body.length;
  if (spare < 0) throw new Error(`content compresses to ${compressed.length + 1} bytes, more than the ${length} available`);
  const header = Buffer.from(compressed.subarray(0, 10));
  header[3] = 0x10;
  return Buffer.concat([header, Buffer.alloc(spare, 0x61), Buffer.from([0]), body]);
}

/**
 * The attacker who can write the backup storage but not recompute what the manifest proves: one
 * member replaced by `content` at the same length, the manifest untouched.
 */
export function forgeMember(archivePath: string, range: MemberRange, content: string): void {
  const archive = readFileSync(archivePath);
  const forged = gzipOfLength(Buffer.from(content), range.end - range.start);
  writeFileSync(archivePath, Buffer.concat([archive.subarray(0, range.start), forged, archive.subarray(range.end)]));
}

/**
 * A member replaced by `content` and the manifest made to match, as a backup with that content
 * would have been written: sizes, byte ranges, member and archive digests, resealed.
 */
export function rewriteMemberHonestly(
  archivePath: string,
  manifestPath: string,
  pick: (m: Json) => Json,
  content: (old: string) => string,
): void {
  const archive = readFileSync(archivePath);
  resealManifest(manifestPath, (manifest) => {
    const range = pick(manifest);
    const replaced = gzipSync(Buffer.from(content(memberText(archive, range as MemberRange))));
    const shift = replaced.length - (range.end - range.start);
    const rebuilt = Buffer.concat([archive.subarray(0, range.start), replaced, archive.subarray(range.end)]);
    const ranges: Json[] = [manifest.sections.pre_data, manifest.sections.sequences, manifest.sections.post_data,
      ...manifest.tables.map((t: Json) => t.range)];
    if (manifest.sections.large_objects) ranges.push(manifest.sections.large_objects);
    const start = range.start;
    for (const r of ranges) {
      if (r === range) continue;
      if (r.start > start) {
        r.start += shift;
        r.end += shift;
      }
    }
    range.end += shift;
    range.sha256 = createHash("sha256").update(replaced).digest("hex");
    manifest.archive.size = rebuilt.length;
    manifest.archive.sha256 = createHash("sha256").update(rebuilt).digest("hex");
    writeFileSync(archivePath, rebuilt);
  });
}
