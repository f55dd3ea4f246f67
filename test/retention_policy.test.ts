import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BackupType } from "../f/admin/lib/archive/name.ts";
import { DEFAULT_RETENTION_POLICY, planRetention, RetentionPolicySchema, type RetainedBackup, type RetentionPlan,
  type RetentionPolicy } from "../f/admin/lib/retention/policy.ts";

const TORONTO = "America/Toronto";

interface BackupSpec {
  name: string;
  type: BackupType;
  at: string;
  complete?: boolean;
  unfinished?: boolean;
  pinned?: boolean;
  /** Default: the database under retention; null: unknown (an unfinished archive without a readable header). */
  database?: string | null;
}

const DATABASE = "family_brain";

const backup = (
  { name, type, at, complete = true, unfinished = false, pinned = false, database = DATABASE }: BackupSpec,
): RetainedBackup => ({
  name,
  type,
  createdAt: new Date(at),
  complete,
  unfinished,
  database: database ?? undefined,
  pinned,
});

function plan(
  specs: BackupSpec[],
  now: string,
  options: { policy?: RetentionPolicy; timeZone?: string; listingComplete?: boolean } = {},
): RetentionPlan {
  const backups = specs.map(backup);
  const result = planRetention({
    backups,
    now: new Date(now),
    policy: options.policy ?? DEFAULT_RETENTION_POLICY,
    timeZone: options.timeZone ?? TORONTO,
    database: DATABASE,
    listingComplete: options.listingComplete,
  });
  // Every backup is decided exactly once.
  assert.deepEqual(
    [...result.keep, ...result.delete].map((d) => d.name).sort(),
    backups.map((b) => b.name).sort(),
  );
  return result;
}

const deleted = (result: RetentionPlan): string[] => result.delete.map((d) => d.name).sort();
const reasonOf = (result: RetentionPlan, name: string): string | undefined =>
  [...result.keep, ...result.delete].find((d) => d.name === name)?.reason;

// A newer backup of each type, so the "newest is always kept" rule does not mask the window under test.
const fresh = (now: string): BackupSpec[] =>
  (["daily", "weekly", "monthly", "manual", "pre_restore"] as const).map((type) => ({ name: `fresh_${type}`, type, at: now }));

