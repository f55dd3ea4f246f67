// The pure decisions behind list_backups and the free-space check: how local and S3 inventories
// merge into rows, which copies are flagged, and when a backup is refused for lack of space.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Manifest } from "../f/admin/lib/archive/manifest.ts";
import { checkFreeSpace } from "../f/admin/lib/operations/free-space.ts";
import type { StoredBackup } from "../f/admin/lib/operations/inventory.ts";
import { copyWarnings, listingRow, mergeInventories } from "../f/admin/lib/operations/listing.ts";

const manifestOf = (name: string, size: number, sha: string) =>
  ({ archive: { name, size, sha256: sha.repeat(64).slice(0, 64) }, totals: { tables: 8, rows: 100 },
    database: "family_brain" }) as unknown as Manifest;

const copy = (
  name: string,
  at: string,
  options: { size?: number; sha?: string; manifest?: boolean; pinned?: boolean } = {},
): StoredBackup => {
  const { size = 1000, sha = "a", manifest = true, pinned = false } = options;
  return {
    name,
    type: "daily",
    createdAt: new Date(at),
    size,
    pinned,
    unfinished: !manifest,
    database: "family_brain",
    manifest: manifest ? manifestOf(name, size, sha) : undefined,
    problem: manifest ? undefined : "no manifest: the backup did not finish, or was not written by this tool",
  };
};

describe("merging inventories", () => {
  test("one entry per name, newest first, with the copies found on each side", () => {
    const merged = mergeInventories({
      local: [copy("b", "2025-12-02T07:00:00Z"), copy("a", "2025-12-01T07:00:00Z")],
      s3: [copy("c", "2025-12-03T07:00:00Z"), copy("a", "2025-12-01T07:00:00Z")],
    });
    assert.deepEqual(merged.map((m) => [m.name, Object.keys(m.copies).join("+")]), [["c", "s3"], ["b", "local"], ["a", "local+s3"]]);
  });

  test("the time of a copy with a manifest wins over a file time", () => {
    const merged = mergeInventories({ local: [copy("a", "2025-12-05T00:00:00Z", { manifest: false })],
      s3: [copy("a", "2025-12-01T07:00:00Z")] });
    assert.equal(merged[0]!.createdAt.toISOString(), "2025-12-01T07:00:00.000Z");
  });
});

describe("copy warnings and row fields", () => {
  const cases: { title: string; local?: StoredBackup; s3?: StoredBackup; warnings: RegExp | ""; location: string; pinned: string }[] = [
    { title: "identical copies", local: copy("a", "2025-12-01T07:00:00Z"), s3: copy("a", "2025-12-01T07:00:00Z"), warnings: "",
      location: "both", pinned: "no" },
    { title: "sizes differ", local: copy("a", "2025-12-01T07:00:00Z"), s3: copy("a", "2025-12-01T07:00:00Z", { size: 999 }),
      warnings: /^copies differ: local 1000 bytes, s3 999 bytes$/, location: "both", pinned: "no" },
    { title: "same size, other sha256", local: copy("a", "2025-12-01T07:00:00Z"), s3: copy("a", "2025-12-01T07:00:00Z", { sha: "b" }),
      warnings: /^copies differ: sha256 local aaaaaaaaaaaa…, s3 bbbbbbbbbbbb…$/, location: "both", pinned: "no" },
    {
      title: "an upload without its manifest",
      local: copy("a", "2025-12-01T07:00:00Z"),
      s3: copy("a", "2025-12-01T07:00:00Z", { manifest: false }),
      warnings:
        /^unfinished on s3 \(no manifest\), \d+ days old: a run stopped before its last step; not restorable, removed by retention once a complete backup of the same type is newer$/,
      location: "both",
      pinned: "no",
    },
    { title: "local only, pinned", local: copy("a", "2025-12-01T07:00:00Z", { pinned: true }), warnings: "", location: "local",
      pinned: "yes" },
    { title: "pinned on one side only", local: copy("a", "2025-12-01T07:00:00Z", { pinned: true }), s3: copy("a", "2025-12-01T07:00:00Z"),
      warnings: "", location: "both", pinned: "local only" },
  ];
  for (const c of cases) {
    test(c.title, () => {
      const [merged] = mergeInventories({ local: c.local ? [c.local] : [], s3: c.s3 ? [c.s3] : [] });
      const row = listingRow(merged!, "America/Toronto", { local: "ok", s3: "ok" }, "unsigned");
      if (c.warnings === "") assert.deepEqual(copyWarnings(merged!), []);
      else assert.match(row.warnings, c.warnings);
      assert.equal(row.location, c.location);
      assert.equal(row.pinned, c.pinned);
      assert.equal(row.created_at, "2025-12-01 02:00:00 America/Toronto");
      assert.equal(row.verified, "ok");
    });
  }

  test("an unfinished backup is listed as such, with its age and its database (read from the archive's header)", () => {
    const [merged] = mergeInventories({ local: [copy("a", "2025-12-01T07:00:00Z", { manifest: false })] });
    const row = listingRow(merged!, "UTC", { local: "no" }, "unsigned", new Date("2025-12-01T10:20:00Z"));
    assert.equal(row.status, "unfinished");
    assert.equal(row.database, "family_brain");
    assert.match(row.warnings, /^unfinished on local \(no manifest\), 3 h old/);
    assert.match(copyWarnings(merged!, new Date("2025-12-01T07:40:00Z"))[0]!, /, 40 min old/);
  });

  test("different verdicts are shown per copy", () => {
    const [merged] = mergeInventories({ local: [copy("a", "2025-12-01T07:00:00Z")], s3: [copy("a", "2025-12-01T07:00:00Z")] });
    assert.equal(listingRow(merged!, "UTC", { local: "yes", s3: "no: damaged" }, "unsigned").verified, "local: yes; s3: no: damaged");
  });
});

describe("free space before a backup", () => {
  const cases: { title: string; tableBytes: number; ratio: number; freeBytes: number; refused: boolean }[] = [
    { title: "plenty of room", tableBytes: 100e6, ratio: 0.5, freeBytes: 10e9, refused: false },
    { title: "exactly the estimate fits", tableBytes: 100e6, ratio: 0.5, freeBytes: 50e6, refused: false },
    { title: "one byte short", tableBytes: 100e6, ratio: 0.5, freeBytes: 50e6 - 1, refused: true },
    { title: "ratio 0 turns the check off", tableBytes: 100e9, ratio: 0, freeBytes: 0, refused: false },
    { title: "an empty database on a full disk", tableBytes: 0, ratio: 0.5, freeBytes: 0, refused: false },
  ];
  for (const c of cases) {
    test(c.title, () => {
      const run = () => checkFreeSpace({ ...c, location: "/var/backups/wpb" });
      if (!c.refused) return assert.equal(run(), Math.ceil(c.tableBytes * c.ratio));
      assert.throws(run,
        /Not enough free space in \/var\/backups\/wpb: 47\.7 MB free \(49999999 bytes\), but the backup is estimated at 47\.7 MB \(50000000 bytes: 95\.4 MB of table data × archive_size_ratio 0\.5\)\. Nothing was written/);
    });
  }
});
