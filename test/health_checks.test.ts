// The health checks as pure decisions on fixtures, "now" given: when a scheduled backup is overdue
// (from the schedules' cron in the settings' zone, across DST), failed runs and when they are made
// good, sizes against the median, row drops between consecutive backups, copies that disagree,
// uploads owed, verification, the drill, free space, and which incidents a check may clear.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { BackupType } from "../f/admin/lib/archive/name.ts";
import { assessHealth } from "../f/admin/lib/health/checks.ts";
import { type AuditEvent, DEFAULT_THRESHOLDS, type Finding, type HealthBackup, type HealthInput } from "../f/admin/lib/health/model.ts";
import { healthMarkdown } from "../f/admin/lib/health/report.ts";
import { lastDue } from "../f/admin/lib/health/schedule.ts";
import { SCHEDULES } from "../f/admin/lib/health/schedule-table.ts";

const TORONTO = "America/Toronto";
const DB = "family_brain";
const MB = 1_048_576;

interface Spec {
  type?: BackupType;
  at: string;
  size?: number;
  tables?: Record<string, number>;
  s3?: "same" | "other size" | "other sha" | "unfinished";
  local?: false;
  pendingSince?: string;
  database?: string;
  damaged?: boolean;
}

function backup(spec: Spec): HealthBackup {
  const type = spec.type ?? "daily";
  const stamp = spec.at.replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
  const size = spec.size ?? 10 * MB;
  const sha = "a".repeat(64);
  const copy = { size, sha256: sha, complete: !spec.damaged, unfinished: false,
    problem: spec.damaged ? "size 1 bytes differs from the manifest's" : undefined };
  return {
    name: `family_brain_${type}_${stamp}.sql.gz`,
    type,
    createdAt: new Date(spec.at),
    database: spec.database ?? DB,
    size,
    durationMs: 1000,
    tables: spec.tables ?? { "public.users": 100 },
    local: spec.local === false ? undefined : copy,
    s3: spec.s3 === undefined
      ? undefined
      : spec.s3 === "same"
      ? copy
      : spec.s3 === "other size"
      ? { ...copy, size: size - 1 }
      : spec.s3 === "other sha"
      ? { ...copy, sha256: "b".repeat(64) }
      : { ...copy, complete: false, unfinished: true, sha256: undefined },
    uploadPendingSince: spec.pendingSince ? new Date(spec.pendingSince) : undefined,
  };
}

const event = (at: string, action: string, outcome: "success" | "failure", extra: Partial<AuditEvent> = {}): AuditEvent => ({
  at: new Date(at),
  action,
  outcome,
  backupType: undefined,
  backup: undefined,
  message: `${action} ${outcome}`,
  ...extra,
});

/** Dailies at 02:00 Toronto (07:00Z in winter) for `days` days before 2026-12-02, newest last. */
const dailies = (days: number, last = "2026-12-02", extra: Partial<Spec> = {}): Spec[] =>
  Array.from({ length: days }, (_, i) => {
    const day = new Date(Date.parse(`${last}T07:00:00Z`) - (days - 1 - i) * 86_400_000);
    return { at: day.toISOString().slice(0, 19) + "Z", ...extra };
  });

function input(specs: Spec[], now: string, extra: Partial<HealthInput> = {}): HealthInput {
  return {
    database: DB,
    now: new Date(now),
    timeZone: TORONTO,
    backups: specs.map(backup),
    localListed: true,
    s3Listed: false,
    audit: { readable: true, events: [] },
    schedules: SCHEDULES.filter((s) => s.backupType === "daily"),
    openIncidents: [],
    freeBytes: undefined,
    thresholds: DEFAULT_THRESHOLDS,
    ...extra,
  };
}

const findings = (health: HealthInput, check?: string): Finding[] =>
  assessHealth(health).findings.filter((f) => check === undefined || f.check === check);
const problems = (health: HealthInput) =>
  assessHealth(health).findings.filter((f) => f.severity === "critical" || f.severity === "warning").map((f) => `${f.severity} ${f.key}`);

