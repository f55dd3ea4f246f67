// list_backups' html view: a chart of the backups' sizes (bars, by type) and durations (a line) over
// time, drawn by headless Chromium and looked at pixel by pixel: each bar where its backup is and as
// tall as its size says, a gap where a backup is missing, the slowest backup highest on the line, a
// backup without a manifest grey and without a duration; then the same for real backups on disk.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, test } from "node:test";
import { run as backupDatabase } from "../f/admin/backup_database.ts";
import { BACKGROUND, chartLayout, type ChartPoint, chartSvg, DURATION_COLOUR, escapeHtml, htmlTable, INCOMPLETE_COLOUR, roundUp,
  TYPE_COLOURS } from "../f/admin/lib/health/chart.ts";
import { run as listBackups } from "../f/admin/list_backups.ts";
import { findChromium, near, type Picture, rgb, screenshot } from "./support/chromium.ts";
import { startSample, type Sample } from "./support/sample.ts";

const chromium = findChromium();
const MB = 1_048_576;
const DAY = 86_400_000;
const START = Date.parse("2026-11-01T07:00:00Z"); // 02:00 in Toronto, when the daily schedule runs

/** Skips without Chromium, except in CI (.ci/run installs it, and a skipped picture test proves nothing). */
function browser(t: { skip(message: string): void }): string | undefined {
  if ("command" in chromium) return chromium.command;
  if (process.env.CI === "true") assert.fail(`CI must run this test: ${chromium.missing}`);
  t.skip(chromium.missing);
  return undefined;
}

const point = (day: number, sizeMb: number, seconds: number | undefined, type: ChartPoint["type"] = "daily"): ChartPoint => ({
  name: `family_brain_${type}_d${day}.sql.gz`,
  type,
  createdAt: new Date(START + day * DAY),
  size: Math.round(sizeMb * MB),
  durationMs: seconds === undefined ? undefined : seconds * 1000,
  complete: seconds !== undefined,
});

/** Ten days of dailies with day 5 missing, a shrunken one on day 8, one without a manifest on day 9, a weekly, a slow day 7. */
const POINTS: ChartPoint[] = [
  ...[0, 1, 2, 3, 4, 6].map((day) => point(day, 2 + day * 0.05, 10 + day)),
  point(2.5, 3, 14, "weekly"),
  point(7, 2.4, 40),
  point(8, 0.4, 9),
  point(9, 1.9, undefined),
];

/** Pixels of `colour` going up the column at x from just above `baseline`: how tall the bar there is. */
function barHeight(picture: Picture, x: number, baseline: number, colour: string): number {
  let height = 0;
  while (height < baseline && near(picture.at(x, baseline - 1 - height), rgb(colour))) height++;
  return height;
}

/** The topmost pixel of `colour` in the column at x between two rows, or undefined. */
function topmost(picture: Picture, x: number, from: number, to: number, colour: string): number | undefined {
  for (let y = from; y <= to; y++) if (near(picture.at(x, y), rgb(colour), 60)) return y;
  return undefined;
}

test("axes end at round numbers", () => {
  assert.deepEqual([0.03, 0.4, 1, 1.2, 2.4, 3, 7, 26, 0.0101, 0].map(roundUp), [0.03, 0.4, 1, 1.5, 2.5, 3, 8, 30, 0.015, 1]);
});

