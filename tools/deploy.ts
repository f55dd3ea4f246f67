// `npm run deploy -- --workspace W [--base-url URL --token T] [--with-resources] [--enable-schedules] [--plan]`:
// pushes the bundle to a Windmill workspace with the wmill CLI: the scripts, their lib/ and flows (sync
// push, scoped to f/admin/** by wmill.yaml, never deleting remote items), the named workspace
// dependencies, (only when asked) the custom resource types and the resource templates, then the
// schedules (disabled unless the resources go up too, or --enable-schedules). `--plan`
// prints what would be pushed. The CLI runs in a staged copy of those files: `wmill sync push` writes
// a `.script.yaml` and an empty `.script.lock` beside every script that has none (the lib/ modules;
// windmill-cli's parseMetadataFile, "Creating script metadata file"), and the checkout must stay clean.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

export interface DeployPlan {
  scripts: string[];
  flows: string[];
  schedules: Array<{ file: string; path: string }>;
  resources: Array<{ file: string; path: string }>;
  /** Custom resource types the resources need, pushed before them. */
  resourceTypes: Array<{ file: string; name: string }>;
  dependencies: string[];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** What a deploy pushes, read from the repository; remote paths are f/admin/<name>. */
export function deployPlan(withResources: boolean): DeployPlan {
  const admin = join(repoRoot, "f", "admin");
  const files = filesUnder(admin).map((f) => relative(repoRoot, f));
  const pushed = (dir: string, suffix: string) =>
    readdirSync(join(repoRoot, dir)).filter((f) => f.endsWith(suffix))
      .map((f) => ({ file: join(dir, f), path: `f/admin/${f.slice(0, -suffix.length)}` }));
  return {
    scripts: files.filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort(),
    flows: files.filter((f) => f.endsWith("__flow/flow.yaml")).map((f) => f.replace(/__flow\/flow\.yaml$/, "")).sort(),
    schedules: pushed("schedules", ".schedule.yaml"),
    resources: withResources ? pushed("resources", ".resource.yaml") : [],
    resourceTypes: withResources
      ? readdirSync(join(repoRoot, "resources")).filter((f) => f.endsWith(".resource-type.yaml"))
        .map((f) => ({ file: join("resources", f), name: f.slice(0, -".resource-type.yaml".length) }))
      : [],
    dependencies: existsSync(join(repoRoot, "dependencies"))
      ? readdirSync(join(repoRoot, "dependencies")).map((f) => `dependencies/${f}`)
      : [],
  };
}

/** What the CLI reads, copied into a new directory: the CLI may write there, never into the checkout. */
export function stageDeployment(): string {
  const stage = mkdtempSync(join(tmpdir(), "wpb-deploy-"));
  for (const entry of ["wmill.yaml", "f", "dependencies", "schedules", "resources"]) {
    if (existsSync(join(repoRoot, entry))) cpSync(join(repoRoot, entry), join(stage, entry), { recursive: true });
  }
  return stage;
}

function wmill(stage: string, args: string[]): void {
  const bin = join(repoRoot, "node_modules", ".bin", "wmill");
  console.log(`$ wmill ${args.map((a) => (a.includes(" ") ? JSON.stringify(a) : a)).join(" ").replace(/--token \S+/, "--token ***")}`);
  const run = spawnSync(bin, args, { cwd: stage, stdio: "inherit" });
  if (run.status !== 0) throw new Error(`wmill ${args[0]} ${args[1] ?? ""} failed (exit ${run.status}); nothing after it was pushed`);
}

const USAGE = `usage: npm run deploy -- --workspace <workspace> [--base-url <url>] [--token <token>] [--with-resources] [--enable-schedules]
       npm run deploy -- --plan        what would be pushed, without contacting Windmill

  --with-resources    also push the custom resource types and the templates of resources/ (edit them first;
                      their secrets are $var: references to variables you create before)
  --enable-schedules  push the schedules enabled; without it (or --with-resources) they are pushed disabled,
                      so that nothing runs before f/admin/database exists: enable them in the UI or run again`;

/**
 * The schedules as the CLI pushes them: enabled only when asked, or when the resources go up in the
 * same deploy; a schedule that runs before f/admin/database exists only fails.
 */
export function stageSchedules(stage: string, schedules: DeployPlan["schedules"], enable: boolean): void {
  for (const { file } of schedules) {
    const path = join(stage, file);
    const text = readFileSync(path, "utf8");
    if (!/^enabled: (true|false)$/m.test(text)) throw new Error(`${file} has no "enabled:" line`);
    writeFileSync(path, text.replace(/^enabled: (true|false)$/m, `enabled: ${enable}`));
  }
}

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        workspace: { type: "string" },
        "base-url": { type: "string" },
        token: { type: "string" },
        "with-resources": { type: "boolean", default: false },
        "enable-schedules": { type: "boolean", default: false },
        plan: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const plan = deployPlan(values["with-resources"] ?? false);
  if (values.plan) {
    console.log(JSON.stringify(plan, null, 2));
  } else {
    if (!values.workspace) throw new Error(`--workspace is missing\n${USAGE}`);
    const enable = (values["enable-schedules"] ?? false) || (values["with-resources"] ?? false);
    const target = [
      "--workspace",
      values.workspace,
      ...(values["base-url"] ? ["--base-url", values["base-url"]] : []),
      ...(values.token ? ["--token", values.token] : []),
    ];
    const stage = stageDeployment();
    try {
      stageSchedules(stage, plan.schedules, enable);
      wmill(stage, ["lint", "f/admin"]);
      wmill(stage, ["sync", "push", "--yes", "--keep-deleted", "--skip-variables", "--skip-resources", ...target]);
      // Resources before the schedules that need them.
      for (const type of plan.resourceTypes) wmill(stage, ["resource-type", "push", type.file, type.name, ...target]);
      for (const resource of plan.resources) wmill(stage, ["resource", "push", resource.file, resource.path, ...target]);
      for (const schedule of plan.schedules) wmill(stage, ["schedule", "push", schedule.file, schedule.path, ...target]);
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
    console.log(`Deployed ${plan.scripts.length} scripts, ${plan.flows.length} flows, ${plan.schedules.length} schedules ` +
      (enable ? "(enabled)" : "(disabled: enable them once f/admin/database exists, in the UI or with --enable-schedules)") +
      (plan.resources.length > 0
        ? `, ${plan.resources.length} resources`
        : "; resources untouched (--with-resources pushes the templates)"));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
