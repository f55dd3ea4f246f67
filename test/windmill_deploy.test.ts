// What Windmill will see when the bundle is deployed: imports it can resolve, library modules that
// deploy as scripts without `main`, the npm versions the tests ran, files the wmill CLI accepts,
// and a deploy plan that pushes all of it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { builtinModules } from "node:module";
import { test } from "node:test";
import { deployPlan, stageDeployment, stageSchedules } from "../tools/deploy.ts";
import { windmillParser } from "../tools/windmill-parser.ts";
import { workspaceDependencies } from "./support/bun-worker.ts";

const plan = deployPlan(true);
const source = (script: string) => readFileSync(`${script}.ts`, "utf8");

test("every import between scripts is a relative .ts path that Windmill resolves to a deployed script", async () => {
  const wasm = await windmillParser();
  for (const script of plan.scripts) {
    const imports = (JSON.parse(wasm.parse_ts_imports(source(script))) as { imports: string[] }).imports;
    const relativeImports = imports.filter((i) => i.startsWith("."));
    for (const specifier of relativeImports) assert.match(specifier, /\.ts$/, `${script} imports ${specifier} without .ts`);
    const resolved = wasm.parse_ts_relative_imports(source(script), script);
    assert.equal(resolved.length, relativeImports.length, `${script}: every relative import resolves`);
    for (const target of resolved) assert.ok(plan.scripts.includes(target), `${script} imports ${target}, which is deployed`);
  }
});

test("library modules deploy as scripts without main; the scripts have one", async () => {
  const wasm = await windmillParser();
  for (const script of plan.scripts) {
    const kind = (JSON.parse(wasm.parse_deno(source(script))) as { auto_kind: string | null }).auto_kind;
    if (script.startsWith("f/admin/lib/")) assert.equal(kind, "lib", `${script} has no main`);
    else assert.notEqual(kind, "lib", `${script} has a main`);
  }
});

test("scripts import only runtime dependencies, pinned in dependencies/windmill_pg_backup.package.json to the versions the tests ran", async () => {
  const wasm = await windmillParser();
  const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { dependencies: Record<string, string> };
  const lock = JSON.parse(readFileSync("package-lock.json", "utf8")) as { packages: Record<string, { version: string }> };
  const workspace = JSON.parse(readFileSync("dependencies/windmill_pg_backup.package.json", "utf8")) as {
    dependencies: Record<string, string>;
  };
  const installed = Object.fromEntries(Object.keys(pkg.dependencies).map((name) => [name, lock.packages[`node_modules/${name}`]!.version]));
  assert.deepEqual(workspace.dependencies, installed);
  const packageOf = (specifier: string) =>
    specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!;
  for (const script of plan.scripts) {
    const imports = (JSON.parse(wasm.parse_ts_imports(source(script))) as { imports: string[] }).imports;
    for (const specifier of imports.filter((i) => !i.startsWith("."))) {
      if (specifier.startsWith("node:") || builtinModules.includes(specifier)) continue;
      assert.ok(packageOf(specifier) in pkg.dependencies, `${script} imports ${specifier}, a runtime dependency`);
    }
  }
});

test("the wmill CLI's lint accepts the scripts and the schedules", () => {
  for (const dir of ["f/admin", "schedules"]) {
    const lint = spawnSync("node_modules/.bin/wmill", ["lint", dir], { encoding: "utf8" });
    assert.equal(lint.status, 0, `${dir}: ${lint.stdout}${lint.stderr}`);
    assert.match(lint.stdout, /Lint passed/);
  }
});

