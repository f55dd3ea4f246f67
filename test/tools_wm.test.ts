// The local runner under Node, Bun and Deno: arguments map to main by name, missing ones take their
// defaults, a thrown error exits 1 with `error: <message>`, unknown names are refused, and
// windmill-client serves resources from WM_MOCKED_API_FILE in every runtime.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const runtimes = ["node", "bun", "deno"] as const;

let dir: string;
let script: string;
let resourceScript: string;
let mockFile: string;

before(() => {
  mkdirSync(join(repoRoot, "test", ".tmp"), { recursive: true });
  dir = mkdtempSync(join(repoRoot, "test", ".tmp", "wm-"));
  // Logs on stdout must not reach the runner's stdout, so this script logs on purpose.
  writeFileSync(
    join(dir, "echo.ts"),
    `export async function main(a: string, b = 2, c?: { x: number }) {
  console.log("a log line");
  if (a === "fail") throw new Error("asked to fail");
  const g = globalThis as Record<string, unknown>;
  const runtime = g.Bun ? "bun" : g.Deno ? "deno" : "node";
  return { a, b, c: c ?? "no c", runtime };
}
`,
  );
  writeFileSync(
    join(dir, "resource.ts"),
    `import * as wmill from "windmill-client";
export async function main(path: string) {
  return await wmill.getResource(path);
}
`,
  );
  mockFile = join(dir, "mock.json");
  writeFileSync(mockFile, JSON.stringify({ resources: { "f/test/db": { host: "db.example", port: 5433 } }, variables: {} }));
  script = relative(repoRoot, join(dir, "echo"));
  resourceScript = relative(repoRoot, join(dir, "resource"));
});

after(() => rmSync(dir, { recursive: true, force: true }));