describe("when a scheduled run was due (the schedules' cron, the settings' zone)", () => {
  const daily = SCHEDULES.find((s) => s.backupType === "daily")!;
  const hour = 3_600_000;
  const cases: Array<[string, string, string]> = [
    // [now, expected last due, why]
    ["2026-12-02T07:59:00Z", "2026-12-01T07:00:00.000Z", "02:59 Toronto: today's 02:00 run is still within its hour of grace"],
    ["2026-12-02T08:00:00Z", "2026-12-02T07:00:00.000Z", "03:00: today's run is due, so a daily older than 25 h is stale"],
    ["2026-03-08T07:59:00Z", "2026-03-07T07:00:00.000Z", "spring forward: 02:00 does not exist, the run fires at 03:00 EDT (07:00Z)"],
    ["2026-03-08T08:00:00Z", "2026-03-08T07:00:00.000Z", "…and is due an hour later"],
    ["2026-11-01T09:00:00Z", "2026-11-01T07:00:00.000Z", "fall back: 02:00 EST is 07:00Z"],
  ];
  for (const [now, due, why] of cases) {
    test(why, () => assert.equal(lastDue(daily, TORONTO, new Date(now), hour)?.toISOString(), due));
  }
  test("in another zone the same cron is due at that zone's 02:00", () => {
    assert.equal(lastDue(daily, "Europe/Paris", new Date("2026-12-02T08:00:00Z"), hour)?.toISOString(), "2026-12-02T01:00:00.000Z");
  });
});

