// Telling people: the problems a caller found are matched with the open incidents (state.ts), the
// alert and the recovery go to every channel, and the incidents are saved as delivered. A channel
// that fails does not stop the others and never fails the caller's job: the outcome says what
// reached whom. Nothing is sent, or saved, when no channel is configured.
import { type AlertChannels, describeChannels, sendEmail, sendWebhook } from "./channels.ts";
import { type Incident, planNotifications, type Problem, settleIncidents } from "./incidents.ts";
import { alertMessage, type Message, recoveryMessage } from "./messages.ts";
import { updateIncidents } from "./state.ts";

export interface Delivery {
  kind: Message["kind"];
  channel: string;
  delivered: boolean;
  error?: string;
}

export interface NotifyOutcome {
  /** "sent", "nothing new", "not configured", or why nothing could be done. */
  status: string;
  opened: string[];
  reminded: string[];
  resolved: string[];
  still_open: string[];
  deliveries: Delivery[];
  note?: string;
}

export interface NotifyRequest {
  /** The local backup directory, where the incidents are kept. */
  stateDirectory: string;
  database: string;
  channels: AlertChannels | undefined;
  problems: readonly Problem[];
  /** Keys the caller looked at (their incidents clear when not found); a caller that only reports passes () => false. */
  evaluated: (key: string) => boolean;
  now: Date;
  /**
   * False for a one-off event nobody can see clear (another script's failed job): told every time,
   * never kept as an incident.
   */
  remember?: boolean;
}

async function deliver(channels: AlertChannels, message: Message): Promise<Delivery[]> {
  const sends: Array<[string, () => Promise<void>]> = [];
  if (channels.webhookUrl) {
    sends.push([describeChannels({ ...channels, email: undefined })[0]!, () => sendWebhook(channels.webhookUrl!, message)]);
  }
  if (channels.email) {
    sends.push([describeChannels({ ...channels, webhookUrl: undefined })[0]!, () => sendEmail(channels.email!, message)]);
  }
  const deliveries: Delivery[] = [];
  for (const [channel, send] of sends) {
    try {
      await send();
      deliveries.push({ kind: message.kind, channel, delivered: true });
    } catch (error) {
      deliveries.push({ kind: message.kind, channel, delivered: false, error: (error as Error).message });
    }
  }
  return deliveries;
}

const keys = (incidents: Incident[]) => incidents.map((i) => i.key);

export async function notify(request: NotifyRequest): Promise<NotifyOutcome> {
  const { channels } = request;
  if (!channels || (!channels.webhookUrl && !channels.email)) {
    return { status: "not configured", opened: [], reminded: [], resolved: [], still_open: [], deliveries: [] };
  }
  const round = async (incidents: Record<string, Incident>) => {
    const plan = planNotifications({ incidents, problems: request.problems, evaluated: request.evaluated, now: request.now,
      remindEveryHours: channels.remindEveryHours });
    const deliveries: Delivery[] = [];
    const alert = alertMessage(plan, channels.label, request.database);
    if (alert) deliveries.push(...await deliver(channels, alert));
    const recovery = recoveryMessage(plan, channels.label, request.database);
    if (recovery) deliveries.push(...await deliver(channels, recovery));
    const reached = (kind: Message["kind"]) => deliveries.some((d) => d.kind === kind && d.delivered);
    const next = settleIncidents(incidents, plan, { alerted: reached("alert"), recovered: reached("recovery") }, request.now);
    const outcome: NotifyOutcome = {
      status: deliveries.length === 0 ? "nothing new" : deliveries.every((d) => d.delivered) ? "sent" : "not every message was delivered",
      opened: keys(plan.opened),
      reminded: keys(plan.reminded),
      resolved: keys(plan.resolved),
      still_open: Object.keys(next).sort(),
      deliveries,
    };
    return { incidents: next, value: outcome };
  };
  if (request.remember === false) return (await round({})).value;
  let sent: NotifyOutcome | undefined;
  try {
    const { value, note } = await updateIncidents(request.stateDirectory, request.database, async (incidents) => {
      const done = await round(incidents);
      sent = done.value;
      return done;
    });
    return note ? { ...value, note } : value;
  } catch (error) {
    // The backup volume may be what failed: people are told all the same, without the memory of what they were told.
    const note = `the alert state in ${request.stateDirectory} could not be used (${
      (error as Error).message
    }), so repeats are not suppressed`;
    return { ...(sent ?? (await round({})).value), note };
  }
}
