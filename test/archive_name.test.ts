import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { archiveNameForManifest, assertBackupPrefix, decryptedNameFor, backupNameCandidates, formatBackupName, manifestNameFor, pinNameFor,
  parseBackupName, prefixFor, type BackupType } from "../f/admin/lib/archive/name.ts";
import { BackupError } from "../f/admin/lib/errors.ts";

const TORONTO = "America/Toronto";

describe("formatBackupName", () => {
  const cases: { title: string; at: string; timeZone: string; type: BackupType; prefix: string; sequence?: number; expected: string }[] = [
    { title: "winter: EST is UTC-5", at: "2025-12-08T07:38:07Z", timeZone: TORONTO, type: "manual", prefix: "family_brain",
      expected: "family_brain_manual_20251208_023807.sql.gz" },
    { title: "summer: EDT is UTC-4", at: "2025-07-01T06:00:00Z", timeZone: TORONTO, type: "daily", prefix: "family_brain",
      expected: "family_brain_daily_20250701_020000.sql.gz" },
    { title: "local date differs from the UTC date", at: "2025-01-01T03:00:00Z", timeZone: TORONTO, type: "monthly", prefix: "family_brain",
      expected: "family_brain_monthly_20241231_220000.sql.gz" },
    { title: "midnight is 00, never 24", at: "2025-12-08T05:00:00Z", timeZone: TORONTO, type: "weekly", prefix: "fb",
      expected: "fb_weekly_20251208_000000.sql.gz" },
    { title: "spring forward: last second of EST", at: "2025-03-09T06:59:59Z", timeZone: TORONTO, type: "daily", prefix: "fb",
      expected: "fb_daily_20250309_015959.sql.gz" },
    { title: "spring forward: 02:00 local does not exist, 03:00 EDT follows", at: "2025-03-09T07:00:00Z", timeZone: TORONTO, type: "daily",
      prefix: "fb", expected: "fb_daily_20250309_030000.sql.gz" },
    { title: "fall back: first 01:30 (EDT)", at: "2025-11-02T05:30:00Z", timeZone: TORONTO, type: "manual", prefix: "fb",
      expected: "fb_manual_20251102_013000.sql.gz" },
    { title: "fall back: second 01:30 (EST) with its sequence", at: "2025-11-02T06:30:00Z", timeZone: TORONTO, type: "manual", prefix: "fb",
      sequence: 2, expected: "fb_manual_20251102_013000_2.sql.gz" },
    { title: "other zone", at: "2025-12-08T07:38:07Z", timeZone: "Asia/Kolkata", type: "pre_restore", prefix: "my-app",
      expected: "my-app_pre_restore_20251208_130807.sql.gz" },
    { title: "UTC", at: "2025-12-08T07:38:07.999Z", timeZone: "UTC", type: "manual", prefix: "A1", sequence: 12,
      expected: "A1_manual_20251208_073807_12.sql.gz" },
  ];
  for (const c of cases) {
    test(c.title, () => {
      const name = formatBackupName({ prefix: c.prefix, type: c.type, at: new Date(c.at), timeZone: c.timeZone, sequence: c.sequence });
      assert.equal(name, c.expected);
    });
  }

  test("the repeated hour at the end of DST gives the same plain name twice, so the sequence is what separates them", () => {
    const first = formatBackupName({ prefix: "fb", type: "daily", at: new Date("2025-11-02T05:15:00Z"), timeZone: TORONTO });
    const second = formatBackupName({ prefix: "fb", type: "daily", at: new Date("2025-11-02T06:15:00Z"), timeZone: TORONTO });
    assert.equal(first, second);
  });

  const invalid: { title: string; prefix: string; timeZone?: string; sequence?: number; type?: string; message: RegExp }[] = [
    { title: "prefix with a slash", prefix: "../etc", message: /Invalid backup name prefix "\.\.\/etc"/ },
    { title: "prefix starting with _", prefix: "_fb", message: /Invalid backup name prefix/ },
    { title: "prefix with a space", prefix: "family brain", message: /Invalid backup name prefix/ },
    { title: "empty prefix", prefix: "", message: /Invalid backup name prefix/ },
    { title: "hidden prefix", prefix: ".fb", message: /Invalid backup name prefix/ },
    { title: "unknown zone", prefix: "fb", timeZone: "Mars/Olympus", message: /Unknown time zone "Mars\/Olympus"/ },
    { title: "sequence 1", prefix: "fb", sequence: 1, message: /sequence 1/ },
    { title: "fractional sequence", prefix: "fb", sequence: 2.5, message: /sequence 2\.5/ },
    { title: "unknown type", prefix: "fb", type: "hourly", message: /Unknown backup type "hourly"/ },
  ];
  for (const c of invalid) {
    test(`rejects ${c.title}`, () => {
      assert.throws(
        () =>
          formatBackupName({
            prefix: c.prefix,
            type: (c.type ?? "manual") as BackupType,
            at: new Date("2025-12-08T07:38:07Z"),
            timeZone: c.timeZone ?? TORONTO,
            sequence: c.sequence,
          }),
        (error: unknown) => error instanceof BackupError && c.message.test(error.message),
      );
    });
  }
});

