// The backups over time as a picture for the Windmill UI: one bar per backup for its size (coloured by
// type, grey when it is not complete) above a line of how long each took, on one time axis, so that a
// gap, a shrunken backup or a slowing dump shows at a glance. Inline SVG with its own white background
// and colours in attributes (Windmill inserts an `html` result into its page as it is: windmill-labs/
// windmill frontend/src/lib/components/DisplayResult.svelte, `{@html result.html}`), no script, no
// external asset. Pure: the layout is computed first (the tests compare the rendered picture with it).
import { localDateTime, type BackupType } from "../archive/name.ts";
import { MEGABYTE } from "../size.ts";

export interface ChartPoint {
  name: string;
  type: BackupType;
  createdAt: Date;
  /** Archive bytes (the manifest's, else the file's). */
  size: number;
  /** How long the backup took, from its manifest; undefined for a backup without one. */
  durationMs: number | undefined;
  /** Has its manifest and matches it. */
  complete: boolean;
}

export const TYPE_COLOURS: Record<BackupType, string> = {
  daily: "#2563eb",
  weekly: "#16a34a",
  monthly: "#9333ea",
  manual: "#f59e0b",
  pre_restore: "#0d9488",
};
export const INCOMPLETE_COLOUR = "#9ca3af";
export const DURATION_COLOUR = "#dc2626";
export const BACKGROUND = "#ffffff";

const WIDTH = 760;
const LEFT = 70;
const RIGHT = 24;
const SIZE_TOP = 64;
const SIZE_HEIGHT = 170;
const DURATION_TOP = 282;
const DURATION_HEIGHT = 100;
const HEIGHT = 430;

export interface Bar {
  name: string;
  x: number;
  y: number;
  width: number;
  height: number;
  fill: string;
}

export interface DurationMark {
  name: string;
  cx: number;
  cy: number;
}

export interface Panel {
  top: number;
  /** The y of the zero line. */
  baseline: number;
  /** The value at the top of the panel (a round number). */
  max: number;
  unit: string;
}

export interface ChartLayout {
  width: number;
  height: number;
  plot: { left: number; right: number };
  bars: Bar[];
  durations: DurationMark[];
  sizes: Panel;
  times: Panel;
  ticks: Array<{ x: number; label: string }>;
  legend: Array<{ label: string; fill: string }>;
  title: string;
}

/** The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^n not below `value` (the top of an axis). */
export function roundUp(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (step * power >= value * (1 - 1e-9)) return step * power;
  }
  return 10 * power;
}

const round1 = (value: number) => Math.round(value * 10) / 10;

function dayLabel(at: Date, timeZone: string): string {
  const { year, month, day, hour, minute } = localDateTime(at, timeZone);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${year}-${two(month)}-${two(day)} ${two(hour)}:${two(minute)}`;
}

/** Where everything goes: x by time (a gap between bars is a gap between backups), y by value. */
export function chartLayout(points: readonly ChartPoint[], options: { title: string; timeZone: string }): ChartLayout {
  const sorted = [...points].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  const plotWidth = WIDTH - LEFT - RIGHT;
  const barWidth = Math.max(2, Math.min(16, Math.floor((plotWidth / Math.max(sorted.length, 1)) * 0.6)));
  const first = sorted[0]?.createdAt.getTime() ?? 0;
  const span = (sorted.at(-1)?.createdAt.getTime() ?? 0) - first;
  const inner = plotWidth - barWidth;
  const xOf = (at: Date) => round1(LEFT + barWidth / 2 + (span === 0 ? inner / 2 : ((at.getTime() - first) / span) * inner));

  const sizes: Panel = { top: SIZE_TOP, baseline: SIZE_TOP + SIZE_HEIGHT,
    max: roundUp(Math.max(0, ...sorted.map((p) => p.size)) / MEGABYTE), unit: "MB" };
  const timed = sorted.filter((p) => p.durationMs !== undefined);
  const times: Panel = { top: DURATION_TOP, baseline: DURATION_TOP + DURATION_HEIGHT,
    max: roundUp(Math.max(0, ...timed.map((p) => p.durationMs!)) / 1000), unit: "s" };

  const bars = sorted.map((p): Bar => {
    const height = p.size === 0 ? 0 : Math.max(1, round1((p.size / MEGABYTE / sizes.max) * SIZE_HEIGHT));
    const x = xOf(p.createdAt);
    return { name: p.name, x: round1(x - barWidth / 2), y: round1(sizes.baseline - height), width: barWidth, height,
      fill: p.complete ? TYPE_COLOURS[p.type] : INCOMPLETE_COLOUR };
  });
  const durations = timed.map((p): DurationMark => ({ name: p.name, cx: xOf(p.createdAt),
    cy: round1(times.baseline - (p.durationMs! / 1000 / times.max) * DURATION_HEIGHT) })
  );

  const tickCount = sorted.length === 0 ? 0 : span === 0 ? 1 : Math.min(4, sorted.length);
  const ticks = Array.from({ length: tickCount }, (_, i) => {
    const at = new Date(tickCount === 1 ? first : first + (span * i) / (tickCount - 1));
    return { x: xOf(at), label: dayLabel(at, options.timeZone) };
  });
  const types = [...new Set(sorted.filter((p) => p.complete).map((p) => p.type))];
  const legend = [
    ...types.map((type) => ({ label: type, fill: TYPE_COLOURS[type] })),
    ...(sorted.some((p) => !p.complete) ? [{ label: "not complete", fill: INCOMPLETE_COLOUR }] : []),
    ...(timed.length > 0 ? [{ label: "duration", fill: DURATION_COLOUR }] : []),
  ];
  return { width: WIDTH, height: HEIGHT, plot: { left: LEFT, right: WIDTH - RIGHT }, bars, durations, sizes, times, ticks, legend,
    title: options.title };
}

/** Text and attribute values for HTML and SVG. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** An axis label: three significant digits at most (0.015, 1.25, 40). */
const axisNumber = (value: number) => String(Number(value.toPrecision(3)));

function axis(layout: ChartLayout, panel: Panel, label: string): string[] {
  const { left, right } = layout.plot;
  const lines: string[] = [];
  for (const fraction of [0, 0.5, 1]) {
    const y = round1(panel.baseline - fraction * (panel.baseline - panel.top));
    const stroke = fraction === 0 ? "#374151" : "#e5e7eb";
    lines.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" stroke="${stroke}" stroke-width="1"/>`);
    lines.push(
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end" font-size="11" fill="#374151">${axisNumber(panel.max * fraction)}</text>`,
    );
  }
  lines.push(`<text x="14" y="${round1((panel.top + panel.baseline) / 2)}" font-size="11" fill="#374151" text-anchor="middle" ` +
    `transform="rotate(-90 14 ${round1((panel.top + panel.baseline) / 2)})">${escapeHtml(label)}</text>`);
  return lines;
}