describe("retention windows (calendar-based, America/Toronto unless stated)", () => {
  const cases: { title: string; now: string; candidate: Omit<BackupSpec, "name">; deleted: boolean; timeZone?: string;
    policy?: Partial<RetentionPolicy> }[] = [
      // daily: 7 days = today and the 6 days before. now = Mon 2025-12-08 02:00 EST.
      { title: "daily, local 2025-12-02 00:00 (6 days back) is kept", now: "2025-12-08T07:00:00Z",
        candidate: { type: "daily", at: "2025-12-02T05:00:00Z" }, deleted: false },
      { title: "daily, local 2025-12-01 23:59:59 (7 days back) is deleted", now: "2025-12-08T07:00:00Z",
        candidate: { type: "daily", at: "2025-12-02T04:59:59Z" }, deleted: true },
      { title: "daily, same instant is local 2025-12-02 in UTC: kept there", now: "2025-12-08T07:00:00Z",
        candidate: { type: "daily", at: "2025-12-02T03:00:00Z" }, deleted: false, timeZone: "UTC" },
      { title: "daily, same instant is local 2025-12-01 in Toronto: deleted", now: "2025-12-08T07:00:00Z",
        candidate: { type: "daily", at: "2025-12-02T03:00:00Z" }, deleted: true },
      { title: "daily, Asia/Tokyo: the local date is already the next day", now: "2025-12-07T16:00:00Z",
        candidate: { type: "daily", at: "2025-12-01T14:59:59Z" }, deleted: true, timeZone: "Asia/Tokyo" },
      { title: "daily, Asia/Tokyo: first second of local 2025-12-02 is kept", now: "2025-12-07T16:00:00Z",
        candidate: { type: "daily", at: "2025-12-01T15:00:00Z" }, deleted: false, timeZone: "Asia/Tokyo" },
      // Run-time jitter: the 02:00 schedule of a week ago is out whether this run starts a bit early or late.
      { title: "daily, jitter: run 5 s early still deletes the backup of 7 days ago", now: "2025-12-08T06:59:55Z",
        candidate: { type: "daily", at: "2025-12-01T07:00:00Z" }, deleted: true },
      { title: "daily, jitter: run 5 s late deletes it too", now: "2025-12-08T07:00:05Z",
        candidate: { type: "daily", at: "2025-12-01T07:00:00Z" }, deleted: true },
      { title: "daily, jitter: the backup of 6 days ago survives a late run", now: "2025-12-08T07:59:59Z",
        candidate: { type: "daily", at: "2025-12-02T07:00:00Z" }, deleted: false },
      // Spring forward (2025-03-09 02:00 EST → 03:00 EDT): the short day counts as one day.
      { title: "spring DST: now 03:30 EDT, local 2025-03-03 00:00 EST kept", now: "2025-03-09T07:30:00Z",
        candidate: { type: "daily", at: "2025-03-03T05:00:00Z" }, deleted: false },
      { title: "spring DST: now 03:30 EDT, local 2025-03-02 23:59:59 deleted", now: "2025-03-09T07:30:00Z",
        candidate: { type: "daily", at: "2025-03-03T04:59:59Z" }, deleted: true },
      { title: "spring DST: a week after the short day, it is 7 days back", now: "2025-03-16T04:00:00Z",
        candidate: { type: "daily", at: "2025-03-09T07:30:00Z" }, deleted: true },
      { title: "spring DST: the short day is 6 days back the day before", now: "2025-03-16T03:59:59Z",
        candidate: { type: "daily", at: "2025-03-09T07:30:00Z" }, deleted: false },
      // Fall back (2025-11-02 02:00 EDT → 01:00 EST): the long day counts as one day.
      { title: "fall DST: now in the repeated hour (01:30 EST), local 2025-10-27 00:00 EDT kept", now: "2025-11-02T06:30:00Z",
        candidate: { type: "daily", at: "2025-10-27T04:00:00Z" }, deleted: false },
      { title: "fall DST: now in the repeated hour (01:30 EDT), local 2025-10-26 23:59:59 deleted", now: "2025-11-02T05:30:00Z",
        candidate: { type: "daily", at: "2025-10-27T03:59:59Z" }, deleted: true },
      { title: "fall DST: backup in the second 01:30 is 6 days back at local 2025-11-08 23:59:59", now: "2025-11-09T04:59:59Z",
        candidate: { type: "daily", at: "2025-11-02T06:30:00Z" }, deleted: false },
      { title: "fall DST: and 7 days back at local 2025-11-09 00:00", now: "2025-11-09T05:00:00Z",
        candidate: { type: "daily", at: "2025-11-02T06:30:00Z" }, deleted: true },
      // weekly: 4 weeks = 28 calendar days.
      { title: "weekly, 27 days back kept", now: "2025-12-08T08:00:00Z", candidate: { type: "weekly", at: "2025-11-11T08:00:00Z" },
        deleted: false },
      { title: "weekly, 28 days back deleted", now: "2025-12-08T08:00:00Z", candidate: { type: "weekly", at: "2025-11-10T08:00:00Z" },
        deleted: true },
      { title: "weekly, 1 week policy: 7 days back deleted", now: "2025-12-08T08:00:00Z",
        candidate: { type: "weekly", at: "2025-12-01T08:00:00Z" }, deleted: true, policy: { weekly_weeks: 1 } },
      // monthly: 12 months = this month and the 11 before, by local calendar month.
      { title: "monthly, local 2025-01-01 00:00 (11 months back) kept", now: "2025-12-31T12:00:00Z",
        candidate: { type: "monthly", at: "2025-01-01T05:00:00Z" }, deleted: false },
      { title: "monthly, local 2024-12-31 23:59 (12 months back) deleted", now: "2025-12-01T09:00:00Z",
        candidate: { type: "monthly", at: "2025-01-01T04:59:00Z" }, deleted: true },
      { title: "monthly, across the new year: local 2025-02-01 kept on 2026-01-01", now: "2026-01-01T05:00:00Z",
        candidate: { type: "monthly", at: "2025-02-01T09:00:00Z" }, deleted: false },
      { title: "monthly, UTC February but local January: deleted on local 2026-01-01", now: "2026-01-01T05:00:00Z",
        candidate: { type: "monthly", at: "2025-02-01T03:00:00Z" }, deleted: true },
      { title: "monthly, now is still local 2025-12-31 (UTC 2026-01-01): local 2025-01 kept", now: "2026-01-01T04:59:59Z",
        candidate: { type: "monthly", at: "2025-01-15T12:00:00Z" }, deleted: false },
      // manual, and pre-restore kept like manual: 30 days.
      { title: "manual, 29 days back kept", now: "2025-12-08T08:00:00Z", candidate: { type: "manual", at: "2025-11-09T08:00:00Z" },
        deleted: false },
      { title: "manual, 30 days back deleted", now: "2025-12-08T08:00:00Z", candidate: { type: "manual", at: "2025-11-08T08:00:00Z" },
        deleted: true },
      { title: "pre-restore, 29 days back kept", now: "2025-12-08T08:00:00Z",
        candidate: { type: "pre_restore", at: "2025-11-09T08:00:00Z" }, deleted: false },
      { title: "pre-restore, 30 days back deleted", now: "2025-12-08T08:00:00Z",
        candidate: { type: "pre_restore", at: "2025-11-08T08:00:00Z" }, deleted: true },
      { title: "pre-restore follows manual_days, not daily_days", now: "2025-12-08T08:00:00Z",
        candidate: { type: "pre_restore", at: "2025-12-05T08:00:00Z" }, deleted: true, policy: { daily_days: 30, manual_days: 3 } },
    ];
  for (const c of cases) {
    test(c.title, () => {
      const policy = RetentionPolicySchema.parse(c.policy ?? {});
      const result = plan([...fresh(c.now), { name: "candidate", ...c.candidate }], c.now, { timeZone: c.timeZone, policy });
      assert.deepEqual(deleted(result), c.deleted ? ["candidate"] : []);
    });
  }
});

