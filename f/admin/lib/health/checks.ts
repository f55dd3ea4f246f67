// The health checks, each a pure function of what the storages and the audit trail say: a backup
// overdue against its schedule, a failed run not yet made good, an archive much smaller or larger
// than usual, tables that lost rows, copies that disagree or are damaged, uploads owed, backups never
// proven by a restore, the drill, and the space left. Each finding carries the key of its incident.
import { localTimeLabel, type BackupType } from "../archive/name.ts";
import { durationText } from "../duration.ts";
import { megabytesText } from "../size.ts";
import type { AuditEvent, Finding, HealthBackup, HealthInput, HealthReport } from "./model.ts";
import { lastDue, periodAround, type ScheduleEntry } from "./schedule.ts";

/** A backup stamped a little before its schedule fired (clocks of workers and servers differ) still counts. */
const CLOCK_TOLERANCE_MS = 5 * 60_000;

const isGood = (b: HealthBackup) => Boolean(b.local?.complete || b.s3?.complete);
const newestFirst = (a: { createdAt: Date }, b: { createdAt: Date }) => b.createdAt.getTime() - a.createdAt.getTime();
const latestFirst = (a: { at: Date }, b: { at: Date }) => b.at.getTime() - a.at.getTime();

/** The input's view of one database: its complete backups newest first, and what a message says of times. */
class Context {
  readonly good: HealthBackup[];
  constructor(readonly input: HealthInput) {
    this.good = input.backups.filter((b) => b.database === input.database && isGood(b)).sort(newestFirst);
  }
  get now(): Date {
    return this.input.now;
  }
  get graceMs(): number {
    return this.input.thresholds.graceMinutes * 60_000;
  }
  when(at: Date): string {
    return localTimeLabel(at, this.input.timeZone);
  }
  ago(at: Date): string {
    return `${durationText(this.now.getTime() - at.getTime())} ago`;
  }
  newestOf(type: BackupType): HealthBackup | undefined {
    return this.good.find((b) => b.type === type);
  }
  schedules(runs: ScheduleEntry["runs"]): ScheduleEntry[] {
    return this.input.schedules.filter((s) => s.enabled && s.runs === runs);
  }
  /** The latest due time among the enabled schedules, with the one it comes from. */
  due(entries: ScheduleEntry[]): { at: Date; schedule: ScheduleEntry } | undefined {
    let latest: { at: Date; schedule: ScheduleEntry } | undefined;
    for (const schedule of entries) {
      const at = lastDue(schedule, this.input.timeZone, this.now, this.graceMs);
      if (at && (!latest || at > latest.at)) latest = { at, schedule };
    }
    return latest;
  }
  scheduledTypes(): BackupType[] {
    return [...new Set(this.schedules("backup").flatMap((s) => (s.backupType ? [s.backupType] : [])))];
  }
  events(): AuditEvent[] {
    return this.input.audit.readable ? this.input.audit.events : [];
  }
}

const finding = (key: string, check: string, subject: string, severity: Finding["severity"], message: string): Finding => ({
  key,
  check,
  subject,
  severity,
  message,
});

/** Each scheduled type's newest complete backup against the run its schedule last had due. */
function checkStaleness(ctx: Context): Finding[] {
  return ctx.scheduledTypes().map((type) => {
    const due = ctx.due(ctx.schedules("backup").filter((s) => s.backupType === type))!;
    const newest = ctx.newestOf(type);
    const expected = `${due.schedule.path} (${due.schedule.cron}) had a run due at ${ctx.when(due.at)}`;
    if (!newest) return finding(`stale:${type}`, "newest backup", type, "critical", `No complete ${type} backup at all; ${expected}.`);
    const age = `${newest.name}, taken ${ctx.ago(newest.createdAt)}`;
    if (newest.createdAt.getTime() < due.at.getTime() - CLOCK_TOLERANCE_MS) {
      return finding(`stale:${type}`, "newest backup", type, "critical",
        `The newest complete ${type} backup is ${age}: ${expected} and it left no complete backup.`);
    }
    return finding(`stale:${type}`, "newest backup", type, "ok", `Newest complete ${type} backup: ${age}.`);
  });
}