describe("backupNameCandidates", () => {
  test("attempt 0 is the plain name, attempt n carries sequence n + 1", () => {
    const nameFor = backupNameCandidates({ prefix: "family_brain", type: "manual", at: new Date("2025-12-08T07:38:07Z"),
      timeZone: TORONTO });
    assert.deepEqual(
      [0, 1, 2].map(nameFor),
      [
        "family_brain_manual_20251208_023807.sql.gz",
        "family_brain_manual_20251208_023807_2.sql.gz",
        "family_brain_manual_20251208_023807_3.sql.gz",
      ],
    );
  });
});

describe("parseBackupName", () => {
  const ours: { name: string; prefix: string; expected: ReturnType<typeof parseBackupName> }[] = [
    { name: "family_brain_manual_20251208_023807.sql.gz", prefix: "family_brain",
      expected: { prefix: "family_brain", type: "manual", localStamp: "20251208_023807", sequence: 1, encrypted: false,
        compression: "gzip" } },
    { name: "family_brain_pre_restore_20251208_023807_2.sql.gz", prefix: "family_brain",
      expected: { prefix: "family_brain", type: "pre_restore", localStamp: "20251208_023807", sequence: 2, encrypted: false,
        compression: "gzip" } },
    { name: "family_brain_daily_20251102_013000_17.sql.gz", prefix: "family_brain",
      expected: { prefix: "family_brain", type: "daily", localStamp: "20251102_013000", sequence: 17, encrypted: false,
        compression: "gzip" } },
    { name: "a_b_c_weekly_20250309_030000.sql.gz", prefix: "a_b_c",
      expected: { prefix: "a_b_c", type: "weekly", localStamp: "20250309_030000", sequence: 1, encrypted: false, compression: "gzip" } },
    { name: "my-app_monthly_20250101_040000.sql.gz", prefix: "my-app",
      expected: { prefix: "my-app", type: "monthly", localStamp: "20250101_040000", sequence: 1, encrypted: false, compression: "gzip" } },
    // Encrypted with age: the same name and `.age`.
    { name: "family_brain_daily_20251102_013000_2.sql.gz.age", prefix: "family_brain",
      expected: { prefix: "family_brain", type: "daily", localStamp: "20251102_013000", sequence: 2, encrypted: true,
        compression: "gzip" } },
    // Written with zstd: `.sql.zst`, and `.age` after it when encrypted.
    { name: "family_brain_daily_20251102_013000.sql.zst", prefix: "family_brain",
      expected: { prefix: "family_brain", type: "daily", localStamp: "20251102_013000", sequence: 1, encrypted: false,
        compression: "zstd" } },
    { name: "family_brain_daily_20251102_013000_2.sql.zst.age", prefix: "family_brain",
      expected: { prefix: "family_brain", type: "daily", localStamp: "20251102_013000", sequence: 2, encrypted: true,
        compression: "zstd" } },
    // A prefix that ends like a type is still read literally.
    { name: "daily_daily_20250101_040000.sql.gz", prefix: "daily",
      expected: { prefix: "daily", type: "daily", localStamp: "20250101_040000", sequence: 1, encrypted: false, compression: "gzip" } },
  ];
  for (const c of ours) {
    test(`parses ${c.name} with prefix ${c.prefix}`, () => {
      assert.deepEqual(parseBackupName(c.name, c.prefix), c.expected);
    });
  }

  const foreign: { title: string; name: string; prefix?: string }[] = [
    { title: "a pg_dump custom archive", name: "family_brain_manual_20251208_023807.dump" },
    { title: "another prefix", name: "other_manual_20251208_023807.sql.gz" },
    { title: "a longer prefix that starts with ours", name: "family_brain_old_manual_20251208_023807.sql.gz" },
    { title: "our prefix is a suffix of theirs", name: "my_family_brain_manual_20251208_023807.sql.gz" },
    { title: "a shorter prefix of ours", name: "family_brain_manual_20251208_023807.sql.gz", prefix: "family" },
    { title: "a temp file", name: ".family_brain_manual_20251208_023807.sql.gz.tmp-host-123-abcdef012345" },
    { title: "a visible temp-like file", name: "family_brain_manual_20251208_023807.sql.gz.tmp" },
    { title: "a manifest", name: "family_brain_manual_20251208_023807.manifest.json" },
    { title: "an unknown type", name: "family_brain_hourly_20251208_023807.sql.gz" },
    { title: "sequence 1", name: "family_brain_manual_20251208_023807_1.sql.gz" },
    { title: "sequence with a leading zero", name: "family_brain_manual_20251208_023807_02.sql.gz" },
    { title: "month 13", name: "family_brain_manual_20251308_023807.sql.gz" },
    { title: "February 30", name: "family_brain_manual_20250230_023807.sql.gz" },
    { title: "hour 24", name: "family_brain_manual_20251208_240000.sql.gz" },
    { title: "short date", name: "family_brain_manual_2025128_023807.sql.gz" },
    { title: "uncompressed", name: "family_brain_manual_20251208_023807.sql" },
    { title: "in a directory", name: "sub/family_brain_manual_20251208_023807.sql.gz" },
    // Names that mix extensions are no archive of ours, whatever their parts say.
    { title: "gzip then zstd", name: "family_brain_manual_20251208_023807.sql.gz.zst" },
    { title: "zstd then gzip", name: "family_brain_manual_20251208_023807.sql.zst.gz" },
    { title: "zstd encrypted then gzip", name: "family_brain_manual_20251208_023807.sql.zst.age.gz" },
    { title: "age before the compression", name: "family_brain_manual_20251208_023807.sql.age.zst" },
    { title: "zstd's long extension", name: "family_brain_manual_20251208_023807.sql.zstd" },
    { title: "a zstd temp file", name: ".family_brain_manual_20251208_023807.sql.zst.tmp-host-123-abcdef012345" },
    { title: "regex metacharacters in the prefix are literal", name: "familyXbrain_manual_20251208_023807.sql.gz", prefix: "family.brain" },
  ];
  for (const c of foreign) {
    test(`rejects ${c.title}`, () => {
      assert.equal(parseBackupName(c.name, c.prefix ?? "family_brain"), undefined);
    });
  }

  test("round-trips every type, a sequence, both compressions, encrypted or not", () => {
    for (const type of ["daily", "weekly", "monthly", "manual", "pre_restore"] as const) {
      for (const sequence of [undefined, 2, 100]) {
        for (const compression of ["gzip", "zstd"] as const) {
          for (const encrypted of [false, true]) {
            const name = formatBackupName({ prefix: "family_brain", type, at: new Date("2025-03-09T07:00:00Z"), timeZone: TORONTO, sequence,
              compression, encrypted });
            assert.deepEqual(parseBackupName(name, "family_brain"), { prefix: "family_brain", type, localStamp: "20250309_030000",
              sequence: sequence ?? 1, encrypted, compression });
          }
        }
      }
    }
  });
});