describe("never deleted", () => {
  const now = "2025-12-08T08:00:00Z";
  const old = "2024-01-15T08:00:00Z";
  const older = "2024-01-10T08:00:00Z";

  test("the newest complete backup of each type, however old", () => {
    const result = plan(
      (["daily", "weekly", "monthly", "manual", "pre_restore"] as const).flatMap((type) => [
        { name: `${type}_old`, type, at: old },
        { name: `${type}_older`, type, at: older },
      ]),
      now,
    );
    assert.deepEqual(deleted(result), ["daily_older", "manual_older", "monthly_older", "pre_restore_older", "weekly_older"]);
    assert.equal(reasonOf(result, "daily_old"), "newest complete daily backup: always kept");
    assert.equal(reasonOf(result, "pre_restore_old"), "newest complete pre-restore backup: always kept");
  });

  test("manual and pre-restore each keep their newest (a newer pre-restore does not expose the last manual)", () => {
    const result = plan(
      [
        { name: "manual_old", type: "manual", at: old },
        { name: "pre_restore_new", type: "pre_restore", at: now },
      ],
      now,
    );
    assert.deepEqual(deleted(result), []);
  });

  test("an incomplete newer backup does not count as the newest", () => {
    const result = plan(
      [
        { name: "daily_old", type: "daily", at: old },
        { name: "daily_partial", type: "daily", at: now, complete: false, unfinished: true },
      ],
      now,
    );
    assert.deepEqual(deleted(result), []);
    assert.equal(reasonOf(result, "daily_old"), "newest complete daily backup: always kept");
    assert.equal(reasonOf(result, "daily_partial"),
      "unfinished daily backup (no manifest) for 0 h: kept until a complete daily backup is newer");
  });

  test("a damaged backup (a manifest that does not match) is kept however old, for a person to look at", () => {
    const result = plan([...fresh(now), { name: "damaged", type: "daily", at: old, complete: false }], now);
    assert.deepEqual(deleted(result), []);
    assert.match(reasonOf(result, "damaged") ?? "", /manifest is unreadable or does not match/);
  });

  test("a pinned backup is kept however old", () => {
    const result = plan([...fresh(now), { name: "pinned", type: "daily", at: old, pinned: true }, { name: "unpinned", type: "daily",
      at: old }], now);
    assert.deepEqual(deleted(result), ["unpinned"]);
    assert.equal(reasonOf(result, "pinned"), "pinned");
  });

  test("a backup dated in the future is kept, says why, and does not take the newest's protection", () => {
    const result = plan(
      [
        { name: "daily_future", type: "daily", at: "2026-06-01T00:00:00Z" },
        { name: "daily_old", type: "daily", at: old },
        { name: "daily_older", type: "daily", at: older },
      ],
      now,
    );
    assert.deepEqual(deleted(result), ["daily_older"]);
    assert.match(reasonOf(result, "daily_future") ?? "", /after now \(2025-12-08T08:00:00\.000Z\): clock skew\? kept/);
    assert.equal(reasonOf(result, "daily_old"), "newest complete daily backup: always kept");
  });

  test("nothing is deleted when the listing was incomplete", () => {
    const result = plan([...fresh(now), { name: "expired", type: "daily", at: old }], now, { listingComplete: false });
    assert.deepEqual(deleted(result), []);
    assert.match(reasonOf(result, "expired") ?? "", /listing was incomplete/);
  });

  test("two backups of the same second: the one with the higher sequence is the newest", () => {
    const result = plan(
      [
        { name: "fb_daily_20240115_030000.sql.gz", type: "daily", at: old },
        { name: "fb_daily_20240115_030000_2.sql.gz", type: "daily", at: old },
      ],
      now,
    );
    assert.deepEqual(deleted(result), ["fb_daily_20240115_030000.sql.gz"]);
  });
});

