// Runs a deployed script the way Windmill's Bun worker does (backend/windmill-worker/src/
// bun_executor.rs, loader.bun.js; our own code, same rules):
// - the script is bundled once with Bun.build (target bun, Windmill's resolver for relative imports,
//   which fetches each imported workspace script from the server), and the bundle is kept in a cache;
// - every job runs that cached bundle from a new, empty job directory: no node_modules, only the
//   bundle, `{"type": "module"}` and the wrapper; the directory is deleted after the job;
// - `//nobundling` scripts run from source instead, with the dependencies installed in the job
//   directory and the same resolver loaded at run time;
// - the environment is cleared: the job sees Windmill's reserved variables (token, workspace, job
//   ids, BASE_INTERNAL_URL), not the test's;
// - `main` gets its arguments by name from args.json: a name missing there is undefined (the default
//   applies), a null stays null; a throw becomes `{message, name, stack, step_id?, extra?}`.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseMainSignature, windmillParser } from "../../tools/windmill-parser.ts";
import type { WindmillApi } from "./windmill-api.ts";

const repoRoot = resolve(import.meta.dirname, "..", "..");
const bun = join(repoRoot, "node_modules", ".bin", "bun");
const cacheDir = join(tmpdir(), "wpb-windmill-bun-bundles");

/** The leading comment block of a script (backend/windmill-common/src/annotations.rs, `take_while`). */
function leadingComments(source: string): string[] {
  const lines = source.split("\n");
  const end = lines.findIndex((line) => !line.startsWith("//"));
  return (end === -1 ? lines : lines.slice(0, end)).map((line) => line.slice(2).trim());
}

/** `//nobundling` on a line of its own in the leading comments (annotations.rs; bun_executor.rs reads `nobundling`). */
export function hasNoBundling(source: string): boolean {
  return leadingComments(source).some((line) => line.split(",").map((word) => word.trim()).includes("nobundling"));
}

export type WorkspaceDependencies =
  | { kind: "named"; name: string; file: string }
  | { kind: "default"; file: string }
  | { kind: "inferred" };

/**
 * Which workspace dependencies a Bun script gets (backend/windmill-common/src/
 * workspace_dependencies.rs, `WorkspaceDependenciesPrefetched::extract` and
 * `WorkspaceDependenciesAnnotatedRefs::parse`): the first `//` line with `package_json:` names
 * them (comment lines right after it would be inline dependencies, which Bun refuses); without
 * it, an unnamed `dependencies/package.json` of the workspace applies to the script; else imports
 * are inferred.
 */
export function workspaceDependencies(source: string, dependencyFiles: string[]): WorkspaceDependencies {
  const lines = source.split("\n");
  const at = lines.findIndex((line) => line.startsWith("//") && (line.includes("package_json:") || line.includes("extra_package_json:")));
  if (at !== -1) {
    if (lines[at]!.includes("extra_package_json:")) throw new Error("workspace dependencies in extra mode are not supported for Bun");
    if (lines[at + 1]?.startsWith("//")) {
      throw new Error(`'inline workspace dependencies' are not supported for Bun (line ${at + 2} follows the package_json annotation)`);
    }
    const names = lines[at]!.replace("package_json:", "").replace("//", "").split(",").map((n) => n.trim()).filter(Boolean);
    if (names.length > 1) throw new Error("'multiple external workspace dependencies referenced'");
    const name = names[0]!;
    const file = name === "default" ? "dependencies/package.json" : `dependencies/${name}.package.json`;
    if (!dependencyFiles.includes(file)) throw new Error(`workspace dependencies ${name} not found (${file})`);
    return name === "default" ? { kind: "default", file } : { kind: "named", name, file };
  }
  return dependencyFiles.includes("dependencies/package.json")
    ? { kind: "default", file: "dependencies/package.json" }
    : { kind: "inferred" };
}

