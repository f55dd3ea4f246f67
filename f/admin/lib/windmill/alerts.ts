// The alert channels from Windmill resources: f/admin/backup_alerts (who hears, c_backup_alerts) and
// the `smtp` resource it names. Both optional: without them no message is sent. A resource that exists
// but is wrong is reported, never a reason to leave the caller's own work undone.
import { type AlertChannels, AlertSettings, alertChannels, DEFAULT_ALERTS_RESOURCE, SmtpResource } from "../notify/channels.ts";
import { notify, type NotifyOutcome, type NotifyRequest } from "../notify/notifier.ts";
import { parseResource } from "../settings.ts";
import { optionalResource } from "./resources.ts";

export { DEFAULT_ALERTS_RESOURCE };

/** The channels, undefined when `path` does not exist; an error (a string) when it cannot be used. */
export async function loadAlertChannels(path = DEFAULT_ALERTS_RESOURCE): Promise<AlertChannels | undefined | string> {
  try {
    const value = await optionalResource(path);
    if (value === undefined || value === null) return undefined;
    const settings = parseResource(AlertSettings, value, path);
    const smtp = settings.email_to.length > 0 ? await optionalResource(settings.smtp_resource) : undefined;
    return alertChannels(settings,
      smtp === undefined || smtp === null ? undefined : parseResource(SmtpResource, smtp, settings.smtp_resource), path);
  } catch (error) {
    return `alert resources unusable: ${(error as Error).message}`;
  }
}

/**
 * Tell people what the caller found, through the channels of `alertsResource`: never throws, the
 * outcome says what was sent (and it is logged, without secrets, for the job's log).
 */
export async function alertPeople(alertsResource: string, request: Omit<NotifyRequest, "channels">): Promise<NotifyOutcome> {
  const channels = await loadAlertChannels(alertsResource);
  const outcome: NotifyOutcome = typeof channels === "string"
    ? { status: `not sent: ${channels}`, opened: [], reminded: [], resolved: [], still_open: [], deliveries: [] }
    : await notify({ ...request, channels });
  console.log(
    `notifications: ${outcome.status}` +
      outcome.deliveries.map((d) => `; ${d.kind} via ${d.channel}: ${d.delivered ? "delivered" : `FAILED (${d.error})`}`).join(""),
  );
  return outcome;
}
