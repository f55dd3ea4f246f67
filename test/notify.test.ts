// Telling people: incidents open once and clear once (a pure plan, table-driven), and the messages
// reach a real HTTP webhook receiver and a real SMTP server on loopback, with a channel down, a wrong
// password, and the alert state's directory missing; no secret ever in an outcome or an error.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type AlertChannels, AlertSettings, alertChannels, SmtpResource } from "../f/admin/lib/notify/channels.ts";
import { type Incident, planNotifications, type Problem, settleIncidents } from "../f/admin/lib/notify/incidents.ts";
import { notify, type NotifyRequest } from "../f/admin/lib/notify/notifier.ts";
import { STATE_FILE } from "../f/admin/lib/notify/state.ts";
import { type SmtpReceiver, startSmtpReceiver, startWebhookReceiver, type WebhookReceiver } from "./support/receivers.ts";

const T0 = new Date("2026-12-02T12:00:00Z");
const hours = (n: number) => new Date(T0.getTime() + n * 3_600_000);
const problem = (key: string, severity: Problem["severity"] = "critical"): Problem => ({ key, severity, message: `${key} is wrong.` });
const incident = (key: string, notified: string | null, severity: Problem["severity"] = "critical"): Incident => ({
  ...problem(key, severity),
  opened_at: "2026-12-01T00:00:00.000Z",
  notified_at: notified,
});

describe("planNotifications", () => {
  const told = "2026-12-02T06:00:00.000Z";
  const cases: Array<{
    name: string;
    incidents: Incident[];
    problems: Problem[];
    evaluated?: string[];
    remind?: number;
    expect: Partial<Record<"opened" | "reminded" | "ongoing" | "resolved" | "dropped", string[]>>;
  }> = [
    { name: "a new problem opens an incident", incidents: [], problems: [problem("stale:daily")], expect: { opened: ["stale:daily"] } },
    { name: "the same problem again sends nothing", incidents: [incident("stale:daily", told)], problems: [problem("stale:daily")],
      expect: { ongoing: ["stale:daily"] } },
    { name: "a problem never told (no channel reached) is told now", incidents: [incident("stale:daily", null)],
      problems: [problem("stale:daily")], expect: { opened: ["stale:daily"] } },
    { name: "a problem gone, among the keys looked at, is resolved", incidents: [incident("stale:daily", told)], problems: [],
      evaluated: ["stale:daily"], expect: { resolved: ["stale:daily"] } },
    { name: "a problem gone, among keys not looked at, stays open", incidents: [incident("failed:daily", told)], problems: [],
      evaluated: [], expect: {} },
    { name: "a problem gone before anyone was told is dropped silently", incidents: [incident("size:daily", null)], problems: [],
      evaluated: ["size:daily"], expect: { dropped: ["size:daily"] } },
    { name: "a warning grown critical is told again", incidents: [incident("unverified", told, "warning")],
      problems: [problem("unverified", "critical")], expect: { reminded: ["unverified"] } },
    { name: "reminders come after the hours asked", incidents: [incident("stale:daily", told)], problems: [problem("stale:daily")],
      remind: 6, expect: { reminded: ["stale:daily"] } },
    { name: "not before", incidents: [incident("stale:daily", "2026-12-02T07:00:00.000Z")], problems: [problem("stale:daily")], remind: 6,
      expect: { ongoing: ["stale:daily"] } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const plan = planNotifications({
        incidents: Object.fromEntries(c.incidents.map((i) => [i.key, i])),
        problems: c.problems,
        evaluated: (key) => (c.evaluated ?? []).includes(key),
        now: T0,
        remindEveryHours: c.remind ?? 0,
      });
      for (const part of ["opened", "reminded", "ongoing", "resolved", "dropped"] as const) {
        assert.deepEqual(plan[part].map((i) => i.key), c.expect[part] ?? [], part);
      }
    });
  }

  test("settling: delivered alerts are remembered, undelivered ones are tried again, a recovery not delivered keeps its incident", () => {
    const incidents = { "stale:daily": incident("stale:daily", told) };
    const plan = planNotifications({ incidents, problems: [problem("size:weekly")], evaluated: () => true, now: T0, remindEveryHours: 0 });
    const delivered = settleIncidents(incidents, plan, { alerted: true, recovered: true }, T0);
    assert.deepEqual(Object.keys(delivered), ["size:weekly"]);
    assert.equal(delivered["size:weekly"]!.notified_at, T0.toISOString());
    const failed = settleIncidents(incidents, plan, { alerted: false, recovered: false }, T0);
    assert.deepEqual(Object.keys(failed).sort(), ["size:weekly", "stale:daily"]);
    assert.equal(failed["size:weekly"]!.notified_at, null);
  });
});

describe("alert channels", () => {
  test("the settings resource: a webhook, e-mail through the smtp resource it names, unknown fields refused", () => {
    const settings = AlertSettings.parse({ webhook_url: "https://hooks.example/T/B/x", email_to: ["a@family.example"] });
    const smtp = SmtpResource.parse({ host: "mail.family.example", user: "backups@family.example", password: "p" });
    const channels = alertChannels(settings, smtp, "f/admin/backup_alerts");
    assert.equal(channels.email?.from, "backups@family.example", "the SMTP user is the sender when it is an address");
    assert.equal(channels.email?.smtp.port, 587);
    assert.throws(() => alertChannels(settings, undefined, "f/admin/backup_alerts"), /SMTP resource f\/admin\/alert_smtp does not exist/);
    assert.equal(AlertSettings.safeParse({ webhook: "https://x" }).success, false, "a misspelt field is refused");
    assert.equal(AlertSettings.safeParse({ webhook_url: "ftp://x" }).success, false);
  });
});