/** The chart as an SVG element. */
export function chartSvg(layout: ChartLayout, points: readonly ChartPoint[]): string {
  const byName = new Map(points.map((p) => [p.name, p]));
  const tip = (name: string) => {
    const p = byName.get(name)!;
    const duration = p.durationMs === undefined ? "no manifest" : `${(p.durationMs / 1000).toFixed(1)} s`;
    return `<title>${escapeHtml(`${name}: ${(p.size / MEGABYTE).toFixed(2)} MB, ${duration}`)}</title>`;
  };
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" ` +
    `style="display:block" font-family="sans-serif" role="img" aria-label="${escapeHtml(layout.title)}">`,
    `<rect x="0" y="0" width="${layout.width}" height="${layout.height}" fill="${BACKGROUND}"/>`,
    `<text x="${layout.plot.left}" y="24" font-size="15" font-weight="bold" fill="#111827">${escapeHtml(layout.title)}</text>`,
  ];
  let legendX = layout.plot.left;
  for (const item of layout.legend) {
    parts.push(`<rect x="${legendX}" y="36" width="12" height="12" fill="${item.fill}"/>`,
      `<text x="${legendX + 16}" y="46" font-size="12" fill="#374151">${escapeHtml(item.label)}</text>`);
    legendX += 28 + item.label.length * 7;
  }
  parts.push(...axis(layout, layout.sizes, "size (MB)"), ...axis(layout, layout.times, "duration (s)"));
  for (const bar of layout.bars) {
    parts.push(`<rect x="${bar.x}" y="${bar.y}" width="${bar.width}" height="${bar.height}" fill="${bar.fill}">${tip(bar.name)}</rect>`);
  }
  if (layout.durations.length > 1) {
    parts.push(
      `<polyline fill="none" stroke="${DURATION_COLOUR}" stroke-width="2" points="${
        layout.durations.map((d) => `${d.cx},${d.cy}`).join(" ")
      }"/>`,
    );
  }
  for (const mark of layout.durations) {
    parts.push(`<circle cx="${mark.cx}" cy="${mark.cy}" r="4" fill="${DURATION_COLOUR}">${tip(mark.name)}</circle>`);
  }
  for (const [i, tick] of layout.ticks.entries()) {
    // The last date ends at its tick, so that it stays inside the picture.
    const anchor = i > 0 && i === layout.ticks.length - 1 ? "end" : "middle";
    parts.push(`<line x1="${tick.x}" y1="${layout.times.baseline}" x2="${tick.x}" y2="${layout.times.baseline + 5}" stroke="#374151"/>`,
      `<text x="${tick.x}" y="${layout.times.baseline + 20}" font-size="11" fill="#374151" text-anchor="${anchor}">${
        escapeHtml(tick.label)
      }</text>`);
  }
  if (layout.bars.length === 0) {
    parts.push(`<text x="${layout.width / 2}" y="${layout.sizes.baseline - 60}" font-size="14" fill="#374151" text-anchor="middle">` +
      "No backups yet</text>");
  }
  parts.push("</svg>");
  return parts.join("");
}

/** A plain HTML table (values escaped), for below the chart. */
export function htmlTable(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string {
  const cell = (tag: string, value: unknown) =>
    `<${tag} style="text-align:left;padding:2px 8px;border-bottom:1px solid #e5e7eb">${
      escapeHtml(value === null ? "" : String(value))
    }</${tag}>`;
  return `<table style="border-collapse:collapse;font-family:sans-serif;font-size:12px;color:#111827;background:${BACKGROUND}">` +
    `<thead><tr>${columns.map((c) => cell("th", c)).join("")}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${columns.map((c) => cell("td", r[c])).join("")}</tr>`).join("")}</tbody></table>`;
}