test("a deploy pushes every script, the schedules, the workspace dependencies and, when asked, the resources", () => {
  for (const script of ["f/admin/backup_database", "f/admin/restore_database", "f/admin/list_backups", "f/admin/backup_failure_handler",
    "f/admin/backup_health"]) {
    assert.ok(plan.scripts.includes(script), script);
  }
  assert.ok(plan.scripts.every((s) => existsSync(`${s}.ts`)));
  assert.deepEqual(plan.schedules.map((s) => s.path).sort(), ["f/admin/schedule_backup_drill", "f/admin/schedule_daily_backup",
    "f/admin/schedule_health_check", "f/admin/schedule_monthly_backup", "f/admin/schedule_weekly_backup"]);
  assert.deepEqual(plan.flows, ["f/admin/backup_drill", "f/admin/restore_and_verify", "f/admin/scheduled_backup",
    "f/admin/scheduled_health_check"]);
  for (const resource of ["f/admin/backup_settings", "f/admin/database"]) {
    assert.ok(plan.resources.some((r) => r.path === resource), `${resource} is in the plan`);
  }
  assert.deepEqual(deployPlan(false).resources, [], "resources are pushed only when asked");
  assert.deepEqual(plan.resourceTypes.map((t) => t.name).sort(), ["c_backup_alerts", "c_backup_settings", "c_s3_backup_config"]);
  for (const resource of plan.resources) {
    const type = /^resource_type: (\S+)$/m.exec(readFileSync(resource.file, "utf8"))?.[1];
    assert.ok(type === "postgresql" || plan.resourceTypes.some((t) => t.name === type),
      `${resource.file}: resource type ${type} is standard or pushed`);
  }
  assert.deepEqual(plan.dependencies, ["dependencies/windmill_pg_backup.package.json"]);
  const wmillYaml = readFileSync("wmill.yaml", "utf8");
  assert.match(wmillYaml, /includes:\n\s+- f\/admin\/\*\*/, "sync push is scoped to f/admin/**");
});

test("our workspace dependencies are named: they apply to our annotated scripts only, never to the user's other scripts", () => {
  // backend/windmill-common/src/workspace_dependencies.rs: an unnamed dependencies/package.json is the
  // default of every Bun script of the workspace (import inference off); a named one needs the annotation.
  assert.ok(!existsSync("dependencies/package.json"), "no unnamed workspace dependencies file");
  const files = plan.dependencies;
  for (const script of plan.scripts.filter((s) => !s.startsWith("f/admin/lib/"))) {
    assert.deepEqual(workspaceDependencies(source(script), files), { kind: "named", name: "windmill_pg_backup",
      file: "dependencies/windmill_pg_backup.package.json" }, script);
  }
  assert.deepEqual(workspaceDependencies("import axios from 'axios';\nexport async function main() {}", files), { kind: "inferred" },
    "a user's script is untouched");
});

test("wmill.yaml uses only options the wmill CLI knows (wmill config --json)", () => {
  const out = spawnSync("node_modules/.bin/wmill", ["config", "--json"], { encoding: "utf8" });
  assert.equal(out.status, 0, out.stderr);
  const known = (JSON.parse(out.stdout.slice(out.stdout.indexOf("["))) as Array<{ name: string }>).map((o) => o.name);
  const keys = Object.keys(parse(readFileSync("wmill.yaml", "utf8")) as Record<string, unknown>);
  assert.deepEqual(keys.filter((k) => !known.includes(k)), []);
});

test("the deploy runs the CLI in a staged copy: what sync push writes beside the lib modules stays out of the checkout", () => {
  const stage = stageDeployment();
  try {
    for (const entry of ["wmill.yaml", "f/admin/backup_database.ts", "f/admin/lib/errors.ts",
      "dependencies/windmill_pg_backup.package.json", "schedules", "resources"]) {
      assert.ok(existsSync(join(stage, entry)), entry);
    }
    assert.notEqual(stage, process.cwd());
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
});

test("the deploy explains itself (--help, a wrong option: usage, no stack trace) and pushes the schedules disabled unless the resources go up too", () => {
  const deploy = (...args: string[]) => spawnSync(process.execPath, ["--import", "tsx", "tools/deploy.ts", ...args], { encoding: "utf8" });
  const help = deploy("--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: npm run deploy -- --workspace <workspace>/);
  for (const wrong of [["--bogus"], []]) {
    const out = deploy(...wrong);
    assert.equal(out.status, 1);
    assert.match(out.stderr, /^error: .*\nusage: npm run deploy/);
    assert.doesNotMatch(out.stderr, /\n\s+at /, "no stack trace");
  }
  const stage = stageDeployment();
  try {
    const schedules = deployPlan(false).schedules;
    assert.ok(schedules.length >= 4);
    for (const enable of [false, true]) {
      stageSchedules(stage, schedules, enable);
      for (const { file } of schedules) assert.equal(parse(readFileSync(join(stage, file), "utf8")).enabled, enable, file);
    }
    // The checkout keeps the contract's schedules as they are (enabled).
    for (const { file } of schedules) assert.equal(parse(readFileSync(file, "utf8")).enabled, true);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
});
