// The local runner: `npm run wm -- [--runtime bun|deno|node] f/admin/<script> '<json args>'` runs a
// script's `main` as a Windmill worker does (arguments by name, in signature order, missing ones
// defaulted) in a child process of the chosen runtime, and prints the JSON result on stdout.
// `--bundled` runs it as Windmill does, from a Bun-built bundle of the script (bun or node); `--peak`
// prints the script's process's peak resident memory on stderr (`script_peak_kb=…`).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { type Outcome, runChild } from "./wm-child.ts";
import { parseMainSignature } from "./windmill-parser.ts";

const RUNTIMES = ["node", "bun", "deno"] as const;
type Runtime = (typeof RUNTIMES)[number];

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const selfPath = fileURLToPath(import.meta.url);

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
 * The script bundled into one file with its dependencies and the child's half of the runner, and the
 * command that runs that file from `dir`, away from the repository's node_modules. Windmill runs a
 * TypeScript script so: bundled by Bun (target bun; target node for the `//nodejs` mode, an EE
 * feature), then the bundle alone (backend/windmill-worker/src/bun_executor.rs: `build_loader` with
 * `LoaderMode::BunBundle` or `NodeBundle`, `generate_bun_bundle`). Memory measured this way is the
 * worker's, without a transpiler loaded beside the script (tsx alone holds about 40 MB under Node).
 */
function bundledCommand(runtime: "bun" | "node", file: string, dir: string): string[] {
  const entry = join(dir, "entry.ts");
  writeFileSync(
    entry,
    `import * as script from ${JSON.stringify(file)};\n` +
      `import { runChild } from ${JSON.stringify(join(repoRoot, "tools", "wm-child.ts"))};\n` +
      `const [resultFile, what, names, args] = process.argv.slice(2);\n` +
      `await runChild(resultFile, async () => script, what, names, args);\n`,
  );
  const bun = join(repoRoot, "node_modules", ".bin", "bun");
  // WM_BUNDLE_CACHE (a directory) keeps bundles from run to run as a worker's cache does; whoever
  // sets it empties it when the code changes (the bench does, at its start).
  const cache = process.env.WM_BUNDLE_CACHE;
  const bundle = cache ? join(cache, `${basename(file, ".ts")}.${runtime}.mjs`) : join(dir, "main.mjs");
  if (!cache || !existsSync(bundle)) {
    const built = spawnSync(bun, ["build", entry, "--target", runtime, "--format", "esm", "--outfile", bundle], { encoding: "utf8" });
    if (built.status !== 0) throw new Error(`bun build of ${file} failed: ${built.stderr || built.stdout}`);
  }
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }');
  return runtime === "bun" ? [bun, "run", bundle] : [process.execPath, bundle];
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
  const { values, positionals } = parseArgs({
    args: argv,
    options: { runtime: { type: "string" }, bundled: { type: "boolean" }, peak: { type: "boolean" } },
    allowPositionals: true,
  });
  const runtime = values.runtime ?? process.env.WM_RUNTIME ?? "node";
  if (!RUNTIMES.includes(runtime as Runtime)) throw new Error(`unknown runtime ${runtime}; use one of ${RUNTIMES.join(", ")}`);
  const [scriptPath, argsJson = "{}", ...extra] = positionals;
  if (scriptPath === undefined || extra.length > 0) {
    throw new Error("usage: npm run wm -- [--runtime bun|deno|node] [--bundled] [--peak] f/admin/<script> '<json args>'");
  }
  if (values.bundled && runtime === "deno") throw new Error("--bundled runs under bun or node (Windmill bundles only those)");
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
    const [command, ...commandArgs] = values.bundled
      ? bundledCommand(runtime as "bun" | "node", file, dir)
      : [...childCommand(runtime as Runtime), "--child"];
    const child = spawnSync(
      command!,
      [...commandArgs, resultFile, file, JSON.stringify(names), argsJson],
      { stdio: ["inherit", process.stderr, "inherit"], cwd: values.bundled ? dir : undefined },
    );
    if (child.error) throw new Error(`cannot start ${runtime}: ${child.error.message}`);
    let outcome: Outcome;
    try {
      outcome = JSON.parse(readFileSync(resultFile, "utf8")) as Outcome;
    } catch {
      throw new Error(`${runtime} exited with code ${child.status ?? child.signal} before main returned`);
    }
    if (values.peak) process.stderr.write(`script_peak_kb=${outcome.peakKb}\n`);
    if (!outcome.ok) throw new Error(outcome.message);
    process.stdout.write(JSON.stringify(outcome.result ?? null, null, 2) + "\n");
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") {
  const [, resultFile, file, namesJson, argsJson] = argv;
  await runChild(resultFile!, () => import(pathToFileURL(file!).href), file!, namesJson!, argsJson!);
} else {
  try {
    process.exitCode = await runParent(argv);
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
