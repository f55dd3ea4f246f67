// Runs a script as Windmill's worker does (a Bun-built bundle of it, run by Bun or by Node: the
// runner's `--bundled`, after backend/windmill-worker/src/bun_executor.rs) and reads the peak
// resident memory of the script's own process (getrusage's ru_maxrss, the runner's `--peak`). The
// runner around it (Node with tsx and Windmill's WebAssembly parser, about 130 MB) is not part of
// what a worker runs, and neither is a transpiler: under `node --import tsx` the same backup peaks
// about 60 MB higher, tsx's own memory.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

/** Issue 14's bound on the peak resident memory of a backup or a restore. */
export const PEAK_LIMIT_MB = 200;

export interface Measured {
  peakMb: number;
  result: Record<string, unknown>;
}

/** Run `script` with `args` under `runtime` from its bundle, the resources and variables of the file `mock`. */
export function measuredRun(runtime: "bun" | "node", script: string, args: Record<string, unknown>, mock: string): Measured {
  const out = spawnSync(
    process.execPath,
    ["--import", "tsx", "tools/wm.ts", "--runtime", runtime, "--bundled", "--peak", script, JSON.stringify(args)],
    { encoding: "utf8", env: { ...process.env, WM_MOCKED_API_FILE: mock }, maxBuffer: 64 * 1024 * 1024 },
  );
  assert.equal(out.status, 0, `${script} under ${runtime} failed: ${out.stderr.slice(-3000)}`);
  const peak = /script_peak_kb=(\d+)/.exec(out.stderr);
  assert.ok(peak, "the runner reported the script's peak");
  return { peakMb: Math.round(Number(peak[1]) / 1024), result: JSON.parse(out.stdout) as Record<string, unknown> };
}
