// A picture of an HTML page as a browser draws it: headless Chromium (Debian's `chromium` package,
// which .ci/run installs) writes a PNG screenshot, read back with pngjs. Without Chromium the caller
// skips, except in CI, which must run every test.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PNG } from "pngjs";

const CANDIDATES = ["chromium", "chromium-browser", "google-chrome"];

/** The browser's command, or why there is none. */
export function findChromium(): { command: string } | { missing: string } {
  for (const command of [process.env.CHROMIUM, ...CANDIDATES].filter((c): c is string => Boolean(c))) {
    if (spawnSync(command, ["--version"], { encoding: "utf8" }).status === 0) return { command };
  }
  return { missing: "headless Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)" };
}

export interface Picture {
  width: number;
  height: number;
  /** Red, green, blue of the pixel at (x, y). */
  at(x: number, y: number): [number, number, number];
}

/** The page as Chromium draws it in a window of `width` × `height` CSS pixels, one device pixel each. */
export function screenshot(command: string, html: string, width: number, height: number): Picture {
  const dir = mkdtempSync(join(tmpdir(), "wpb-chromium-"));
  try {
    const page = join(dir, "page.html");
    const png = join(dir, "page.png");
    writeFileSync(page, `<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0">${html}</body></html>`);
    // --no-sandbox: the tests run as root in CI, where Chromium's sandbox refuses to start.
    const out = spawnSync(command, [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--hide-scrollbars",
      "--force-device-scale-factor=1",
      `--user-data-dir=${join(dir, "profile")}`,
      `--window-size=${width},${height}`,
      `--screenshot=${png}`,
      `file://${page}`,
    ], { encoding: "utf8", timeout: 120_000 });
    if (out.status !== 0) throw new Error(`chromium failed (${out.status ?? out.signal}): ${out.stderr}`);
    const image = PNG.sync.read(readFileSync(png));
    return {
      width: image.width,
      height: image.height,
      at: (x, y) => {
        const i = (Math.round(y) * image.width + Math.round(x)) * 4;
        return [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `#rrggbb` as red, green, blue. */
export function rgb(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

/** Whether two colours are the same to the eye (antialiasing and colour management move a channel by a few steps). */
export function near(a: readonly number[], b: readonly number[], tolerance = 24): boolean {
  return Math.abs(a[0]! - b[0]!) + Math.abs(a[1]! - b[1]!) + Math.abs(a[2]! - b[2]!) <= tolerance;
}
