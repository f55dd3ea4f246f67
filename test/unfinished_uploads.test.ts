// Which open multipart uploads a backup run aborts, as a pure decision on fixtures: only archive
// names of this run's prefix, and only those begun at least stale_upload_hours ago.
import assert from "node:assert/strict";
import { test } from "node:test";
import { abandonedUploads } from "../f/admin/lib/operations/unfinished-uploads.ts";

const now = new Date("2026-12-02T07:00:00Z");
const HOUR = 3_600_000;
const upload = (name: string, hoursAgo: number) => ({ name, initiated: new Date(now.getTime() - hoursAgo * HOUR), id: `id-${name}` });

test("abandoned uploads: our prefix's archive names, old enough; everything else is left", () => {
  const cases: Array<[string, string, number, "abort" | "recent" | "not ours"]> = [
    ["a killed daily, a day old", "family_brain_daily_20261201_070000.sql.gz", 24, "abort"],
    ["exactly the threshold", "family_brain_daily_20261201_190000.sql.gz", 12, "abort"],
    ["encrypted zstd with a sequence", "family_brain_manual_20261201_070000_2.sql.zst.age", 30, "abort"],
    ["a pre-restore backup", "family_brain_pre_restore_20261201_070000.sql.gz", 13, "abort"],
    ["begun an hour ago: a run may still send to it", "family_brain_daily_20261202_060000.sql.gz", 1, "recent"],
    ["just under the threshold", "family_brain_daily_20261201_190001.sql.gz", 11.99, "recent"],
    ["another prefix that starts like ours", "family_brain_x_daily_20261201_070000.sql.gz", 48, "not ours"],
    ["a shorter prefix's name", "family_daily_20261201_070000.sql.gz", 48, "not ours"],
    ["a manifest", "family_brain_daily_20261201_070000.manifest.json", 48, "not ours"],
    ["an unknown type", "family_brain_nightly_20261201_070000.sql.gz", 48, "not ours"],
    ["an impossible date", "family_brain_daily_20260231_070000.sql.gz", 48, "not ours"],
    ["a sequence we never write", "family_brain_daily_20261201_070000_1.sql.gz", 48, "not ours"],
    ["any other file", "notes.sql.gz", 48, "not ours"],
  ];
  const open = cases.map(([, name, hours]) => upload(name, hours));
  const { abort, recent } = abandonedUploads(open, { prefix: "family_brain", now, olderThanMs: 12 * HOUR });
  for (const [label, name, , expected] of cases) {
    const got = abort.some((u) => u.name === name) ? "abort" : recent.some((u) => u.name === name) ? "recent" : "not ours";
    assert.equal(got, expected, label);
  }
});

test("stale_upload_hours: 0 aborts every upload of our names, however recent; still none of another prefix", () => {
  const open = [upload("family_brain_daily_20261202_070000.sql.gz", 0), upload("other_daily_20261202_070000.sql.gz", 100)];
  const { abort, recent } = abandonedUploads(open, { prefix: "family_brain", now, olderThanMs: 0 });
  assert.deepEqual(abort.map((u) => u.name), ["family_brain_daily_20261202_070000.sql.gz"]);
  assert.deepEqual(recent, []);
});
