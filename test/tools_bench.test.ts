// `npm run bench` on a tiny database, as a user runs it: it must finish, measure every case of issue
// 14 (the comparisons too when this machine has PostgreSQL's client tools, as CI's does), and write
// JSON whose figures are numbers. A bench that breaks is found here, not the day someone needs it.
// Only that it runs and measures is asserted; how fast anything is stays the bench's own business.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import * as zlib from "node:zlib";
// A type only: importing it runs none of the bench (the import is erased).
import type { Measure } from "../tools/bench.ts";
import { startCluster } from "./support/cluster.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
let dir: string;

before(() => {
  mkdirSync(join(repoRoot, "test", ".tmp"), { recursive: true });
  dir = mkdtempSync(join(repoRoot, "test", ".tmp", "bench-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("npm run bench measures every case at scale 1 and writes it as JSON", async () => {
  // Whether the comparisons can run: the bench's own cluster finds the same client tools.
  const probe = await startCluster();
  const haveClient = probe.clientBin !== undefined;
  await probe.stop();
  const json = join(dir, "bench.json");
  const out = spawnSync(process.execPath, ["--import", "tsx", "tools/bench.ts", "--scale", "1", "--runs", "1", "--json", json], {
    cwd: repoRoot,
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  assert.equal(out.status, 0, `the bench failed:\n${out.stdout.slice(-3000)}\n${out.stderr.slice(-3000)}`);
  const result = JSON.parse(readFileSync(json, "utf8")) as {
    cases: Record<string, Measure & { runs: Measure[] }>;
    targets: Array<{ label: string; ratio: number; target: number }>;
    skipped: string[];
    peaks: Array<{ peakMb: number }>;
  };
  const ours = ["startup", "ours", "sealed", "s3Stream", "zstd", "newDatabase", "inPlace", "inPlaceEmpty", "sealedNewDatabase",
    "zstdNewDatabase"];
  const theirs = ["pgDumpGzip", "pgDumpDir", "rawCopy", "psql", "psqlSingle", "oursThroughPsql", "pgRestore"];
  const expected = [...ours, ...(haveClient ? theirs : []), ...(typeof zlib.zstdDecompress === "function" ? [] : ["zstdNewDatabaseNode"])];
  assert.deepEqual(Object.keys(result.cases).filter((k) => expected.includes(k)).sort(), [...expected].sort());
  for (const [key, c] of Object.entries(result.cases)) {
    assert.equal(c.runs.length, 1, key);
    for (const field of ["seconds", "peakMb", "clientCpu", "serverCpu", "storeCpu"] as const) {
      assert.ok(Number.isFinite(c[field]) && c[field] >= 0, `${key}.${field} is ${c[field]}`);
    }
    assert.ok(c.seconds > 0 && c.peakMb > 0, `${key} measured nothing`);
  }
  // Our scripts' peak is their own process's (the runner's --peak), a worker's figure: never GNU
  // time's largest child, which would be the runner's Node.
  for (const p of result.peaks) assert.ok(p.peakMb > 10 && p.peakMb < 1000, `peak ${p.peakMb} MB`);
  assert.equal(result.targets.length, haveClient ? 7 : 1, JSON.stringify(result.targets));
  for (const t of result.targets) assert.ok(Number.isFinite(t.ratio) && t.ratio > 0, t.label);
  // CI installs every tool, so nothing may be skipped there (a quietly shorter bench is a broken one).
  if (process.env.CI) assert.deepEqual(result.skipped, []);
  assert.match(out.stdout, /issue 14's targets/);
});
