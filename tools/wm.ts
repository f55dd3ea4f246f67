// The local runner: `npm run wm -- [--runtime bun|deno|node] f/admin/<script> '<json args>'` runs a
// script's `main` as a Windmill worker does (arguments by name, in signature order, missing ones
// defaulted) in a child process of the chosen runtime, and prints the JSON result on stdout.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { parseMainSignature } from "./windmill-parser.ts";

const RUNTIMES = ["node", "bun", "deno"] as const;
type Runtime = (typeof RUNTIMES)[number];

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const selfPath = fileURLToPath(import.meta.url);

/** What the child leaves in the result file: the parent prints it, so the script's own stdout can go to stderr. */
type Outcome = { ok: true; result: unknown } | { ok: false; message: string };

/** Parameter names of `main`, read with Windmill's own parser so the mapping is the one the worker uses. */
async function mainParameters(source: string, file: string): Promise<string[]> {
  const signature = await parseMainSignature(source);
  if (!signature.args) throw new Error(`${file}: Windmill's parser cannot read this script (syntax error?)`);
  if (signature.auto_kind === "lib") throw new Error(`${file} has no \`export async function main\``);
  return signature.args.map((arg) => arg.name);
}

/** Windmill passes arguments by name; an unknown name is almost always a typo, so refuse it. */
function checkArgNames(names: string[], args: Record<string, unknown>): void {
  const unknown = Object.keys(args).filter((name) => !names.includes(name));
  if (unknown.length > 0) {
    throw new Error(`unknown argument(s) ${unknown.join(", ")}; main accepts: ${names.join(", ") || "(none)"}`);
  }
}

function childCommand(runtime: Runtime): string[] {
  const bin = (name: string) => join(repoRoot, "node_modules", ".bin", name);
  switch (runtime) {
    case "node":
      return [process.execPath, "--import", import.meta.resolve("tsx"), selfPath];
    case "bun":
      return [bin("bun"), "run", selfPath];
    case "deno":
      // `manual`: resolve bare specifiers from the node_modules that npm installed, never download;
      // `--no-lock`: leave no deno.lock beside package.json.
      return [bin("deno"), "run", "-A", "--node-modules-dir=manual", "--no-lock", selfPath];
  }
}

/**
 * The file WM_MOCKED_API_FILE names, checked before anything runs: windmill-client reads it without
 * a word when its shape is wrong and answers "no such resource", which a list of backups would show
 * as "no backups" on the worst day to be misled.
 */
export function checkMockFile(path: string | undefined): void {
  if (path === undefined || path === "") return;
  const expected = 'a JSON object {"resources": {"f/admin/database": {…}, …}, "variables": {…}}';
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(
      `WM_MOCKED_API_FILE=${path} cannot be read (${
        (error as NodeJS.ErrnoException).code ?? (error as Error).message
      }); it must be ${expected}`,
    );
  }
  let mock: unknown;
  try {
    mock = JSON.parse(text);
  } catch (error) {
    throw new Error(`WM_MOCKED_API_FILE=${path} is not valid JSON (${(error as Error).message}); it must be ${expected}`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(mock) || !isObject(mock.resources) || ("variables" in mock && !isObject(mock.variables))) {
    const keys = isObject(mock) ? Object.keys(mock) : [];
    const misplaced = keys.filter((k) => k.includes("/"));
    throw new Error(
      `WM_MOCKED_API_FILE=${path} does not have the shape windmill-client reads: it must be ${expected}` +
        (misplaced.length > 0 ? `; ${misplaced.join(", ")} must be inside "resources"` : ""),
    );
  }
  const stray = Object.keys(mock).filter((k) => k !== "resources" && k !== "variables");
  if (stray.length > 0) {
    throw new Error(`WM_MOCKED_API_FILE=${path} has ${stray.join(", ")} at its top level; resources go inside "resources" (${expected})`);
  }
}

async function runParent(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { runtime: { type: "string" } }, allowPositionals: true });
  const runtime = values.runtime ?? process.env.WM_RUNTIME ?? "node";
  if (!RUNTIMES.includes(runtime as Runtime)) throw new Error(`unknown runtime ${runtime}; use one of ${RUNTIMES.join(", ")}`);
  const [scriptPath, argsJson = "{}", ...extra] = positionals;
  if (scriptPath === undefined || extra.length > 0) {
    throw new Error("usage: npm run wm -- [--runtime bun|deno|node] f/admin/<script> '<json args>'");
  }
  const file = resolve(repoRoot, scriptPath.endsWith(".ts") ? scriptPath : `${scriptPath}.ts`);
  if (!existsSync(file)) throw new Error(`no script at ${file}`);
  let args: unknown;
  try {
    args = JSON.parse(argsJson);
  } catch (error) {
    throw new Error(`the arguments are not valid JSON (${(error as Error).message}): ${argsJson}`);
  }
  if (typeof args !== "object" || args === null || Array.isArray(args)) throw new Error("the arguments must be a JSON object");
  const names = await mainParameters(readFileSync(file, "utf8"), scriptPath);
  checkArgNames(names, args as Record<string, unknown>);
  checkMockFile(process.env.WM_MOCKED_API_FILE);

  const dir = mkdtempSync(join(tmpdir(), "wm-"));
  const resultFile = join(dir, "outcome.json");
  try {
    const [command, ...commandArgs] = childCommand(runtime as Runtime);
    const child = spawnSync(
      command!,
      [...commandArgs, "--child", resultFile, file, JSON.stringify(names), argsJson],
      { stdio: ["inherit", process.stderr, "inherit"] },
    );
    if (child.error) throw new Error(`cannot start ${runtime}: ${child.error.message}`);
    let outcome: Outcome;
    try {
      outcome = JSON.parse(readFileSync(resultFile, "utf8")) as Outcome;
    } catch {
      throw new Error(`${runtime} exited with code ${child.status ?? child.signal} before main returned`);
    }
    if (!outcome.ok) throw new Error(outcome.message);
    process.stdout.write(JSON.stringify(outcome.result ?? null, null, 2) + "\n");
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runChild(resultFile: string, file: string, namesJson: string, argsJson: string): Promise<void> {
  const args = JSON.parse(argsJson) as Record<string, unknown>;
  // A missing name yields undefined, so the parameter takes its default as in a worker.
  const positional = (JSON.parse(namesJson) as string[]).map((name) => args[name]);
  let outcome: Outcome;
  try {
    const script = (await import(pathToFileURL(file).href)) as { main?: (...args: unknown[]) => unknown };
    if (typeof script.main !== "function") throw new Error(`${file} does not export main`);
    // Round-trip through JSON like Windmill does, so Dates become strings and non-JSON values fail here.
    outcome = { ok: true, result: JSON.parse(JSON.stringify((await script.main(...positional)) ?? null)) };
  } catch (error) {
    outcome = { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
  writeFileSync(resultFile, JSON.stringify(outcome));
  // Open pg pools or timers in the script must not keep the job alive after main returned.
  process.exit(0);
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") {
  const [, resultFile, file, namesJson, argsJson] = argv;
  await runChild(resultFile!, file!, namesJson!, argsJson!);
} else {
  try {
    process.exitCode = await runParent(argv);
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
