// Incidents: a problem found is an incident from the first time it is seen until a check that looks at
// it no longer finds it. People hear once when it opens, once when it clears (and, if asked, again
// every so many hours while it stays). Pure: the state is handed in and handed back.

export type ProblemSeverity = "critical" | "warning";

export interface Problem {
  /** The incident's name: found again under the same key, it is the same incident. */
  key: string;
  severity: ProblemSeverity;
  message: string;
}

export interface Incident extends Problem {
  opened_at: string;
  /** When people were last told; null while no message has reached them. */
  notified_at: string | null;
}

export interface NotificationPlan {
  /** New, or never told: an alert. */
  opened: Incident[];
  /** Still open and due a reminder, or grown from a warning to critical. */
  reminded: Incident[];
  /** Open and already told: nothing to send. */
  ongoing: Incident[];
  /** Cleared after people were told: a recovery message. */
  resolved: Incident[];
  /** Cleared before anyone was told: dropped without a message. */
  dropped: Incident[];
}

export interface PlanInput {
  /** The open incidents of one database. */
  incidents: Readonly<Record<string, Incident>>;
  /** What the caller finds now. */
  problems: readonly Problem[];
  /** Keys the caller looked at: an open incident among them that is not a problem now has cleared. */
  evaluated: (key: string) => boolean;
  now: Date;
  /** 0: never remind. */
  remindEveryHours: number;
}

export function planNotifications({ incidents, problems, evaluated, now, remindEveryHours }: PlanInput): NotificationPlan {
  const plan: NotificationPlan = { opened: [], reminded: [], ongoing: [], resolved: [], dropped: [] };
  const found = new Map(problems.map((p) => [p.key, p]));
  for (const problem of found.values()) {
    const open = incidents[problem.key];
    if (!open || open.notified_at === null) {
      plan.opened.push({ ...problem, opened_at: open?.opened_at ?? now.toISOString(), notified_at: null });
      continue;
    }
    const current = { ...open, severity: problem.severity, message: problem.message };
    const escalated = open.severity === "warning" && problem.severity === "critical";
    const due = remindEveryHours > 0 && now.getTime() - Date.parse(open.notified_at) >= remindEveryHours * 3_600_000;
    (escalated || due ? plan.reminded : plan.ongoing).push(current);
  }
  for (const open of Object.values(incidents)) {
    if (found.has(open.key) || !evaluated(open.key)) continue;
    (open.notified_at === null ? plan.dropped : plan.resolved).push(open);
  }
  return plan;
}

/**
 * The incidents after the plan's messages went out (`alerted`: the alert reached someone,
 * `recovered`: the recovery did). What was not delivered stays as it was, so the next run tries again.
 */
export function settleIncidents(
  incidents: Readonly<Record<string, Incident>>,
  plan: NotificationPlan,
  delivered: { alerted: boolean; recovered: boolean },
  now: Date,
): Record<string, Incident> {
  const next: Record<string, Incident> = { ...incidents };
  const told = now.toISOString();
  for (const incident of plan.opened) next[incident.key] = { ...incident, notified_at: delivered.alerted ? told : null };
  for (const incident of plan.reminded) {
    next[incident.key] = { ...incident, notified_at: delivered.alerted ? told : incident.notified_at };
  }
  for (const incident of plan.ongoing) next[incident.key] = incident;
  for (const incident of plan.dropped) delete next[incident.key];
  if (delivered.recovered) { for (const incident of plan.resolved) delete next[incident.key]; }
  return next;
}