describe("manifest names", () => {
  const pairs = [
    ["family_brain_manual_20251208_023807.sql.gz", "family_brain_manual_20251208_023807.manifest.json"],
    ["family_brain_daily_20251102_013000_2.sql.gz", "family_brain_daily_20251102_013000_2.manifest.json"],
  ] as const;
  for (const [archive, manifest] of pairs) {
    test(`${archive} <-> ${manifest}`, () => {
      assert.equal(manifestNameFor(archive), manifest);
      assert.equal(archiveNameForManifest(manifest), archive);
    });
  }

  test("an encrypted archive: its manifest and pin beside it, and the name age -d gives back", () => {
    const name = formatBackupName({ prefix: "family_brain", type: "daily", at: new Date("2025-11-02T06:30:00Z"),
      timeZone: "America/Toronto", sequence: 2, encrypted: true });
    assert.equal(name, "family_brain_daily_20251102_013000_2.sql.gz.age");
    assert.equal(manifestNameFor(name), "family_brain_daily_20251102_013000_2.manifest.json");
    assert.equal(pinNameFor(name), "family_brain_daily_20251102_013000_2.pin");
    assert.equal(decryptedNameFor(name), "family_brain_daily_20251102_013000_2.sql.gz");
    assert.throws(() => decryptedNameFor("family_brain_daily_20251102_013000_2.sql.gz"), BackupError);
    for (const other of ["x_daily_20251102_013000.sql.age", "x_daily_20251102_013000.sql.gz.age.tmp", "x_daily_20251102_013000.age"]) {
      assert.equal(parseBackupName(other), undefined, other);
    }
  });

  test("a zstd archive: the same manifest and pin names, and the name age -d gives back", () => {
    const name = formatBackupName({ prefix: "family_brain", type: "daily", at: new Date("2025-11-02T06:30:00Z"),
      timeZone: "America/Toronto", encrypted: true, compression: "zstd" });
    assert.equal(name, "family_brain_daily_20251102_013000.sql.zst.age");
    assert.equal(manifestNameFor(name), "family_brain_daily_20251102_013000.manifest.json");
    assert.equal(manifestNameFor("family_brain_daily_20251102_013000.sql.zst"), "family_brain_daily_20251102_013000.manifest.json");
    assert.equal(pinNameFor(name), "family_brain_daily_20251102_013000.pin");
    assert.equal(decryptedNameFor(name), "family_brain_daily_20251102_013000.sql.zst");
    assert.equal(archiveNameForManifest("family_brain_daily_20251102_013000.manifest.json", "zstd"),
      "family_brain_daily_20251102_013000.sql.zst");
    assert.throws(() => decryptedNameFor("family_brain_daily_20251102_013000.sql.zst"), BackupError);
    assert.throws(() => decryptedNameFor("family_brain_daily_20251102_013000.age"), BackupError);
  });

  test("manifestNameFor refuses a name that is not an archive", () => {
    assert.throws(() => manifestNameFor("family_brain_manual_20251208_023807.dump"), BackupError);
    assert.throws(() => manifestNameFor(".sql.gz"), BackupError);
  });

  test("pin markers sit beside the archive and are not archives", () => {
    assert.equal(pinNameFor("family_brain_daily_20251102_013000_2.sql.gz"), "family_brain_daily_20251102_013000_2.pin");
    assert.equal(parseBackupName("family_brain_daily_20251102_013000.pin", "family_brain"), undefined);
    assert.throws(() => pinNameFor("notes.txt"), BackupError);
  });

  test("archiveNameForManifest is undefined for a name that is not a manifest", () => {
    assert.equal(archiveNameForManifest("family_brain_manual_20251208_023807.sql.gz"), undefined);
    assert.equal(archiveNameForManifest(".manifest.json"), undefined);
  });
});