describe("staleness", () => {
  const cases: Array<{ name: string; specs: Spec[]; now: string; expect: string[] }> = [
    { name: "today's daily is there", specs: dailies(3), now: "2026-12-02T15:00:00Z", expect: [] },
    { name: "a daily 25 h old after today's run was due is stale", specs: dailies(3, "2026-12-01"), now: "2026-12-02T08:00:00Z",
      expect: ["critical stale:daily"] },
    { name: "a daily 24 h 59 min old is not stale yet", specs: dailies(3, "2026-12-01"), now: "2026-12-02T07:59:00Z", expect: [] },
    { name: "no daily at all", specs: [{ type: "manual", at: "2026-12-02T05:00:00Z" }], now: "2026-12-02T15:00:00Z",
      expect: ["critical stale:daily"] },
    { name: "a manual backup does not stand in for the daily",
      specs: [...dailies(2, "2026-11-30"), { type: "manual", at: "2026-12-02T05:00:00Z" }], now: "2026-12-02T15:00:00Z",
      expect: ["critical stale:daily"] },
    { name: "another database's backups do not count", specs: dailies(3, "2026-12-02", { database: "other" }), now: "2026-12-02T15:00:00Z",
      expect: ["critical stale:daily"] },
    { name: "a damaged newest backup does not count", specs: [...dailies(2, "2026-12-01"), { at: "2026-12-02T07:00:00Z", damaged: true }],
      now: "2026-12-02T15:00:00Z", expect: ["critical stale:daily", "warning damaged:family_brain_daily_20261202_070000.sql.gz"] },
    { name: "a copy on S3 alone counts", specs: [...dailies(2, "2026-12-01"), { at: "2026-12-02T07:00:00Z", local: false, s3: "same" }],
      now: "2026-12-02T15:00:00Z", expect: [] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(problems(input(c.specs, c.now)), c.expect));

  test("the message names the schedule, its cron and the run due, in local time", () => {
    const [stale] = findings(input(dailies(2, "2026-11-30"), "2026-12-02T15:00:00Z"), "newest backup");
    assert.match(stale!.message,
      /taken 2 days ago: f\/admin\/schedule_daily_backup \(0 0 2 \* \* \*\) had a run due at 2026-12-02 02:00:00 America\/Toronto/);
  });

  test("a disabled schedule expects nothing", () => {
    const health = input([], "2026-12-02T15:00:00Z", { schedules: SCHEDULES.map((s) => ({ ...s, enabled: false })) });
    assert.deepEqual(problems(health), []);
  });
});

describe("failed runs", () => {
  const now = "2026-12-02T15:00:00Z";
  test("a failure after the newest daily is a problem until a daily succeeds", () => {
    const failed = event("2026-12-02T07:00:05Z", "backup", "failure", { backupType: "daily", message: "disk full" });
    const health = input(dailies(2, "2026-12-01"), "2026-12-02T07:30:00Z", { audit: { readable: true, events: [failed] } });
    const [finding] = findings(health, "failed run");
    assert.equal(finding?.key, "failed:daily");
    assert.match(finding!.message, /run of 2026-12-02 02:00:05 America\/Toronto failed \(disk full\)/);
    const rerun = [...dailies(2, "2026-12-01"), { at: "2026-12-02T09:00:00Z" }].map(backup);
    assert.deepEqual(findings({ ...health, backups: rerun, now: new Date(now) }, "failed run"), []);
  });
  test("a failure reported by the failure module (no audit row: the database was down) counts too", () => {
    const health = input(dailies(2, "2026-12-01"), "2026-12-02T07:30:00Z", {
      audit: { readable: false, reason: "connection refused" },
      openIncidents: [{ key: "failed:daily", openedAt: new Date("2026-12-02T07:01:00Z") }],
    });
    assert.deepEqual(findings(health, "failed run").map((f) => f.key), ["failed:daily"]);
    assert.ok(assessHealth(health).evaluated("failed:daily"), "the check may clear it once a daily succeeds");
    assert.equal(assessHealth(health).evaluated("drill:failed"), false, "not the drill's, without the audit trail");
  });
});

describe("sizes against the median of the ones before", () => {
  const history = (sizes: number[]): Spec[] => dailies(sizes.length).map((s, i) => ({ ...s, size: sizes[i]! * MB }));
  const now = "2026-12-02T15:00:00Z";
  const cases: Array<[string, number[], string[]]> = [
    ["steady", [10, 11, 10, 12, 10], []],
    ["shrank to a third", [10, 11, 10, 12, 3], ["critical size:daily"]],
    ["grew threefold", [10, 11, 10, 12, 33], ["warning size:daily"]],
    ["too few before it to judge", [10, 11, 1], []],
    ["only the newest is judged: an old dip is past", [10, 1, 10, 11, 10, 12], []],
  ];
  for (const [name, sizes, expected] of cases) test(name, () => assert.deepEqual(problems(input(history(sizes), now)), expected));
});

describe("row drops between consecutive backups", () => {
  const now = "2026-12-02T15:00:00Z";
  const rows = (list: Array<Record<string, number>>): Spec[] => dailies(list.length).map((s, i) => ({ ...s, tables: list[i]! }));
  const cases: Array<[string, Array<Record<string, number>>, string[]]> = [
    ["growth is fine", [{ "public.users": 100 }, { "public.users": 120 }], []],
    ["a 50 % drop", [{ "public.users": 100 }, { "public.users": 50 }], ["warning rows:public.users"]],
    ["a table gone", [{ "public.users": 100, "public.docs": 300 }, { "public.users": 100 }], ["warning rows:public.docs"]],
    ["a small table moving by a few rows", [{ "public.tenants": 5 }, { "public.tenants": 2 }], []],
    ["within the threshold", [{ "public.users": 100 }, { "public.users": 85 }], []],
  ];
  for (const [name, list, expected] of cases) test(name, () => assert.deepEqual(problems(input(rows(list), now)), expected));
  test("the message says how many rows, between which backups", () => {
    const [drop] = findings(input(rows([{ "public.users": 100 }, { "public.users": 40 }]), now), "row drop");
    assert.match(drop!.message,
      /public\.users: 100 → 40 rows \(−60 %\) between family_brain_daily_20261201_070000\.sql\.gz and family_brain_daily_20261202_070000/);
  });
});

describe("copies, uploads, verification, drill, space", () => {
  const now = "2026-12-02T15:00:00Z";
  const s3 = { s3Listed: true };
  const cases: Array<{ name: string; specs: Spec[]; extra?: Partial<HealthInput>; expect: string[] }> = [
    { name: "both copies the same", specs: dailies(2, "2026-12-02", { s3: "same" }), extra: s3, expect: [] },
    { name: "copies of different sizes",
      specs: [...dailies(1, "2026-12-01", { s3: "same" }), { at: "2026-12-02T07:00:00Z", s3: "other size" }], extra: s3,
      expect: ["critical mismatch:family_brain_daily_20261202_070000.sql.gz"] },
    { name: "copies with different sha256", specs: [{ at: "2026-12-02T07:00:00Z", s3: "other sha" }], extra: s3,
      expect: ["critical mismatch:family_brain_daily_20261202_070000.sql.gz"] },
    { name: "an upload cut short on S3", specs: [{ at: "2026-12-02T07:00:00Z", s3: "unfinished" }], extra: s3,
      expect: ["critical mismatch:family_brain_daily_20261202_070000.sql.gz"] },
    { name: "an upload owed for hours", specs: [{ at: "2026-12-02T07:00:00Z", pendingSince: "2026-12-02T07:01:00Z" }],
      expect: ["warning pending:family_brain_daily_20261202_070000.sql.gz"] },
    { name: "an upload owed for minutes (it may be running)", specs: [{ at: "2026-12-02T14:50:00Z", pendingSince: "2026-12-02T14:51:00Z" }],
      expect: [] },
    { name: "the newest daily never uploaded", specs: [{ at: "2026-12-02T07:00:00Z" }], extra: s3, expect: ["warning offsite:daily"] },
    { name: "without S3 listed, no copy there is expected", specs: [{ at: "2026-12-02T07:00:00Z" }], expect: [] },
    { name: "space for fewer than two more archives", specs: [{ at: "2026-12-02T07:00:00Z", size: 10 * MB }], extra: { freeBytes: 15 * MB },
      expect: ["warning space"] },
    { name: "enough space", specs: [{ at: "2026-12-02T07:00:00Z", size: 10 * MB }], extra: { freeBytes: 500 * MB }, expect: [] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(problems(input(c.specs, now, c.extra)), c.expect));

  const drill = SCHEDULES.filter((s) => s.runs === "drill");
  const verifiedBy = (name: string, at = "2026-11-29T10:00:00Z") => event(at, "drill", "success", { backup: name });
  test("the copies' message: both storages compared, local only, or S3 only (local_copy: false) where there is nothing to compare", () => {
    const message = (specs: Spec[], extra: Partial<HealthInput>) =>
      findings(input(specs, now, extra), "copies agree").map((f) => f.message);
    assert.deepEqual(message(dailies(2, "2026-12-02", { s3: "same" }), s3), [
      "Every copy matches its manifest; the 2 backups on both storages agree.",
    ]);
    assert.deepEqual(message(dailies(2), {}), ["Every local copy matches its manifest (S3 not listed: include_s3 is false)."]);
    assert.deepEqual(message(dailies(2, "2026-12-02", { s3: "same", local: false }), { ...s3, localListed: false }), [
      "Every S3 copy matches its manifest; backups are kept in S3 only (local_copy: false), so there are no local copies to compare.",
    ]);
    const damaged = findings(
      input([{ at: "2026-12-02T07:00:00Z", s3: "same", local: false, damaged: true }], now, { ...s3, localListed: false }),
      "copy intact",
    );
    assert.deepEqual(damaged.map((f) => `${f.severity} ${f.message}`), [
      "warning The S3 copy of family_brain_daily_20261202_070000.sql.gz: size 1 bytes differs from the manifest's.",
    ], "a damaged S3 copy is still said");
  });

  test("backups never verified: a warning once the oldest is older than a drill period, information before", () => {
    const old = dailies(10);
    assert.deepEqual(problems(input(old, now)), ["warning unverified"]);
    assert.deepEqual(problems(input(dailies(3), now)), []);
    const proven = input(old, now, { audit: { readable: true, events: [verifiedBy(backup(old[5]!).name)] } });
    assert.deepEqual(problems(proven), []);
    assert.match(findings(proven, "verified")[0]!.message, /1 of 10 stored backups proven by a drill or restore \(9 never\)/);
  });
  test("the drill: failed, overdue against its schedule, never run, or passed", () => {
    const base = dailies(3);
    const at = (events: AuditEvent[]) => input(base, now, { schedules: [...SCHEDULES], audit: { readable: true, events } });
    const proven = verifiedBy(backup(base[0]!).name, "2026-11-29T10:05:00Z");
    assert.deepEqual(problems(at([proven, event("2026-11-29T10:06:00Z", "drill", "failure", { message: "verification FAILED" })]))
      .filter((p) => p.includes("drill")), ["critical drill:failed"]);
    assert.deepEqual(problems(at([proven])).filter((p) => p.includes("drill")), []);
    assert.deepEqual(problems(at([verifiedBy(backup(base[0]!).name, "2026-11-20T10:05:00Z")])).filter((p) => p.includes("drill")), [
      "warning drill:stale",
    ]);
    assert.deepEqual(problems(at([])).filter((p) => p.includes("drill")), ["warning drill:stale"]);
  });
  test("an unreadable audit trail is said, and the checks that need it are skipped (their incidents kept)", () => {
    const health = input(dailies(3), now, { audit: { readable: false, reason: "connection refused" }, schedules: drill });
    assert.deepEqual(problems(health), ["warning audit"]);
    assert.equal(assessHealth(health).evaluated("drill:stale"), false);
  });
});

test("the summary: the verdict, then the problems worst first, then how many checks passed", () => {
  const health = input(dailies(5, "2026-11-30").map((s, i) => (i === 4 ? { ...s, size: 1 * MB } : s)), "2026-12-02T15:00:00Z");
  const report = assessHealth(health);
  assert.equal(report.healthy, false);
  const markdown = healthMarkdown(report, DB, "2026-12-02 10:00:00 America/Toronto");
  assert.match(markdown,
    /^## 🔴 Backups of family_brain: 2 problems\n\nChecked 2026-12-02 10:00:00 America\/Toronto\.\n\n- 🔴 \*\*newest backup\*\* \(daily\)/);
  assert.match(markdown,
    /- 🔴 \*\*size\*\* \(daily\): family_brain_daily_20261130_070000\.sql\.gz shrank: 1\.0 MB against a median of 10\.0 MB/);
  assert.match(markdown, /\d+ checks passed; every finding is in the table below\.$/);
});