function wm(args: string[], env: NodeJS.ProcessEnv = {}) {
  const out = spawnSync(process.execPath, ["--import", "tsx", "tools/wm.ts", ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, WM_RUNTIME: undefined, ...env },
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

for (const runtime of runtimes) {
  describe(`under ${runtime}`, () => {
    test("maps arguments by name, not by their order in the JSON", () => {
      const out = wm(["--runtime", runtime, script, JSON.stringify({ c: { x: 7 }, b: 5, a: "hi" })]);
      assert.equal(out.status, 0, out.stderr);
      assert.deepEqual(JSON.parse(out.stdout), { a: "hi", b: 5, c: { x: 7 }, runtime });
    });

    test("missing arguments take main's defaults; logs go to stderr; output is pretty JSON", () => {
      const out = wm(["--runtime", runtime, script, '{"a":"x"}']);
      assert.equal(out.status, 0, out.stderr);
      assert.equal(out.stdout, JSON.stringify({ a: "x", b: 2, c: "no c", runtime }, null, 2) + "\n");
      assert.match(out.stderr, /a log line/);
    });

    test("a thrown error exits 1 with `error: <message>` on stderr and nothing on stdout", () => {
      const out = wm(["--runtime", runtime, script, '{"a":"fail"}']);
      assert.equal(out.status, 1);
      assert.equal(out.stdout, "");
      assert.match(out.stderr, /^error: asked to fail$/m);
    });

    test("windmill-client reads resources from WM_MOCKED_API_FILE", () => {
      const out = wm(["--runtime", runtime, resourceScript, '{"path":"f/test/db"}'], { WM_MOCKED_API_FILE: mockFile });
      assert.equal(out.status, 0, out.stderr);
      assert.deepEqual(JSON.parse(out.stdout), { host: "db.example", port: 5433 });
    });
  });
}

test("WM_RUNTIME chooses the runtime when --runtime is absent", () => {
  const out = wm([script, '{"a":"x"}'], { WM_RUNTIME: "bun" });
  assert.equal(out.status, 0, out.stderr);
  assert.equal((JSON.parse(out.stdout) as { runtime: string }).runtime, "bun");
});

test("an unknown argument is refused, naming the accepted ones, before main runs", () => {
  const out = wm([script, '{"a":"x","colour":"red"}']);
  assert.equal(out.status, 1);
  assert.equal(out.stdout, "");
  assert.match(out.stderr, /^error: unknown argument\(s\) colour; main accepts: a, b, c$/m);
  assert.doesNotMatch(out.stderr, /a log line/);
});

test("an unknown runtime is refused", () => {
  const out = wm(["--runtime", "python", script, '{"a":"x"}']);
  assert.equal(out.status, 1);
  assert.match(out.stderr, /^error: unknown runtime python; use one of node, bun, deno$/m);
});

test("a refused restore prints its reason and nothing else (no audit line: nothing happened)", () => {
  const mock = join(dir, "restore-mock.json");
  writeFileSync(mock, JSON.stringify({
    // An existing backup directory of its own: the default (/var/backups/windmill-pg-backup) exists on
    // some machines and not on others, and without it the restore stops earlier, at the directory.
    resources: {
      "f/admin/database": { host: "127.0.0.1", port: 1, user: "u", password: "p", dbname: "d", sslmode: "disable" },
      "f/admin/backup_settings": { backup_dir: dir },
    },
    variables: {},
  }));
  const out = wm(["f/admin/restore_database", '{"backup_filename": "family_brain_manual_20251208_023807.sql.gz"}'], {
    WM_MOCKED_API_FILE: mock,
  });
  assert.equal(out.status, 1);
  assert.match(out.stderr,
    /^error: Restore refused: restoring family_brain_manual_20251208_023807\.sql\.gz replaces .*confirm_restore: true/m);
  assert.doesNotMatch(out.stderr, /audit/);
});

test('the runner refuses a mock file it cannot read or whose shape is wrong, saying what it expected (never "no backups")', () => {
  const flat = join(dir, "flat-mock.json");
  writeFileSync(flat, JSON.stringify({ "f/admin/database": { host: "h" }, variables: {} }));
  const cases: Array<[string, RegExp]> = [
    [join(dir, "absent.json"), /cannot be read \(ENOENT\)/],
    [mockFile.replace(/mock\.json$/, "echo.ts"), /is not valid JSON/],
    [flat, /does not have the shape windmill-client reads: .*f\/admin\/database must be inside "resources"/],
  ];
  for (const [file, message] of cases) {
    const out = wm(["f/admin/list_backups", "{}"], { WM_MOCKED_API_FILE: file });
    assert.equal(out.status, 1, file);
    assert.equal(out.stdout, "");
    assert.match(out.stderr, message);
  }
});

// `--bundled` runs a script as Windmill's worker does: Bun bundles it (target bun, or node for the
// `//nodejs` mode), and the bundle runs alone in a job directory without node_modules
// (backend/windmill-worker/src/bun_executor.rs: build_loader with LoaderMode::BunBundle/NodeBundle,
// generate_bun_bundle). So the script's dependencies must be in the bundle: windmill-client still
// reads the mocked resources, and the script's module is the bundle, not the repository's file.
for (const runtime of ["bun", "node"] as const) {
  test(`--bundled under ${runtime}: the script runs from its bundle, outside the repository, and --peak reports its memory`, () => {
    const where = join(dir, "where.ts");
    writeFileSync(
      where,
      `import * as wmill from "windmill-client";
export async function main(path: string) {
  return { url: import.meta.url, cwd: process.cwd(), resource: await wmill.getResource(path) };
}
`,
    );
    const cache = join(dir, `bundles-${runtime}`);
    mkdirSync(cache);
    const run = () =>
      wm(["--runtime", runtime, "--bundled", "--peak", relative(repoRoot, where), '{"path":"f/test/db"}'], {
        WM_MOCKED_API_FILE: mockFile,
        WM_BUNDLE_CACHE: cache,
      });
    const out = run();
    assert.equal(out.status, 0, out.stderr);
    const result = JSON.parse(out.stdout) as { url: string; cwd: string; resource: unknown };
    assert.deepEqual(result.resource, { host: "db.example", port: 5433 });
    assert.equal(result.url, pathToFileURL(join(cache, `where.${runtime}.mjs`)).href);
    assert.ok(!result.cwd.startsWith(repoRoot), `the job ran in ${result.cwd}`);
    const peak = /^script_peak_kb=(\d+)$/m.exec(out.stderr);
    assert.ok(peak && Number(peak[1]) > 10_000, out.stderr);
    // The cache is used as it is: a bundle left there runs again without being rebuilt.
    // (A bundle carries the runner's child half: it writes the outcome file it is given first.)
    writeFileSync(
      join(cache, `where.${runtime}.mjs`),
      `import { writeFileSync } from "node:fs";
writeFileSync(process.argv[2], JSON.stringify({ ok: true, result: "from the cache", peakKb: 1 }));
`,
    );
    assert.equal(JSON.parse(run().stdout), "from the cache");
  });
}

test("--bundled is refused under deno, which Windmill does not bundle", () => {
  const out = wm(["--runtime", "deno", "--bundled", script, '{"a":"x"}']);
  assert.equal(out.status, 1);
  assert.match(out.stderr, /^error: --bundled runs under bun or node/m);
});
