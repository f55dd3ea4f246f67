// The child half of the local runner (tools/wm.ts): calls a script's `main` with its arguments by
// name and leaves the outcome in a file for the parent. Kept apart from the parent so that a bundle
// of a script (`--bundled`) can carry it without the parent's Windmill parser.
import { writeFileSync } from "node:fs";
import process from "node:process";

/** What the child leaves in the result file: the parent prints it, so the script's own stdout can go to stderr. */
type Ending = { ok: true; result: unknown } | { ok: false; message: string };
export type Outcome = Ending & {
  /** The child's own peak resident memory in KiB (getrusage's ru_maxrss; the runner not included). */
  peakKb: number;
};

/** A script module as the child loads it. */
type Script = { main?: (...args: unknown[]) => unknown };

/**
 * Run `main` of the module `load` gives with the arguments `argsJson` holds by name (in the order of
 * `namesJson`, the signature's), write the outcome to `resultFile`, and exit.
 */
export async function runChild(
  resultFile: string,
  load: () => Promise<Script>,
  what: string,
  namesJson: string,
  argsJson: string,
): Promise<never> {
  const args = JSON.parse(argsJson) as Record<string, unknown>;
  // A missing name yields undefined, so the parameter takes its default as in a worker.
  const positional = (JSON.parse(namesJson) as string[]).map((name) => args[name]);
  let outcome: Ending;
  try {
    const script = await load();
    if (typeof script.main !== "function") throw new Error(`${what} does not export main`);
    // Round-trip through JSON like Windmill does, so Dates become strings and non-JSON values fail here.
    outcome = { ok: true, result: JSON.parse(JSON.stringify((await script.main(...positional)) ?? null)) };
  } catch (error) {
    outcome = { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  writeFileSync(resultFile, JSON.stringify({ ...outcome, peakKb: process.resourceUsage().maxRSS }));
  // Open pg pools or timers in the script must not keep the job alive after main returned.
  process.exit(0);
}
