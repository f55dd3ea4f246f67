// The manifest schema read back from storage: every object kind a manifest of either version names
// parses, a kind no version writes is refused (the list is closed), in version 1 and 2 manifests alike.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MANIFEST_FORMAT, manifestText, parseManifest, type Manifest } from "../f/admin/lib/archive/manifest.ts";
import { ArchiveIntegrityError } from "../f/admin/lib/errors.ts";
import { OBJECT_KINDS } from "../f/admin/lib/engine/kinds.ts";

const sha = (c: string) => c.repeat(64);

/** A small complete manifest of `version`; version 1 has no member digests, roles, privileges or seal. */
function manifest(version: 1 | 2, objects: Array<{ kind: string; schema: string; name: string }>): Record<string, unknown> {
  const member = (start: number, end: number) => (version === 2 ? { start, end, sha256: sha("a") } : { start, end });
  return {
    format: MANIFEST_FORMAT,
    format_version: version,
    tool: { name: "windmill-pg-backup", version: "0.1.0" },
    backup_type: "manual",
    created_at: "2025-12-08T07:38:07.000Z",
    created_at_local: "2025-12-08 02:38:07",
    time_zone: "America/Toronto",
    duration_ms: 10,
    database: "app",
    server: { version: "15.8", version_num: 150008, encoding: "UTF8", lc_collate: "C", lc_ctype: "C", locale_provider: "c",
      icu_locale: null },
    archive: { name: "family_brain_manual_20251208_023807.sql.gz", size: 30, sha256: sha("b"), compression: "gzip" },
    sections: { pre_data: member(0, 10), sequences: member(10, 20), post_data: member(20, 30) },
    digest_algorithm: "sha256-rowsum-v1",
    tables: [],
    objects,
    extensions: [],
    totals: { tables: 0, rows: 0, data_bytes: 0 },
    ...(version === 2 ? { privileges: false, roles: [] } : {}),
  };
}

const text = (m: Record<string, unknown>) =>
  m.format_version === 2 ? manifestText(m as Omit<Manifest, "manifest_sha256">) : JSON.stringify(m, null, 2);

for (const version of [1, 2] as const) {
  test(`version ${version}: a manifest naming every object kind parses`, () => {
    const objects = OBJECT_KINDS.map((kind, i) => ({ kind, schema: kind === "schema" ? "" : "public", name: `o${i}` }));
    const parsed = parseManifest(text(manifest(version, objects)), "m.json");
    assert.deepEqual(parsed.objects, objects);
  });

  test(`version ${version}: a kind no version writes is refused, naming where`, () => {
    const m = manifest(version, [{ kind: "table", schema: "public", name: "t" }, { kind: "tablespace", schema: "", name: "fast" }]);
    assert.throws(() => parseManifest(text(m), "m.json"), (error: unknown) =>
      error instanceof ArchiveIntegrityError && /objects\.1\.kind/.test(error.message) && /m\.json/.test(error.message));
  });
}