/** Our resolver of relative imports, for Bun.build and for the run-time loader (loader.bun.js's rules). */
function resolverPlugin(config: { jobDir: string; scriptPath: string; baseUrl: string; workspace: string; token: string }): string {
  return `import { dirname, join, posix, relative } from "node:path";
const config = ${JSON.stringify(config)};
const main = join(config.jobDir, "main.ts");
// At run time Bun hands back paths of our namespace with its name in front.
const plain = (path) => path.replace(/^windmill-script:/, "");
export const workspaceScripts = {
  name: "windmill-workspace-scripts",
  setup(build) {
    build.onResolve({ filter: /\\.ts$/ }, (args) => {
      const importer = plain(args.importer ?? "");
      if (!importer || importer.includes("/node_modules/") || importer.endsWith("wrapper.mjs")) return undefined;
      if (!(args.path.startsWith(".") || args.path.startsWith("/f/") || args.path.startsWith("/u/"))) return undefined;
      const from = importer === main ? config.scriptPath : relative(config.jobDir, importer).replace(/\\.ts$/, "");
      const target = args.path.startsWith("/") ? args.path.slice(1) : posix.join(posix.dirname(from), args.path);
      return { path: join(config.jobDir, target), namespace: "windmill-script" };
    });
    build.onLoad({ filter: /.*/, namespace: "windmill-script" }, async (args) => {
      const file = plain(args.path);
      const script = relative(config.jobDir, file);
      const response = await fetch(config.baseUrl + "/api/w/" + config.workspace + "/scripts/raw_unpinned/p/" + script, { headers: { Authorization: "Bearer " + config.token } });
      if (!response.ok) throw new Error("Failed to find relative import " + script + ": " + (await response.text()));
      return { contents: await response.text(), loader: "ts", resolveDir: dirname(file) };
    });
  },
};
`;
}

function wrapper(mainImport: string, names: string[]): string {
  return `import * as Main from ${JSON.stringify(mainImport)};
import { readFile, writeFile } from "node:fs/promises";
const args = JSON.parse(await readFile("args.json", "utf8"));
const names = ${JSON.stringify(names)};
try {
  const result = await Main.main(...names.map((name) => args[name]));
  await writeFile("result.json", JSON.stringify(result ?? null, (key, value) => (value === undefined ? null : value)));
  process.exit(0);
} catch (e) {
  console.error(e);
  const error = { message: e?.message, name: e?.name, stack: e?.stack };
  if (process.env.WM_FLOW_STEP_ID) error.step_id = process.env.WM_FLOW_STEP_ID;
  const extra = {};
  for (const key of Object.getOwnPropertyNames(e ?? {})) {
    if (!["line", "name", "stack", "column", "message", "sourceURL", "originalLine", "originalColumn"].includes(key)) extra[key] = e[key];
  }
  if (Object.keys(extra).length > 0) error.extra = extra;
  await writeFile("result.json", JSON.stringify(error));
  process.exit(1);
}
`;
}

/** The workspace dependency files as deployed (what `wmill sync push` sends from dependencies/). */
function dependencyFiles(): string[] {
  const dir = join(repoRoot, "dependencies");
  return existsSync(dir) ? readdirSync(dir).sort().map((name) => `dependencies/${name}`) : [];
}

async function importClosure(script: string): Promise<string[]> {
  const parser = await windmillParser();
  const seen = new Set<string>();
  const queue = [script];
  while (queue.length > 0) {
    const next = queue.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...parser.parse_ts_relative_imports(readFileSync(join(repoRoot, `${next}.ts`), "utf8"), next));
  }
  return [...seen].sort();
}

/**
 * What `bun install` of the script's lockfile puts in a job directory: the runtime packages of
 * package-lock.json (not the dev ones), as real files there (hard links), so that a path a
 * package records at build time lies inside the job directory and goes with it.
 */
function installDependencies(jobDir: string): void {
  const lock = JSON.parse(readFileSync(join(repoRoot, "package-lock.json"), "utf8")) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean }>;
  };
  const packages = Object.entries(lock.packages)
    .filter(([path, entry]) =>
      path.startsWith("node_modules/") && !path.slice("node_modules/".length).includes("node_modules/") && !entry.dev && !entry.devOptional
    )
    .map(([path]) => path);
  const copy = spawnSync("cp", ["-al", "--parents", "-t", jobDir, ...packages], { cwd: repoRoot, encoding: "utf8" });
  if (copy.status !== 0) throw new Error(`installing the dependencies into ${jobDir} failed: ${copy.stderr}`);
}

function runProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; logs: string }> } {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let logs = "";
  child.stdout!.on("data", (chunk: Buffer) => (logs += chunk.toString("utf8")));
  child.stderr!.on("data", (chunk: Buffer) => (logs += chunk.toString("utf8")));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; logs: string }>((settle, fail) => {
    child.once("error", fail);
    child.once("close", (code, signal) => settle({ code, signal, logs }));
  });
  return { child, done };
}

/** The environment of a job: cleared, then Windmill's reserved variables (worker.rs, get_reserved_variables). */
function jobEnvironment(api: WindmillApi, job: ScriptJob, jobId: string, home: string): NodeJS.ProcessEnv {
  return {
    PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    BASE_INTERNAL_URL: api.baseUrl,
    BASE_URL: api.baseUrl,
    WM_BASE_URL: api.baseUrl,
    WM_TOKEN: api.token,
    WM_WORKSPACE: api.workspace,
    WM_JOB_ID: jobId,
    WM_JOB_PATH: job.path,
    WM_USERNAME: "admin",
    WM_EMAIL: "admin@family.example",
    WM_PERMISSIONED_AS: "u/admin",
    ...(job.flow
      ? { WM_FLOW_JOB_ID: job.flow.jobId, WM_ROOT_FLOW_JOB_ID: job.flow.jobId, WM_FLOW_PATH: job.flow.path,
        WM_FLOW_STEP_ID: job.flow.stepId }
      : {}),
    ...(job.schedulePath ? { WM_SCHEDULE_PATH: job.schedulePath } : {}),
  };
}

export interface ScriptJob {
  /** Workspace path without extension, e.g. f/admin/backup_database. */
  path: string;
  /** The job's arguments as Windmill stores them (JSON): absent ≠ null. */
  args: Record<string, unknown>;
  flow?: { jobId: string; path: string; stepId: string };
  schedulePath?: string;
  /** Bundle even a //nobundling script (to show what the annotation avoids). */
  forceBundling?: boolean;
}

export type JobOutcome =
  | { success: true; result: unknown; logs: string; jobId: string }
  | { success: false; error: { message: string; name: string; stack?: string; step_id?: string; extra?: Record<string, unknown> };
    logs: string; jobId: string; signal?: NodeJS.Signals };

export interface RunningJob {
  jobId: string;
  child: ChildProcess;
  done: Promise<JobOutcome>;
}

/** How a script is run (for tests of the harness itself): from a cached bundle, or unbundled. */
export async function executionMode(path: string): Promise<"cached bundle" | "nobundling"> {
  return hasNoBundling(readFileSync(join(repoRoot, `${path}.ts`), "utf8")) ? "nobundling" : "cached bundle";
}

/** The cached bundle of a script, built on first use exactly once per content (bun_executor.rs, compute_bundle_local_and_remote_path). */
async function cachedBundle(api: WindmillApi, job: ScriptJob, source: string): Promise<string> {
  // Keyed by what the bundle is made of: the sources it imports, the locked versions, and how we build it.
  const hash = createHash("sha256").update(resolverPlugin({ jobDir: "", scriptPath: "", baseUrl: "", workspace: "", token: "" }));
  for (const file of [...(await importClosure(job.path)).map((p) => `${p}.ts`), "package-lock.json", ...dependencyFiles()]) {
    hash.update(file).update(readFileSync(join(repoRoot, file)));
  }
  const bundle = join(cacheDir, `${hash.digest("hex")}.js`);
  if (existsSync(bundle)) return bundle;
  mkdirSync(cacheDir, { recursive: true });
  const buildDir = mkdtempSync(join(tmpdir(), "wpb-windmill-build-"));
  try {
    writeFileSync(join(buildDir, "main.ts"), source);
    installDependencies(buildDir);
    writeFileSync(join(buildDir, "plugin.mjs"),
      resolverPlugin({ jobDir: buildDir, scriptPath: job.path, baseUrl: api.baseUrl, workspace: api.workspace, token: api.token }));
    writeFileSync(join(buildDir, "build.mjs"), `import { workspaceScripts } from "./plugin.mjs";
const output = await Bun.build({
  entrypoints: [${JSON.stringify(join(buildDir, "main.ts"))}],
  outdir: "./",
  target: "bun",
  plugins: [workspaceScripts],
  external: ["electron"],
  minify: { identifiers: false, syntax: true, whitespace: false },
});
if (!output.success) { console.error(output.logs.join("\\n")); process.exit(1); }
`);
    const built = await runProcess(bun, ["run", "build.mjs"], { cwd: buildDir, env: { PATH: process.env.PATH, HOME: buildDir } }).done;
    if (built.code !== 0) throw new Error(`bun build of ${job.path} failed:\n${built.logs}`);
    const partial = `${bundle}.${process.pid}.partial`;
    writeFileSync(partial, readFileSync(join(buildDir, "main.js")));
    renameSync(partial, bundle);
    return bundle;
  } finally {
    // The build's directory is a job directory too: deleted, so nothing may point into it later.
    rmSync(buildDir, { recursive: true, force: true });
  }
}

