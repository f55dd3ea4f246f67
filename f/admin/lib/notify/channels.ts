// Where alerts go: a Slack-compatible webhook (Slack, Mattermost, Rocket.Chat, Discord's /slack
// endpoint: a JSON body with `text`) and e-mail over SMTP (Windmill's standard `smtp` resource).
// The resources' schemas, and the two senders. A webhook URL and an SMTP password are secrets: no
// error, log or result ever carries them (only the webhook's host and the SMTP server's host:port).
import nodemailer from "nodemailer";
import { z } from "zod";
import { BackupError } from "../errors.ts";
import type { Message } from "./messages.ts";

export const DEFAULT_ALERTS_RESOURCE = "f/admin/backup_alerts";
export const DEFAULT_SMTP_RESOURCE = "f/admin/alert_smtp";

/** f/admin/backup_alerts (c_backup_alerts): who hears about problems. Every field optional. */
export const AlertSettings = z.strictObject({
  /** A Slack-compatible incoming webhook (keep it in a secret variable: `$var:f/admin/alert_webhook_url`). */
  webhook_url: z.url({ protocol: /^https?$/ }).optional(),
  /** Recipients of alert e-mails, sent through the SMTP server of `smtp_resource`. */
  email_to: z.array(z.email()).default([]),
  /** The sender's address (default: the SMTP user when it is an address). */
  email_from: z.email().optional(),
  /** A Windmill `smtp` resource (host, port, user, password). */
  smtp_resource: z.string().min(1).default(DEFAULT_SMTP_RESOURCE),
  /** Repeat an alert while its problem stays open, every so many hours; 0 never repeats. */
  remind_every_hours: z.number().min(0).max(8760).default(0),
  /** How messages name this installation, e.g. "Family Brain" (default: windmill-pg-backup). */
  label: z.string().min(1).max(60).default("windmill-pg-backup"),
});
export type AlertSettings = z.infer<typeof AlertSettings>;

/** Windmill's standard `smtp` resource (hub resource type `smtp`: host, port, user, password). */
export const SmtpResource = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(1).max(65535).default(587),
  user: z.string().optional(),
  password: z.string().optional(),
});
export type SmtpResource = z.infer<typeof SmtpResource>;

export interface AlertChannels {
  label: string;
  remindEveryHours: number;
  webhookUrl?: string;
  email?: { to: string[]; from: string; smtp: SmtpResource };
}

/** The channels of the settings and the SMTP resource they name (undefined when no e-mail is asked for). */
export function alertChannels(settings: AlertSettings, smtp: SmtpResource | undefined, alertsPath: string): AlertChannels {
  const channels: AlertChannels = { label: settings.label, remindEveryHours: settings.remind_every_hours };
  if (settings.webhook_url) channels.webhookUrl = settings.webhook_url;
  if (settings.email_to.length > 0) {
    if (!smtp) {
      throw new BackupError(
        `${alertsPath} asks for e-mail (email_to) but the SMTP resource ${settings.smtp_resource} does not exist: create it (type smtp).`,
      );
    }
    const from = settings.email_from ?? (z.email().safeParse(smtp.user).success ? smtp.user! : `windmill-pg-backup@${smtp.host}`);
    channels.email = { to: settings.email_to, from, smtp };
  }
  return channels;
}

export const describeChannels = (channels: AlertChannels): string[] => [
  ...(channels.webhookUrl ? [`webhook (${new URL(channels.webhookUrl).host})`] : []),
  ...(channels.email ? [`e-mail to ${channels.email.to.join(", ")} via ${channels.email.smtp.host}:${channels.email.smtp.port}`] : []),
];

const SEND_TIMEOUT_MS = 15_000;

/** `text` with every secret in it replaced, so that an error can be shown. */
function redact(text: string, secrets: Array<string | undefined>): string {
  return secrets.filter((s): s is string => Boolean(s && s.length >= 4)).reduce((t, s) => t.split(s).join("***"), text);
}

export async function sendWebhook(url: string, message: Message): Promise<void> {
  const host = new URL(url).host;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: `*${message.subject}*\n${message.text}` }),
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
    });
  } catch (error) {
    throw new BackupError(`the webhook at ${host} could not be reached (${redact(String((error as Error).message), [url])})`);
  }
  if (!response.ok) {
    const body = redact((await response.text().catch(() => "")).slice(0, 200), [url]);
    throw new BackupError(`the webhook at ${host} answered ${response.status}${body ? `: ${body}` : ""}`);
  }
}

export async function sendEmail(email: NonNullable<AlertChannels["email"]>, message: Message): Promise<void> {
  const { smtp } = email;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    // 465 speaks TLS from the first byte; other ports upgrade with STARTTLS when the server offers it.
    secure: smtp.port === 465,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? "" } } : {}),
    connectionTimeout: SEND_TIMEOUT_MS,
    greetingTimeout: SEND_TIMEOUT_MS,
    socketTimeout: SEND_TIMEOUT_MS,
    logger: false,
  });
  try {
    await transport.sendMail({ from: email.from, to: email.to, subject: message.subject, text: message.text });
  } catch (error) {
    throw new BackupError(
      `e-mail through ${smtp.host}:${smtp.port} failed (${redact(String((error as Error).message), [smtp.password])})`,
    );
  } finally {
    transport.close();
  }
}
