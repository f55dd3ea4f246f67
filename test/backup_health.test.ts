// The health check against real storage (a backup directory and s3rver) and a real database whose
// system_logs holds the audit trail: healthy after a drill; stale, shrunken, mismatched and
// never-uploaded backups each found; and, as Windmill runs them (the Bun worker harness, flows with
// their failure modules, schedules on Community and Enterprise Edition), people told once per problem
// through a real webhook receiver and a real SMTP server, and once when it clears.
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { run as backupDatabase } from "../f/admin/backup_database.ts";
import { run as backupHealth } from "../f/admin/backup_health.ts";
import type { Finding } from "../f/admin/lib/health/model.ts";
import type { Cluster } from "./support/cluster.ts";
import { runFlow } from "./support/flow-runner.ts";
import { type SmtpReceiver, startSmtpReceiver, startWebhookReceiver, type WebhookReceiver } from "./support/receivers.ts";
import { startS3Server, type S3Server } from "./support/s3.ts";
import { startSample, type Sample } from "./support/sample.ts";
import { runSchedule } from "./support/schedule-runner.ts";
import type { WindmillApi } from "./support/windmill-api.ts";
import { startWindmill } from "./support/windmill.ts";

let sample: Sample;
let cluster: Cluster;
let api: WindmillApi;
let s3: S3Server;
let webhook: WebhookReceiver;
let smtp: SmtpReceiver;

const PREFIX = "family-brain/";
const HOUR = 3_600_000;

before(async () => {
  sample = await startSample("health");
  ({ cluster } = sample);
  s3 = await startS3Server();
  webhook = await startWebhookReceiver();
  smtp = await startSmtpReceiver();
  api = await startWindmill(sample);
  // As the README sets them up: the secrets in variables, the resources referring to them.
  api.variables.set("f/admin/alert_webhook_url", webhook.url);
  api.variables.set("f/admin/alert_smtp_password", smtp.password);
  api.resources.set("f/admin/backup_alerts", { webhook_url: "$var:f/admin/alert_webhook_url", email_to: ["parent@family.example"],
    label: "Family Brain" });
  api.resources.set("f/admin/alert_smtp", { ...smtp.resource(), password: "$var:f/admin/alert_smtp_password" });
  api.resources.set("f/admin/s3_backup_config", s3.resource({ prefix: PREFIX }));
  sample.configure({}, {
    "f/admin/s3_backup_config": s3.resource({ prefix: PREFIX }),
    "f/admin/s3_unreachable": s3.resource({ prefix: PREFIX, port: 1 }),
  });
});

after(async () => {
  await api?.stop();
  await webhook?.stop();
  await smtp?.stop();
  await s3?.stop();
  await sample?.stop();
});

type HealthResult = { render_all: [{ markdown: string }, { "table-row-object": unknown[] }, { json: HealthJson }] };
type HealthJson = { healthy: boolean; findings: Finding[]; notifications: { status: string; opened?: string[]; resolved?: string[] } };

/** The health check in-process on the real storages, at `now`, telling nobody. */
async function health(now: Date, args: Record<string, unknown> = {}): Promise<HealthJson & { markdown: string }> {
  const result = (await backupHealth({ include_s3: true, notify: false, ...args }, now)) as HealthResult;
  return { ...result.render_all[2].json, markdown: result.render_all[0].markdown };
}
const problemKeys = (json: HealthJson) =>
  json.findings.filter((f) => f.severity === "critical" || f.severity === "warning").map((f) => f.key).sort();
const backup = async (type: "daily" | "weekly" | "monthly" | "manual", extra: Record<string, unknown> = {}) =>
  (await backupDatabase({ backup_type: type, upload_to_s3: true, cleanup_old: false, ...extra })) as { filename: string };
const messages = () => ({ webhook: webhook.received.map((m) => m.text), mail: smtp.received.map((m) => `${m.subject}\n${m.text}`) });