describe("unfinished backups (an archive without its manifest, left by a killed run)", () => {
  const now = "2025-12-08T08:00:00Z";
  const cases: { title: string; backups: BackupSpec[]; deleted: string[]; reason: RegExp; listingComplete?: boolean }[] = [
    {
      title: "removed once a complete backup of the same type is newer, even inside the window",
      backups: [{ name: "u", type: "daily", at: "2025-12-07T07:00:00Z", complete: false, unfinished: true }, { name: "c", type: "daily",
        at: "2025-12-08T07:00:00Z" }],
      deleted: ["u"],
      reason: /^unfinished daily backup \(no manifest\) for 25 h, superseded by the complete c$/,
    },
    {
      title: "kept while no complete backup of its type is newer (an older complete one does not count)",
      backups: [{ name: "u", type: "daily", at: "2025-12-01T07:00:00Z", complete: false, unfinished: true }, { name: "c", type: "daily",
        at: "2025-11-30T07:00:00Z" }],
      deleted: [],
      reason: /^unfinished daily backup \(no manifest\) for 7 days: kept until a complete daily backup is newer$/,
    },
    {
      title: "a newer complete backup of another type does not count",
      backups: [{ name: "u", type: "daily", at: "2025-12-01T07:00:00Z", complete: false, unfinished: true }, { name: "w", type: "weekly",
        at: "2025-12-07T07:00:00Z" }],
      deleted: [],
      reason: /kept until a complete daily backup is newer/,
    },
    {
      title: "a newer complete backup of another database does not count",
      backups: [{ name: "u", type: "daily", at: "2025-12-01T07:00:00Z", complete: false, unfinished: true }, { name: "o", type: "daily",
        at: "2025-12-07T07:00:00Z", database: "other" }],
      deleted: [],
      reason: /kept until a complete daily backup is newer/,
    },
    {
      title: "a pinned unfinished backup is kept",
      backups: [{ name: "u", type: "daily", at: "2025-12-01T07:00:00Z", complete: false, unfinished: true, pinned: true }, { name: "c",
        type: "daily", at: "2025-12-08T07:00:00Z" }],
      deleted: [],
      reason: /^pinned$/,
    },
    {
      title: "one whose database is unknown (no readable header) is never ours to judge",
      backups: [{ name: "u", type: "daily", at: "2025-12-01T07:00:00Z", complete: false, unfinished: true, database: null }, { name: "c",
        type: "daily", at: "2025-12-08T07:00:00Z" }],
      deleted: [],
      reason: /of an unknown database \(its header is unreadable\): not ours to judge, kept/,
    },
    {
      title: "nothing is deleted on an incomplete listing",
      backups: [{ name: "u", type: "daily", at: "2025-12-01T07:00:00Z", complete: false, unfinished: true }, { name: "c", type: "daily",
        at: "2025-12-08T07:00:00Z" }],
      deleted: [],
      reason: /superseded by c, but the listing was incomplete: nothing is deleted/,
      listingComplete: false,
    },
  ];
  for (const c of cases) {
    test(c.title, () => {
      const result = plan(c.backups, now, { listingComplete: c.listingComplete });
      assert.deepEqual(deleted(result), c.deleted);
      assert.match(reasonOf(result, "u") ?? "", c.reason);
    });
  }
});