export async function startScriptJob(api: WindmillApi, job: ScriptJob): Promise<RunningJob> {
  const source = readFileSync(join(repoRoot, `${job.path}.ts`), "utf8");
  workspaceDependencies(source, dependencyFiles());
  const signature = await parseMainSignature(source);
  if (!signature.args) throw new Error(`${job.path}: Windmill's parser cannot read main`);
  const names = signature.args.map((a) => a.name);
  const nobundling = hasNoBundling(source) && !job.forceBundling;
  const bundle = nobundling ? undefined : await cachedBundle(api, job, source);

  const jobId = randomUUID();
  const jobDir = mkdtempSync(join(tmpdir(), "wpb-windmill-job-"));
  writeFileSync(join(jobDir, "args.json"), JSON.stringify(job.args));
  let command: string[];
  if (bundle) {
    symlinkSync(bundle, join(jobDir, "main.js"));
    writeFileSync(join(jobDir, "package.json"), '{ "type": "module" }');
    writeFileSync(join(jobDir, "wrapper.mjs"), wrapper("./main.js", names));
    command = ["run", join(jobDir, "wrapper.mjs")];
  } else {
    writeFileSync(join(jobDir, "main.ts"), source);
    writeFileSync(join(jobDir, "package.json"), '{ "type": "module" }');
    installDependencies(jobDir);
    writeFileSync(join(jobDir, "plugin.mjs"),
      resolverPlugin({ jobDir, scriptPath: job.path, baseUrl: api.baseUrl, workspace: api.workspace, token: api.token }));
    writeFileSync(join(jobDir, "loader.mjs"),
      `import { plugin } from "bun";\nimport { workspaceScripts } from "./plugin.mjs";\nplugin(workspaceScripts);\n`);
    writeFileSync(join(jobDir, "wrapper.mjs"), wrapper("./main.ts", names));
    command = ["run", "-r", "./loader.mjs", join(jobDir, "wrapper.mjs")];
  }
  api.jobs.set(jobId, { running: true });
  const run = runProcess(bun, command, { cwd: jobDir, env: jobEnvironment(api, job, jobId, jobDir) });
  const done = run.done.then(({ code, signal, logs }): JobOutcome => {
    try {
      const resultFile = join(jobDir, "result.json");
      if (code === 0) {
        const result = JSON.parse(readFileSync(resultFile, "utf8")) as unknown;
        api.jobs.set(jobId, { running: false, success: true, result });
        return { success: true, result, logs, jobId };
      }
      const error = existsSync(resultFile)
        ? (JSON.parse(readFileSync(resultFile, "utf8")) as Extract<JobOutcome, { success: false }>["error"])
        : { message: signal ? `Job killed by ${signal}` : `Job exited with code ${code} before writing its result`, name: "ExecutionErr" };
      api.jobs.set(jobId, { running: false, success: false, result: { error } });
      return { success: false, error, logs, jobId, ...(signal ? { signal } : {}) };
    } finally {
      // bun_executor.rs: the job directory goes after each job.
      rmSync(jobDir, { recursive: true, force: true });
    }
  });
  return { jobId, child: run.child, done };
}

export async function runScriptJob(api: WindmillApi, job: ScriptJob): Promise<JobOutcome> {
  return await (await startScriptJob(api, job)).done;
}