describe("delivery to real receivers", () => {
  let webhook: WebhookReceiver;
  let smtp: SmtpReceiver;
  let dir: string;
  let channels: AlertChannels;

  before(async () => {
    webhook = await startWebhookReceiver();
    smtp = await startSmtpReceiver();
    dir = mkdtempSync(join(tmpdir(), "wpb-notify-"));
    channels = {
      label: "Family Brain",
      remindEveryHours: 0,
      webhookUrl: webhook.url,
      email: { to: ["parent@family.example", "admin@family.example"], from: "backups@family.example", smtp: smtp.resource() },
    };
  });
  after(async () => {
    await webhook?.stop();
    await smtp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const request = (problems: Problem[], now: Date, extra: Partial<NotifyRequest> = {}): NotifyRequest => ({
    stateDirectory: dir,
    database: "family_brain",
    channels,
    problems,
    evaluated: (key) => key.startsWith("stale:") || key.startsWith("size:"),
    now,
    ...extra,
  });
  const secretsIn = (value: unknown) => {
    const text = JSON.stringify(value);
    return [smtp.password, "webhook-secret-path"].filter((secret) => text.includes(secret));
  };

  test("one alert per incident on both channels, nothing while it lasts, one recovery when it clears", async () => {
    const stale = { key: "stale:daily", severity: "critical" as const,
      message: "The newest complete daily backup is family_brain_daily_20261130_020000.sql.gz, taken 58 h ago." };
    const first = await notify(request([stale], T0));
    assert.equal(first.status, "sent", JSON.stringify(first));
    assert.deepEqual(first.opened, ["stale:daily"]);
    assert.equal(webhook.received.length, 1);
    assert.match(webhook.received[0]!.text, /^\*\[Family Brain\] Backups of family_brain: PROBLEM: The newest complete daily backup/);
    assert.equal(smtp.received.length, 1);
    const mail = smtp.received[0]!;
    assert.equal(mail.user, smtp.user, "logged in with the resource's user");
    assert.deepEqual(mail.to, ["parent@family.example", "admin@family.example"]);
    assert.equal(mail.from, "backups@family.example");
    assert.match(mail.subject, /^\[Family Brain\] Backups of family_brain: PROBLEM: /);
    assert.match(mail.text, /CRITICAL: The newest complete daily backup is family_brain_daily_20261130_020000\.sql\.gz, taken 58 h ago\./);
    assert.ok(existsSync(join(dir, STATE_FILE)));

    const again = await notify(request([stale], hours(1)));
    assert.equal(again.status, "nothing new");
    assert.deepEqual(again.still_open, ["stale:daily"]);
    assert.equal(webhook.received.length, 1, "no second message for the same incident");
    assert.equal(smtp.received.length, 1);

    const cleared = await notify(request([], hours(2)));
    assert.deepEqual(cleared.resolved, ["stale:daily"]);
    assert.equal(webhook.received.length, 2);
    assert.match(webhook.received[1]!.text, /RESOLVED: resolved\*\nThis problem has cleared:\n• The newest complete daily backup/);
    assert.match(smtp.received[1]!.subject, /RESOLVED/);
    assert.match(smtp.received[1]!.text, /No problem remains open\./);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8")).incidents, {});
    assert.deepEqual(secretsIn([first, again, cleared]), []);
  });

  test("a channel down does not stop the other; the incident counts as told, and the error names no secret", async () => {
    webhook.status = 500;
    try {
      const outcome = await notify(request([problem("size:daily")], hours(3)));
      assert.equal(outcome.status, "not every message was delivered");
      const failed = outcome.deliveries.find((d) => !d.delivered)!;
      assert.match(failed.channel, /^webhook \(127\.0\.0\.1:\d+\)$/);
      assert.match(failed.error!, /the webhook at 127\.0\.0\.1:\d+ answered 500: invalid_token/);
      assert.ok(outcome.deliveries.some((d) => d.delivered && d.channel.startsWith("e-mail")));
      assert.deepEqual(secretsIn(outcome), []);
    } finally {
      webhook.status = 200;
    }
    const later = await notify(request([problem("size:daily")], hours(4)));
    assert.equal(later.status, "nothing new", "the e-mail reached someone: not sent again");
  });

  test("a wrong SMTP password fails the e-mail only, without showing the password", async () => {
    const wrong = "wrong-password-0b7e-never-shown";
    const outcome = await notify(request([problem("size:weekly")], hours(5), {
      channels: { ...channels, email: { ...channels.email!, smtp: { ...smtp.resource(), password: wrong } } },
    }));
    const mail = outcome.deliveries.find((d) => d.channel.startsWith("e-mail"))!;
    assert.equal(mail.delivered, false);
    assert.match(mail.error!, /^e-mail through 127\.0\.0\.1:\d+ failed \(.*Invalid/);
    assert.ok(!JSON.stringify(outcome).includes(wrong));
  });

  test("without a usable state directory people are still told (repeats not suppressed, and it says so)", async () => {
    const before = webhook.received.length;
    const outcome = await notify(request([problem("stale:weekly")], hours(6), { stateDirectory: join(dir, "missing", "dir") }));
    assert.deepEqual(outcome.opened, ["stale:weekly"]);
    assert.equal(webhook.received.length, before + 1);
    assert.match(outcome.note!, /could not be used .* repeats are not suppressed/);
  });

  test("nothing is sent or kept when no channel is configured", async () => {
    const empty = mkdtempSync(join(tmpdir(), "wpb-notify-none-"));
    try {
      const outcome = await notify({ ...request([problem("stale:daily")], T0), stateDirectory: empty, channels: undefined });
      assert.equal(outcome.status, "not configured");
      assert.equal(existsSync(join(empty, STATE_FILE)), false);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
