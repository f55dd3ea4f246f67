// The health report as people read it: a markdown summary (problems first, worst first) and one
// table row per finding, for Windmill's render_all. Pure.
import type { Finding, HealthReport, Severity } from "./model.ts";

const ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2, ok: 3 };
const MARK: Record<Severity, string> = { critical: "🔴", warning: "🟠", info: "ℹ️", ok: "🟢" };

export const FINDING_COLUMNS = ["status", "check", "subject", "message"] as const;

export function sortedFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}

/** One flat row per finding, worst first. */
export function findingRows(findings: readonly Finding[]): Array<Record<(typeof FINDING_COLUMNS)[number], string>> {
  return sortedFindings(findings).map((f) => ({ status: `${MARK[f.severity]} ${f.severity}`, check: f.check, subject: f.subject,
    message: f.message })
  );
}

/** The summary: one line for the verdict, then the problems, then how many checks passed. */
export function healthMarkdown(report: Pick<HealthReport, "healthy" | "findings">, database: string, checkedAt: string): string {
  const problems = sortedFindings(report.findings).filter((f) => f.severity === "critical" || f.severity === "warning");
  const passed = report.findings.filter((f) => f.severity === "ok").length;
  const lines = [
    report.healthy
      ? `## 🟢 Backups of ${database}: healthy`
      : `## ${problems.some((p) => p.severity === "critical") ? "🔴" : "🟠"} Backups of ${database}: ${problems.length} problem${
        problems.length === 1 ? "" : "s"
      }`,
    "",
    `Checked ${checkedAt}.`,
    "",
    ...problems.map((p) => `- ${MARK[p.severity]} **${p.check}** (${p.subject}): ${p.message}`),
    ...(problems.length > 0 ? [""] : []),
    `${passed} check${passed === 1 ? "" : "s"} passed; every finding is in the table below.`,
  ];
  return lines.join("\n");
}