describe("prefixFor and names of any prefix", () => {
  test("the prefix defaults to the database's name, made safe for a file name; a configured one wins", () => {
    assert.equal(prefixFor("family_brain"), "family_brain");
    assert.equal(prefixFor("Shop Data/2024"), "Shop_Data_2024");
    assert.equal(prefixFor("_x"), "x");
    assert.equal(prefixFor("é"), "backup");
    assert.equal(prefixFor("family_app", "family_brain"), "family_brain");
    for (const name of ["family_brain", "Shop Data/2024", "-a", "ünï", "a".repeat(200)]) {
      assert.doesNotThrow(() => assertBackupPrefix(prefixFor(name)));
    }
  });

  test("without a prefix, every name of our shape is recognised, its prefix read back; other files are not", () => {
    assert.deepEqual(parseBackupName("family_app_daily_20251208_020000.sql.gz"), { prefix: "family_app", type: "daily",
      localStamp: "20251208_020000", sequence: 1, encrypted: false, compression: "gzip" });
    assert.deepEqual(parseBackupName("a_daily_manual_20251208_020000_2.sql.gz"), { prefix: "a_daily", type: "manual",
      localStamp: "20251208_020000", sequence: 2, encrypted: false, compression: "gzip" });
    for (const name of ["nightly.sql.gz", "family_app_daily_20251308_020000.sql.gz", "_daily_20251208_020000.sql.gz",
      "x_daily_20251208_020000.sql", "x_daily_20251208_020000.manifest.json"]) {
      assert.equal(parseBackupName(name), undefined, name);
    }
  });
});