test("the html has no script and no external asset, and escapes what it shows", () => {
  const svg = chartSvg(chartLayout(POINTS, { title: "a <b> & c", timeZone: "America/Toronto" }), POINTS);
  const table = htmlTable([{ database: `<img src=x onerror="alert(1)">` }], ["database"]);
  assert.ok(!/<script|<img|<iframe|<link|<foreignObject|href=|src=|url\(|@import/i.test(svg), svg);
  assert.ok(!svg.replace('xmlns="http://www.w3.org/2000/svg"', "").includes("http"), "no address besides the SVG namespace");
  assert.ok(svg.includes("a &lt;b&gt; &amp; c"));
  assert.ok(!/<img/i.test(table) && table.includes(escapeHtml(`<img src=x onerror="alert(1)">`)), table);
});

test("Chromium draws each backup as a bar where and as tall as its data says, with a gap for the missing day", (t) => {
  const command = browser(t);
  if (!command) return;
  const layout = chartLayout(POINTS, { title: "Backups of family_brain", timeZone: "America/Toronto" });
  const picture = screenshot(command, chartSvg(layout, POINTS), layout.width, layout.height);

  // A white background, and a picture on it (neither blank nor one colour).
  assert.ok(near(picture.at(2, 2), rgb(BACKGROUND)) && near(picture.at(layout.width - 3, layout.height - 3), rgb(BACKGROUND)));
  let inked = 0;
  for (let y = 0; y < layout.height; y += 2) {
    for (let x = 0; x < layout.width; x += 2) if (!near(picture.at(x, y), rgb(BACKGROUND))) inked++;
  }
  const share = inked / ((layout.width / 2) * (layout.height / 2));
  assert.ok(share > 0.03 && share < 0.5, `share of inked pixels ${share}`);

  const sorted = [...POINTS].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  const baseline = layout.sizes.baseline;
  const measured = new Map<string, number>();
  for (const [i, bar] of layout.bars.entries()) {
    const p = sorted[i]!;
    assert.equal(bar.name, p.name);
    const colour = p.complete ? TYPE_COLOURS[p.type] : INCOMPLETE_COLOUR;
    const height = barHeight(picture, bar.x + bar.width / 2, baseline, colour);
    // The bar's height is its size on the axis: size / axis top × the panel's height, to a pixel or two.
    const expected = (p.size / MB / layout.sizes.max) * (baseline - layout.sizes.top);
    assert.ok(Math.abs(height - expected) <= 2, `${p.name}: ${height} px tall, expected ${expected.toFixed(1)}`);
    measured.set(p.name, height);
  }
  // The shrunken backup is a fifth of its neighbour in the picture as in the data.
  const ratio = measured.get("family_brain_daily_d8.sql.gz")! / measured.get("family_brain_daily_d6.sql.gz")!;
  assert.ok(Math.abs(ratio - 0.4 / 2.3) < 0.03, `ratio ${ratio}`);

  // Day 5 has no backup: no bar of any colour in its column.
  const dayX = (day: number) => {
    const [a, b] = [layout.bars[0]!, layout.bars.at(-1)!];
    return a.x + a.width / 2 + ((day - 0) / 9) * (b.x - a.x);
  };
  const colours = [...Object.values(TYPE_COLOURS), INCOMPLETE_COLOUR];
  for (let y = layout.sizes.top; y < baseline - 1; y++) {
    assert.ok(!colours.some((c) => near(picture.at(dayX(5), y), rgb(c))), `a bar at the missing day 5 (row ${y})`);
  }

  // The duration line: a mark at each backup with a manifest, the slow day 7 highest, none for day 9.
  const tops = new Map<string, number>();
  for (const mark of layout.durations) {
    const top = topmost(picture, mark.cx, layout.times.top - 6, layout.times.baseline, DURATION_COLOUR);
    assert.ok(top !== undefined && Math.abs(top - (mark.cy - 4)) <= 2, `${mark.name}: red from ${top}, mark at ${mark.cy}`);
    tops.set(mark.name, top);
  }
  assert.equal(tops.size, POINTS.length - 1);
  assert.equal([...tops.entries()].sort((a, b) => a[1] - b[1])[0]![0], "family_brain_daily_d7.sql.gz");
  const lastBar = layout.bars.at(-1)!;
  assert.equal(topmost(picture, lastBar.x + lastBar.width / 2, layout.times.top - 6, layout.times.baseline - 2, DURATION_COLOUR), undefined,
    "a backup without a manifest has no duration");
});

let sample: Sample | undefined;
after(async () => {
  await sample?.stop();
});

test("list_backups' html view of real backups on disk: one bar per backup, coloured by type, ordered and sized as the backups are", async (t) => {
  const command = browser(t);
  if (!command) return;
  sample = await startSample("chart");
  const { cluster, mockFile } = sample;
  const backup = async (
    type: "daily" | "manual",
  ) => ((await backupDatabase({ backup_type: type, cleanup_old: false })) as { filename: string; size_mb: number });
  const first = await backup("daily");
  await cluster.query("family_brain", "CREATE TABLE public.padding AS SELECT g, md5(g::text) AS h FROM generate_series(1, 60000) g");
  const grown = await backup("daily");
  await cluster.query("family_brain", "DROP TABLE public.padding; DELETE FROM public.ai_usage");
  const shrunk = await backup("manual");
  assert.ok(grown.size_mb > first.size_mb && shrunk.size_mb < first.size_mb, JSON.stringify([first, grown, shrunk]));

  const view = (await listBackups({ view: "html" })) as { html: string };
  assert.equal(Object.keys(view).join(), "html", "one key: Windmill renders it as HTML");
  for (const b of [first, grown, shrunk]) assert.ok(view.html.includes(b.filename), `the table below names ${b.filename}`);
  const table = await listBackups({});
  assert.ok(Array.isArray(table) && table.length === 3, "the default view is still the rows");
  // Windmill runs it under Bun; Deno too must draw the same page.
  for (const runtime of ["bun", "deno"]) {
    const out = spawnSync(process.execPath, ["--import", "tsx", "tools/wm.ts", "--runtime", runtime, "f/admin/list_backups",
      JSON.stringify({ view: "html" })], { encoding: "utf8", env: { ...process.env, WM_MOCKED_API_FILE: mockFile }, timeout: 180_000 });
    assert.equal(out.status, 0, `${runtime}: ${out.stderr.slice(-2000)}`);
    assert.equal((JSON.parse(out.stdout) as { html: string }).html, view.html, `${runtime} draws the same page`);
  }

  const layout = chartLayout([], { title: "", timeZone: "UTC" });
  const picture = screenshot(command, view.html, 800, 700);
  // Walk the row just above the size axis: each run of a type's colour is one bar.
  const row = layout.sizes.baseline - 1;
  const runs: Array<{ type: string; x: number }> = [];
  let current: string | undefined;
  for (let x = layout.plot.left; x < layout.plot.right; x++) {
    const type = Object.entries(TYPE_COLOURS).find(([, c]) => near(picture.at(x, row), rgb(c)))?.[0];
    if (type && type !== current) runs.push({ type, x });
    current = type;
  }
  assert.deepEqual(runs.map((r) => r.type), ["daily", "daily", "manual"], "oldest first, left to right");
  const heights = runs.map((r) => barHeight(picture, r.x + 3, layout.sizes.baseline, TYPE_COLOURS[r.type as "daily"]));
  assert.ok(heights[1]! > heights[0]! && heights[0]! > heights[2]!, `bar heights ${heights} follow sizes`);
  const expected = (grown.size_mb / first.size_mb) * heights[0]!;
  assert.ok(Math.abs(heights[1]! - expected) <= 3, `grown bar ${heights[1]} px, expected ${expected.toFixed(1)}`);
});
