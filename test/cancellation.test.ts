// A job Windmill cancels (SIGTERM to the worker's process) leaves nothing behind: no temp file, no
// archive under a final name, no lock held, so the next run starts at once.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { startPgProxy, type PgProxy } from "./support/pg-proxy.ts";
import { SAMPLE_DATABASE, startSample, type Sample } from "./support/sample.ts";

let sample: Sample;
let proxy: PgProxy;
let backupDir: string;
let mockFile: string;

before(async () => {
  sample = await startSample("cancel", {
    settings: { lock_wait_seconds: 0 },
    // A few seconds of COPY, so the job is surely still writing when it is cancelled.
    extraSql:
      "CREATE TABLE public.bulk (id int, body text); INSERT INTO public.bulk SELECT g, repeat(md5(g::text), 12) FROM generate_series(1, 100000) g",
  });
  // The job reaches the server through a proxy that holds its answers once the COPY of bulk is sent:
  // the job is then surely in the middle of writing its archive when it is cancelled.
  proxy = await startPgProxy(sample.cluster);
  backupDir = sample.backupDir;
  mockFile = sample.configure({ lock_wait_seconds: 0 }, { "f/admin/database": proxy.resource(SAMPLE_DATABASE) });
});

after(async () => {
  await proxy?.stop();
  await sample?.stop();
});

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const runtime of ["node", "bun"]) {
  test(`${runtime}: a backup cancelled mid-way removes its temp file and releases its lock`, { timeout: 180_000 }, async () => {
    // The job writes its archive under a temp name whose pid is the worker process's.
    const job = spawn(process.execPath, ["--import", "tsx", "tools/wm.ts", "--runtime", runtime, "f/admin/backup_database",
      '{"backup_type":"daily"}'], {
      env: { ...process.env, WM_MOCKED_API_FILE: mockFile },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => job.once("exit", (code) => resolve(code)));
    let worker: number | undefined;
    try {
      await proxy.holdAfter(`COPY "public"."bulk"`);
      const temp = await until("the backup's temp file", () =>
        existsSync(backupDir) ? readdirSync(backupDir).find((name) => name.includes(".tmp-")) : undefined);
      worker = Number(/-(\d+)-[0-9a-f]{12}$/.exec(temp)![1]);
      process.kill(worker, "SIGTERM");
      const code = await Promise.race([exited, new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), 60_000).unref())]);
      assert.notEqual(code, "hung", "the cancelled job exits within a minute");
      assert.notEqual(code, 0, "the cancelled job fails");
      assert.deepEqual(readdirSync(backupDir).filter((f) => f.includes(".tmp-") || f.includes("_daily_")), [], "no temp file, no archive");
    } finally {
      proxy.release();
      job.kill("SIGKILL");
      if (worker !== undefined) {
        try {
          process.kill(worker, "SIGKILL");
        } catch {
          // Already gone, as it should be.
        }
      }
    }
    // The lock went with the process: a new run (waiting 0 s for it) succeeds at once.
    sample.configure({ lock_wait_seconds: 0 });
    const next = (await backupDatabase("daily", false, false, false)) as { status: string };
    sample.configure({ lock_wait_seconds: 0 }, { "f/admin/database": proxy.resource(SAMPLE_DATABASE) });
    assert.equal(next.status, "success");
    // Empty the volume for the next runtime (it stays mounted: the scripts never create it).
    for (const name of readdirSync(backupDir)) rmSync(`${backupDir}/${name}`, { recursive: true, force: true });
  });
}