describe("several databases sharing a directory and prefix", () => {
  const now = "2025-12-08T08:00:00Z";
  test("another database's backups are never deleted and do not count as this one's newest", () => {
    const result = plan(
      [
        { name: "ours_old", type: "daily", at: "2025-11-01T07:00:00Z" },
        { name: "theirs_only", type: "daily", at: "2025-11-01T06:00:00Z", database: "other_app" },
        { name: "theirs_new", type: "daily", at: "2025-12-08T07:00:00Z", database: "other_app" },
        { name: "theirs_unfinished", type: "daily", at: "2025-11-01T05:00:00Z", complete: false, unfinished: true, database: "other_app" },
      ],
      now,
    );
    // Before, the other database's newer daily took the "newest" protection from ours_old and its only daily was deleted.
    assert.deepEqual(deleted(result), []);
    assert.equal(reasonOf(result, "ours_old"), "newest complete daily backup: always kept");
    assert.equal(reasonOf(result, "theirs_only"),
      `backup of database "other_app", not "family_brain": never touched by this database's retention`);
    assert.match(reasonOf(result, "theirs_unfinished") ?? "", /backup of database "other_app"/);
  });
});

describe("plan shape", () => {
  test("reasons read as sentences and decisions come newest first", () => {
    const now = "2025-12-08T08:00:00Z";
    const result = plan(
      [
        { name: "d1", type: "daily", at: "2025-12-01T08:00:00Z" },
        { name: "d0", type: "daily", at: "2025-12-08T07:00:00Z" },
        { name: "d3", type: "daily", at: "2025-12-05T08:00:00Z" },
        { name: "m", type: "monthly", at: "2024-06-01T08:00:00Z" },
        { name: "m_new", type: "monthly", at: "2025-12-01T09:00:00Z" },
        { name: "p", type: "pre_restore", at: "2025-10-01T08:00:00Z" },
        { name: "p_new", type: "pre_restore", at: "2025-12-02T09:00:00Z" },
      ],
      now,
    );
    assert.deepEqual(result.keep, [
      { name: "d0", reason: "newest complete daily backup: always kept" },
      { name: "d3", reason: "daily backup from 2025-12-05 is within 7 days" },
      { name: "p_new", reason: "newest complete pre-restore backup: always kept" },
      { name: "m_new", reason: "newest complete monthly backup: always kept" },
    ]);
    assert.deepEqual(result.delete, [
      { name: "d1", reason: "daily backup from 2025-12-01 is older than 7 days" },
      { name: "p", reason: "pre-restore backup from 2025-10-01 is older than 30 days (the manual retention)" },
      { name: "m", reason: "monthly backup from 2024-06 is older than 12 months" },
    ]);
  });
});

describe("RetentionPolicySchema", () => {
  test("defaults are the seed's policy", () => {
    assert.deepEqual(RetentionPolicySchema.parse({}), { daily_days: 7, weekly_weeks: 4, monthly_months: 12, manual_days: 30 });
    assert.deepEqual(DEFAULT_RETENTION_POLICY, { daily_days: 7, weekly_weeks: 4, monthly_months: 12, manual_days: 30 });
  });

  test("a partial policy keeps the other defaults", () => {
    assert.deepEqual(RetentionPolicySchema.parse({ daily_days: 14 }), { daily_days: 14, weekly_weeks: 4, monthly_months: 12,
      manual_days: 30 });
  });

  const invalid: { title: string; input: unknown; path: string }[] = [
    { title: "zero days", input: { daily_days: 0 }, path: "daily_days" },
    { title: "fractional weeks", input: { weekly_weeks: 1.5 }, path: "weekly_weeks" },
    { title: "a string", input: { monthly_months: "12" }, path: "monthly_months" },
    { title: "a misspelt key", input: { dayly_days: 3 }, path: "" },
  ];
  for (const c of invalid) {
    test(`rejects ${c.title}, naming the field`, () => {
      const result = RetentionPolicySchema.safeParse(c.input);
      assert.equal(result.success, false);
      const issue = result.error?.issues[0];
      assert.equal(issue?.path.join("."), c.path);
      if (c.path === "") assert.match(JSON.stringify(issue), /dayly_days/);
    });
  }
});