test("after a backup of every scheduled type and a drill, everything is healthy (real storages, real audit trail)", async () => {
  await backup("monthly");
  await backup("weekly");
  for (let i = 0; i < 4; i++) await backup("daily");
  const drill = await runFlow(api, "f/admin/backup_drill", { include_s3: false });
  assert.equal(drill.error, undefined, JSON.stringify(drill.error));
  const json = await health(new Date());
  assert.deepEqual(problemKeys(json), [], json.markdown);
  assert.equal(json.healthy, true);
  assert.match(json.markdown, /^## 🟢 Backups of family_brain: healthy/);
  const verified = json.findings.find((f) => f.key === "unverified")!;
  assert.match(verified.message, /1 of 6 stored backups proven by a drill or restore/);
});

test("a daily backup not renewed in time is stale once the next run was due", async () => {
  const json = await health(new Date(Date.now() + 3 * 24 * HOUR));
  assert.ok(problemKeys(json).includes("stale:daily"), json.markdown);
  const stale = json.findings.find((f) => f.key === "stale:daily")!;
  assert.equal(stale.severity, "critical");
  assert.match(stale.message,
    /The newest complete daily backup is family_brain_daily_\S+, taken 3 days ago: f\/admin\/schedule_daily_backup \(0 0 2 \* \* \*\) had a run due at /);
});

test("copies that disagree, a backup never uploaded and an upload owed are found", async () => {
  // An S3 copy changed behind our back: longer than the manifest says.
  const damaged = (await backup("daily")).filename;
  appendFileSync(s3.objectPath(PREFIX + damaged), "tampered");
  // A newer daily kept only locally, and a manual one whose upload failed (its marker stays).
  const localOnly = (await backup("daily", { upload_to_s3: false })).filename;
  await assert.rejects(backup("manual", { s3_resource: "f/admin/s3_unreachable" }), /kept there, but uploading it/);
  const json = await health(new Date(Date.now() + 2 * HOUR));
  const keys = problemKeys(json);
  assert.ok(keys.includes(`mismatch:${damaged}`), json.markdown);
  assert.ok(keys.includes("offsite:daily"), json.markdown);
  assert.ok(keys.some((k) => /^pending:family_brain_manual_/.test(k)), json.markdown);
  const mismatch = json.findings.find((f) => f.key === `mismatch:${damaged}`)!;
  assert.match(mismatch.message, /differ: local \d+ bytes, S3 \d+ bytes/);
  assert.match(json.findings.find((f) => f.key === "offsite:daily")!.message, new RegExp(`\\(${localOnly}\\) has no copy on S3`));
  // Without S3 listed, only the owed upload shows.
  const local = await health(new Date(Date.now() + 2 * HOUR), { include_s3: false });
  assert.ok(!problemKeys(local).some((k) => k.startsWith("mismatch:") || k.startsWith("offsite:")));
});

test("a backup that shrank, and the tables that lost rows, are found", async () => {
  await cluster.query("family_brain", "DELETE FROM public.family_documents WHERE id IN (SELECT id FROM public.family_documents LIMIT 250)");
  await cluster.query("family_brain", "DELETE FROM public.ai_usage");
  const shrunk = (await backup("daily", { upload_to_s3: false })).filename;
  const json = await health(new Date());
  const size = json.findings.find((f) => f.key === "size:daily")!;
  assert.equal(size.severity, "critical", json.markdown);
  assert.match(size.message, new RegExp(`${shrunk} shrank: [\\d.]+ MB against a median of [\\d.]+ MB over the \\d before it`));
  const drops = json.findings.filter((f) => f.check === "row drop" && f.severity === "warning").map((f) => f.key).sort();
  assert.deepEqual(drops, ["rows:public.ai_usage", "rows:public.family_documents"]);
  console.log(`an unhealthy report, as Windmill shows it:\n${json.markdown}`);
});

test("Community Edition: the hourly flow tells people once per problem, stays quiet while it lasts, and says when it clears", async () => {
  const before = messages();
  // A local archive damaged on the volume: visible without S3 (the schedule does not list it).
  const victim = (await backup("manual", { upload_to_s3: false })).filename;
  const path = join(sample.backupDir, victim);
  const original = readFileSync(path);
  appendFileSync(path, "x");
  const first = await runSchedule(api, "schedule_health_check", { edition: "ce" });
  assert.equal(first.success, false, "the run is red while the backups are unhealthy");
  assert.equal(first.flow?.error?.name, "UnhealthyBackupsError");
  assert.equal((first.flow?.failure as { status: string }).status, "already reported by the health check");
  const told = messages();
  assert.equal(told.webhook.length, before.webhook.length + 1, JSON.stringify(told.webhook));
  assert.equal(told.mail.length, before.mail.length + 1);
  const alert = told.webhook.at(-1)!;
  assert.match(alert, /^\*\[Family Brain\] Backups of family_brain: PROBLEM: /);
  assert.ok(alert.includes(`The local copy of ${victim}: size`), alert);
  assert.match(told.mail.at(-1)!, /^\[Family Brain\] Backups of family_brain: PROBLEM: /);
  assert.equal(smtp.received.at(-1)!.user, smtp.user);

  const second = await runSchedule(api, "schedule_health_check", { edition: "ce" });
  assert.equal(second.success, false);
  assert.equal(messages().webhook.length, told.webhook.length, "nothing new: no second message");
  assert.equal(messages().mail.length, told.mail.length);

  writeFileSync(path, original);
  const third = await runSchedule(api, "schedule_health_check", { edition: "ce" });
  const recovered = messages();
  assert.equal(recovered.webhook.length, told.webhook.length + 1);
  assert.match(recovered.webhook.at(-1)!, /RESOLVED/);
  assert.ok(recovered.webhook.at(-1)!.includes(victim));
  assert.match(recovered.mail.at(-1)!, /RESOLVED/);
  // The jobs' logs are part of what is checked: they say what was sent, and nothing secret.
  assert.match(first.flow!.logs.join("\n"), /notifications: sent; alert via webhook \(127\.0\.0\.1:\d+\): delivered/);
  const secrets = JSON.stringify([first, second, third]);
  assert.ok(!secrets.includes(smtp.password) && !secrets.includes("webhook-secret-path"), "no secret in any result or log");
});

test("Enterprise Edition: the schedule's error handler runs too, and sends nothing twice", async () => {
  const victim = (await backup("manual", { upload_to_s3: false })).filename;
  appendFileSync(join(sample.backupDir, victim), "x");
  const before = messages();
  const run = await runSchedule(api, "schedule_health_check", { edition: "ee" });
  assert.equal(run.success, false);
  assert.ok(run.handler?.success, JSON.stringify(run.handler));
  assert.equal((run.handler.result as { status: string }).status, "already recorded");
  assert.equal(messages().webhook.length, before.webhook.length + 1, "one alert, from the check itself");
  assert.equal(messages().mail.length, before.mail.length + 1);
});

test("a failed scheduled backup is told by the flow's failure module (CE), not again by the EE handler, and cleared by the next good one", async () => {
  const database = api.resources.get("f/admin/database") as Record<string, unknown>;
  api.resources.set("f/admin/database", { ...database, port: 1 });
  const before = messages();
  try {
    const ce = await runSchedule(api, "schedule_daily_backup", { edition: "ce" });
    assert.equal(ce.success, false);
    const failure = ce.flow?.failure as { status: string; notifications: { opened: string[] } };
    assert.equal(failure.status, "failure recorded");
    assert.deepEqual(failure.notifications.opened, ["failed:daily"]);
    assert.equal(messages().webhook.length, before.webhook.length + 1);
    assert.match(messages().webhook.at(-1)!, /PROBLEM: Run of f\/admin\/scheduled_backup \(f\/admin\/schedule_daily_backup\) failed/);
    const ee = await runSchedule(api, "schedule_daily_backup", { edition: "ee" });
    assert.ok(ee.handler?.success, JSON.stringify(ee.handler));
    assert.equal((ee.handler.result as { status: string }).status, "already recorded");
    assert.equal(messages().webhook.length, before.webhook.length + 1, "the second failure is the same incident");
  } finally {
    api.resources.set("f/admin/database", database);
  }
  const good = await runSchedule(api, "schedule_daily_backup", { edition: "ce" });
  assert.equal(good.success, true, JSON.stringify(good.flow?.error));
  await runFlow(api, "f/admin/scheduled_health_check", { include_s3: false, fail_when_unhealthy: false });
  const after = messages();
  assert.match(after.webhook.at(-1)!, /RESOLVED/);
  assert.match(after.webhook.at(-1)!, /Run of f\/admin\/scheduled_backup/);
});

test("a failed drill is told once by its failure module; the next drill that passes clears it", async () => {
  const before = messages();
  const newest = (await backup("daily", { upload_to_s3: false })).filename;
  const path = join(sample.backupDir, newest);
  const original = readFileSync(path);
  const bytes = Buffer.from(original);
  bytes[bytes.length - 100]! ^= 0x55;
  writeFileSync(path, bytes);
  const failed = await runFlow(api, "f/admin/backup_drill", { include_s3: false });
  assert.equal(failed.error?.step_id, "restore");
  assert.deepEqual((failed.failure as { notifications: { opened: string[] } }).notifications.opened, ["drill:failed"]);
  assert.match(messages().webhook.at(-1)!, /PROBLEM: Backup drill failed at step restore/);
  writeFileSync(path, original);
  const passed = await runFlow(api, "f/admin/backup_drill", { include_s3: false });
  assert.equal(passed.error, undefined, JSON.stringify(passed.error));
  assert.deepEqual((passed.results.finish as { notifications: { resolved: string[] } }).notifications.resolved, ["drill:failed"]);
  const after = messages();
  assert.equal(after.webhook.length, before.webhook.length + 2);
  assert.match(after.webhook.at(-1)!, /RESOLVED/);
  assert.equal(after.mail.length, before.mail.length + 2);
});

test("channels that refuse: the run, its log and the failure say so, without the webhook's secret path or the SMTP password", async () => {
  const wrong = "wrong-smtp-password-5f1a-never-shown";
  const victim = (await backup("manual", { upload_to_s3: false })).filename;
  const path = join(sample.backupDir, victim);
  const original = readFileSync(path);
  appendFileSync(path, "x");
  const before = messages();
  webhook.status = 500;
  api.variables.set("f/admin/alert_smtp_password", wrong);
  let run;
  try {
    run = await runSchedule(api, "schedule_health_check", { edition: "ce" });
  } finally {
    webhook.status = 200;
    api.variables.set("f/admin/alert_smtp_password", smtp.password);
  }
  assert.equal(run.success, false);
  assert.deepEqual(messages(), before, "nothing arrived");
  assert.match(run.flow!.error!.message, /notifications: not every message was delivered/);
  const log = run.flow!.logs.join("\n");
  assert.match(log, /alert via webhook \(127\.0\.0\.1:\d+\): FAILED \(the webhook at 127\.0\.0\.1:\d+ answered 500/);
  assert.match(log, /alert via e-mail to parent@family\.example via 127\.0\.0\.1:\d+: FAILED \(.*Invalid login/);
  const everything = JSON.stringify(run);
  for (const secret of [wrong, smtp.password, "webhook-secret-path", webhook.url]) {
    assert.ok(!everything.includes(secret), `${secret.slice(0, 12)}… appears in the run`);
  }
  // Not told, so still owed: the next run with working channels tells it (and the repair then clears it).
  const retried = await runSchedule(api, "schedule_health_check", { edition: "ce" });
  assert.equal(retried.success, false);
  assert.equal(messages().webhook.length, before.webhook.length + 1);
  assert.ok(messages().webhook.at(-1)!.includes(victim));
  writeFileSync(path, original);
  await runSchedule(api, "schedule_health_check", { edition: "ce" });
  assert.match(messages().webhook.at(-1)!, /RESOLVED/);
});

test("a schedule a user points at backup_database itself: on Enterprise its error handler tells people each time; on Community nothing can", async () => {
  // Not one of ours (those run the scheduled_backup flow, whose failure module works everywhere): the
  // README says why. Windmill passes the handler the failed job's path and error, no backup type, and
  // only Enterprise builds run it (backend/windmill-queue/src/jobs.rs, apply_schedule_handlers).
  const spec = { schedule: "0 0 5 * * *", timezone: "America/Toronto", script_path: "f/admin/backup_database", is_flow: false,
    args: { backup_type: "daily" }, on_failure: "script/f/admin/backup_failure_handler" };
  const database = api.resources.get("f/admin/database") as Record<string, unknown>;
  api.resources.set("f/admin/database", { ...database, port: 1 });
  const before = messages();
  try {
    const ce = await runSchedule(api, "my_nightly_backup", { edition: "ce", spec });
    assert.equal(ce.success, false);
    assert.equal(ce.handler, undefined, "no handler runs on Community Edition");
    assert.deepEqual(messages(), before, "so nobody hears of it");
    const ee = await runSchedule(api, "my_nightly_backup", { edition: "ee", spec });
    assert.equal(ee.success, false);
    assert.ok(ee.handler?.success, JSON.stringify(ee.handler));
    const result = (ee.handler as { result: { status: string; notifications: { status: string } } }).result;
    assert.equal(result.status, "failure recorded");
    assert.equal(result.notifications.status, "sent");
    const told = messages();
    assert.equal(told.webhook.length, before.webhook.length + 1);
    assert.equal(told.mail.length, before.mail.length + 1);
    assert.match(told.webhook.at(-1)!, /PROBLEM: Run of f\/admin\/backup_database \(f\/admin\/my_nightly_backup\) failed/);
    assert.match(told.mail.at(-1)!, /Run of f\/admin\/backup_database \(f\/admin\/my_nightly_backup\) failed/);
    const again = await runSchedule(api, "my_nightly_backup", { edition: "ee", spec });
    assert.ok(again.handler?.success);
    assert.equal(messages().webhook.length, before.webhook.length + 2, "another job's failure is told each time");
    const everything = JSON.stringify([ce, ee, again]);
    assert.ok(!everything.includes(smtp.password) && !everything.includes("webhook-secret-path"), "no secret in a result or log");
  } finally {
    api.resources.set("f/admin/database", database);
  }
});

test("a health check that cannot run (the backup volume is not mounted) is told by its flow's failure module on Community Edition", async () => {
  const settings = api.resources.get("f/admin/backup_settings") as Record<string, unknown>;
  const missing = join(sample.dir, "volume-not-mounted");
  api.resources.set("f/admin/backup_settings", { ...settings, backup_dir: missing });
  const before = messages();
  let run;
  try {
    run = await runSchedule(api, "schedule_health_check", { edition: "ce" });
  } finally {
    api.resources.set("f/admin/backup_settings", settings);
  }
  assert.equal(run.success, false);
  assert.equal(run.flow?.error?.step_id, "health");
  assert.match(run.flow!.error!.message, /The backup directory .*volume-not-mounted does not exist/);
  const failure = run.flow?.failure as { status: string; notifications: { opened: string[]; note?: string } };
  assert.equal(failure.status, "failure recorded");
  assert.deepEqual(failure.notifications.opened, ["health-check-failed"]);
  // The alert state lives on the missing volume: people are told all the same, and the result says repeats are not suppressed.
  assert.match(failure.notifications.note ?? "", /could not be used .* repeats are not suppressed/);
  const told = messages();
  assert.equal(told.webhook.length, before.webhook.length + 1);
  assert.equal(told.mail.length, before.mail.length + 1);
  assert.match(told.webhook.at(-1)!, /PROBLEM: Run of f\/admin\/scheduled_health_check \(f\/admin\/schedule_health_check\) failed/);
  assert.ok(told.webhook.at(-1)!.includes("volume-not-mounted does not exist"));
});
