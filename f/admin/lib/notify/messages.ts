// The words of an alert and of a recovery, the same for a chat webhook and for e-mail: a subject line
// that says what happened to which database's backups, then one line per incident. Pure.
import type { Incident, NotificationPlan } from "./incidents.ts";

export interface Message {
  kind: "alert" | "recovery";
  subject: string;
  text: string;
}

const bullet = (incident: Incident) => `• ${incident.severity === "critical" ? "CRITICAL" : "warning"}: ${incident.message}`;

/** `[Family Brain] Backups of family_brain: …` */
const subjectOf = (label: string, database: string, what: string) => `[${label}] Backups of ${database}: ${what}`;

/** The alert for what opened (and what is reminded), or undefined when there is nothing to say. */
export function alertMessage(plan: NotificationPlan, label: string, database: string): Message | undefined {
  const news = [...plan.opened, ...plan.reminded];
  if (news.length === 0) return undefined;
  const first = news[0]!;
  const what = news.length === 1 ? first.message.split(/(?<=[.:;])\s/)[0]!.replace(/[.:;]$/, "") : `${news.length} problems`;
  const lines = [
    ...(plan.opened.length > 0 ? [`${plan.opened.length === 1 ? "A new problem" : `${plan.opened.length} new problems`}:`] : []),
    ...plan.opened.map(bullet),
    ...(plan.reminded.length > 0 ? ["Still open:", ...plan.reminded.map((i) => `${bullet(i)} (since ${i.opened_at})`)] : []),
    ...(plan.ongoing.length > 0 ? [`${plan.ongoing.length} earlier problem(s) remain open; you were told about them already.`] : []),
    "",
    "Run f/admin/backup_health in Windmill for the full report.",
  ];
  return { kind: "alert", subject: subjectOf(label, database, `PROBLEM: ${what}`), text: lines.join("\n") };
}

/** The recovery for what cleared, or undefined when nothing did. */
export function recoveryMessage(plan: NotificationPlan, label: string, database: string): Message | undefined {
  if (plan.resolved.length === 0) return undefined;
  const open = plan.opened.length + plan.reminded.length + plan.ongoing.length;
  const lines = [
    `${plan.resolved.length === 1 ? "This problem has" : `These ${plan.resolved.length} problems have`} cleared:`,
    ...plan.resolved.map((i) => `• ${i.message} (open since ${i.opened_at})`),
    "",
    open === 0 ? "No problem remains open." : `${open} problem(s) remain open.`,
  ];
  const what = plan.resolved.length === 1 ? "resolved" : `${plan.resolved.length} problems resolved`;
  return { kind: "recovery", subject: subjectOf(label, database, `RESOLVED: ${what}`), text: lines.join("\n") };
}