/** A failed run (in the audit trail, or reported by a failure module) with no complete backup of its type since. */
function checkFailedRuns(ctx: Context): Finding[] {
  return ctx.scheduledTypes().flatMap((type) => {
    const failures = ctx.events()
      .filter((e) => e.outcome === "failure" && (e.action === "backup" || e.action === "scheduled run") && e.backupType === type)
      .map((e) => ({ at: e.at, what: e.message }));
    const reported = ctx.input.openIncidents.find((i) => i.key === `failed:${type}`);
    if (reported) failures.push({ at: reported.openedAt, what: "reported by the scheduled backup's failure module" });
    const last = failures.sort(latestFirst)[0];
    const newest = ctx.newestOf(type);
    if (!last || (newest && newest.createdAt > last.at)) return [];
    return [
      finding(`failed:${type}`, "failed run", type, "critical",
        `The ${type} backup run of ${ctx.when(last.at)} failed (${last.what}) and no complete ${type} backup was made since.`),
    ];
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The newest backup of each type against the median size of the ones before it. */
function checkSizes(ctx: Context): Finding[] {
  const { sizeFactor, sizeWindow } = ctx.input.thresholds;
  const types = [...new Set(ctx.good.map((b) => b.type))];
  return types.flatMap((type) => {
    const [newest, ...earlier] = ctx.good.filter((b) => b.type === type && b.size !== undefined);
    const previous = earlier.slice(0, sizeWindow).map((b) => b.size!);
    if (!newest || previous.length < 3) return [];
    const usual = median(previous);
    const sizes = `${megabytesText(newest.size!)} MB against a median of ${megabytesText(usual)} MB over the ${previous.length} before it`;
    if (newest.size! * sizeFactor < usual) {
      return [
        finding(`size:${type}`, "size", type, "critical",
          `${newest.name} shrank: ${sizes}. Check that the backup still covers what it should (tables emptied, settings' dump scope).`),
      ];
    }
    if (newest.size! > usual * sizeFactor) {
      return [finding(`size:${type}`, "size", type, "warning", `${newest.name} grew: ${sizes}. Check the free space and what grew.`)];
    }
    return [finding(`size:${type}`, "size", type, "ok", `${newest.name}: ${sizes}.`)];
  });
}

/** Tables that lost rows between consecutive backups, among the newest ones; the latest drop of each table. */
function checkRowDrops(ctx: Context): Finding[] {
  const { rowDropPercent, rowDropMinRows, rowWindow } = ctx.input.thresholds;
  const recent = ctx.good.filter((b) => b.tables !== undefined).slice(0, rowWindow + 1).reverse();
  const drops = new Map<string, Finding>();
  for (let i = 1; i < recent.length; i++) {
    const [before, after] = [recent[i - 1]!, recent[i]!];
    for (const [table, rows] of Object.entries(before.tables!)) {
      const now = after.tables![table] ?? 0;
      const lost = rows - now;
      if (lost < rowDropMinRows || (lost / rows) * 100 <= rowDropPercent) continue;
      const gone = table in after.tables! ? `${rows} → ${now} rows` : `${rows} rows → table absent`;
      drops.set(table,
        finding(`rows:${table}`, "row drop", table, "warning",
          `${table}: ${gone} (−${Math.round((lost / rows) * 100)} %) between ${before.name} and ${after.name}.`));
    }
  }
  if (drops.size > 0) return [...drops.values()];
  return recent.length < 2 ?
    [] :
    [finding("rows", "row drop", "all tables", "ok",
      `No table lost more than ${rowDropPercent} % of its rows between consecutive backups among the newest ${recent.length}.`)];
}

/** Local and S3 copies that are not the same file, and copies that do not match their manifest. */
function checkCopies(ctx: Context): Finding[] {
  const findings: Finding[] = [];
  const mine = ctx.input.backups.filter((b) => b.database === ctx.input.database);
  for (const backup of mine) {
    const { local, s3 } = backup;
    if (local && s3 && (local.complete || s3.complete)) {
      const differ = local.size !== s3.size
        ? `local ${local.size} bytes, S3 ${s3.size} bytes`
        : local.sha256 && s3.sha256 && local.sha256 !== s3.sha256
        ? `sha256 local ${local.sha256.slice(0, 12)}…, S3 ${s3.sha256.slice(0, 12)}…`
        : local.complete !== s3.complete
        ? `complete on ${local.complete ? "local" : "S3"} only (${(local.complete ? s3 : local).problem ?? "no manifest"})`
        : undefined;
      if (differ) {
        findings.push(
          finding(`mismatch:${backup.name}`, "copies agree", backup.name, "critical",
            `The local and S3 copies of ${backup.name} differ: ${differ}. Restore from the complete copy only; run list_backups with verify_checksums.`),
        );
      }
    }
    const mismatched = findings.some((f) => f.key === `mismatch:${backup.name}`);
    for (const [place, copy] of [["local", local], ["S3", s3]] as const) {
      if (copy?.problem && !copy.unfinished && !mismatched) {
        findings.push(
          finding(`damaged:${backup.name}`, "copy intact", backup.name, "warning", `The ${place} copy of ${backup.name}: ${copy.problem}.`),
        );
      }
    }
  }
  const withBoth = mine.filter((b) => b.local && b.s3).length;
  if (findings.length === 0) {
    findings.push(finding("copies", "copies agree", "all backups", "ok", !ctx.input.localListed
      ? "Every S3 copy matches its manifest; backups are kept in S3 only (local_copy: false), so there are no local copies to compare."
      : ctx.input.s3Listed
      ? `Every copy matches its manifest; the ${withBoth} backups on both storages agree.`
      : "Every local copy matches its manifest (S3 not listed: include_s3 is false)."));
  }
  return findings;
}

/** Uploads owed (a marker older than the grace), and, with S3 listed, scheduled types whose newest backup has no S3 copy. */
function checkUploads(ctx: Context): Finding[] {
  const findings: Finding[] = [];
  const late = (since: Date) => ctx.now.getTime() - since.getTime() > ctx.graceMs;
  for (const backup of ctx.input.backups.filter((b) => b.database === ctx.input.database)) {
    if (backup.uploadPendingSince && late(backup.uploadPendingSince)) {
      findings.push(
        finding(`pending:${backup.name}`, "upload", backup.name, "warning",
          `The upload of ${backup.name} to S3 is owed since ${ctx.when(backup.uploadPendingSince)} (${
            ctx.ago(backup.uploadPendingSince)
          }): ` +
            "the next backup with upload_to_s3: true makes it good; check the S3 resource and the job's error."),
      );
    }
  }
  if (ctx.input.s3Listed) {
    for (const type of ctx.scheduledTypes()) {
      const newest = ctx.newestOf(type);
      if (newest && !newest.s3 && !newest.uploadPendingSince && late(newest.createdAt)) {
        findings.push(
          finding(`offsite:${type}`, "upload", type, "warning",
            `The newest ${type} backup (${newest.name}) has no copy on S3: set upload_to_s3: true in its schedule's arguments.`),
        );
      }
    }
  }
  if (findings.length === 0) {
    findings.push(
      finding("uploads", "upload", "all backups", "ok",
        ctx.input.s3Listed ? "No upload owed; the newest backup of each scheduled type is on S3." : "No upload owed."),
    );
  }
  return findings;
}

const PROVING_ACTIONS = new Set(["drill", "restore", "verify"]);

/** Whether any stored backup was proven by a drill, restore or verification; new installations get one drill period. */
function checkVerified(ctx: Context): Finding[] {
  if (!ctx.input.audit.readable || ctx.good.length === 0) return [];
  const proven = new Map<string, Date>();
  for (const e of ctx.events()) {
    if (e.outcome === "success" && PROVING_ACTIONS.has(e.action) && e.backup) proven.set(e.backup, e.at);
  }
  const verified = ctx.good.filter((b) => proven.has(b.name));
  const never = ctx.good.length - verified.length;
  if (verified[0]) {
    return [
      finding("unverified", "verified", "stored backups", "ok",
        `${verified.length} of ${ctx.good.length} stored backups proven by a drill or restore (${never} never); newest proven: ${
          verified[0].name
        }.`),
    ];
  }
  const drill = ctx.schedules("drill")[0];
  const allowance = (drill ? periodAround(drill, ctx.input.timeZone, ctx.now) : 7 * 86_400_000) + ctx.graceMs;
  const oldest = ctx.good[ctx.good.length - 1]!;
  const severity = ctx.now.getTime() - oldest.createdAt.getTime() > allowance ? "warning" : "info";
  return [
    finding("unverified", "verified", "stored backups", severity,
      `None of the ${ctx.good.length} stored backups was ever restored by a drill or a restore (oldest taken ${
        ctx.ago(oldest.createdAt)
      }): ` +
        "run the f/admin/backup_drill flow."),
  ];
}

/** The last drill's outcome, and its age against the drill schedule. */
function checkDrill(ctx: Context): Finding[] {
  if (!ctx.input.audit.readable) return [];
  const last = ctx.events().filter((e) => e.action === "drill").sort(latestFirst)[0];
  const findings: Finding[] = [];
  if (last?.outcome === "failure") {
    findings.push(finding("drill:failed", "drill", "last drill", "critical", `The drill of ${ctx.when(last.at)} failed: ${last.message}`));
  }
  const due = ctx.due(ctx.schedules("drill"));
  if (due && (!last || last.at.getTime() < due.at.getTime() - CLOCK_TOLERANCE_MS)) {
    findings.push(
      finding("drill:stale", "drill", "last drill", "warning", (last ? `The last drill ran ${ctx.ago(last.at)}` : "No drill has ever run") +
        `; ${due.schedule.path} (${due.schedule.cron}) had one due at ${ctx.when(due.at)}.`),
    );
  }
  if (findings.length === 0 && last) {
    findings.push(finding("drill", "drill", "last drill", "ok", `The last drill passed ${ctx.ago(last.at)}: ${last.message}`));
  }
  return findings;
}

/** Room for the next backups beside the newest one. */
function checkSpace(ctx: Context): Finding[] {
  const newest = ctx.good.find((b) => b.local?.complete && b.size !== undefined);
  if (ctx.input.freeBytes === undefined || !newest) return [];
  const { freeSpaceFactor } = ctx.input.thresholds;
  const room = `${megabytesText(ctx.input.freeBytes)} MB free beside the newest archive's ${megabytesText(newest.size!)} MB`;
  return ctx.input.freeBytes < newest.size! * freeSpaceFactor
    ? [finding("space", "free space", "backup directory", "warning", `Only ${room}: the next backups may not fit.`)]
    : [finding("space", "free space", "backup directory", "ok", `${room}.`)];
}

function checkAuditTrail(ctx: Context): Finding[] {
  const { audit } = ctx.input;
  if (audit.readable) return [];
  return [
    finding("audit", "audit trail", "system_logs", "warning",
      `Cannot read the audit trail (${audit.reason}): failed runs are judged from the failures reported, drills and verifications not at all.`),
  ];
}

/** Key prefixes whose incidents the check decides on; the others (e.g. a failed job elsewhere) it never clears. */
const EVALUATED = ["stale:", "failed:", "size:", "rows:", "mismatch:", "damaged:", "pending:", "offsite:", "space", "audit",
  "health-check-failed"];
const NEEDS_AUDIT = ["unverified", "drill:"];

const CHECKS = [checkAuditTrail, checkStaleness, checkFailedRuns, checkDrill, checkSizes, checkRowDrops, checkCopies, checkUploads,
  checkVerified, checkSpace];

export function assessHealth(input: HealthInput): HealthReport {
  const ctx = new Context(input);
  const findings = CHECKS.flatMap((check) => check(ctx));
  const prefixes = input.audit.readable ? [...EVALUATED, ...NEEDS_AUDIT] : EVALUATED;
  return {
    healthy: findings.every((f) => f.severity === "ok" || f.severity === "info"),
    findings,
    evaluated: (key) => prefixes.some((p) => key === p || key.startsWith(p)),
  };
}
