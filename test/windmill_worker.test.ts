// Every script as Windmill's Bun worker runs it (test/support/bun-worker.ts): bundled once, then run
// from the cached bundle in a fresh job directory with a cleared environment (or unbundled where the
// script says //nobundling), the real windmill-client talking to the API stand-in for resources,
// variables and progress. What a worker does differently from a test calling main is checked here:
// WebAssembly found from a cached run, arguments that arrive as null, a resource that is not there
// (404), a variable a resource refers to, and a job killed with SIGKILL.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, watch, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { deployPlan } from "../tools/deploy.ts";
import { executionMode, runScriptJob, startScriptJob, type JobOutcome } from "./support/bun-worker.ts";
import type { Cluster } from "./support/cluster.ts";
import { startSample, type Sample } from "./support/sample.ts";
import type { WindmillApi } from "./support/windmill-api.ts";
import { startWindmill } from "./support/windmill.ts";

let sample: Sample;
let cluster: Cluster;
let api: WindmillApi;

before(async () => {
  sample = await startSample("worker", { settings: { lock_wait_seconds: 0 } });
  cluster = sample.cluster;
  api = await startWindmill(sample, { lock_wait_seconds: 0, lock_timeout_seconds: 600 });
});

after(async () => {
  await api?.stop();
  await sample?.stop();
});

function succeeded(outcome: JobOutcome): Record<string, unknown> {
  assert.ok(outcome.success, `the job failed: ${JSON.stringify(outcome.success ? "" : outcome.error)}\n${outcome.logs.slice(-3000)}`);
  return outcome.result as Record<string, unknown>;
}

const scripts = deployPlan(false).scripts.filter((s) => !s.startsWith("f/admin/lib/"));

test("the deployed scripts run from the cached bundle, except the two that read pg_dump archives (//nobundling)", async () => {
  const modes = Object.fromEntries(await Promise.all(scripts.map(async (s) => [s, await executionMode(s)])));
  for (const script of scripts) {
    const expected = ["f/admin/restore_database", "f/admin/rollback_failed_restore"].includes(script) ? "nobundling" : "cached bundle";
    assert.equal(modes[script], expected, script);
  }
});

let backupName: string;

test("backup_database: the seed's body, resources read through the API (password from a secret variable), progress reported", async () => {
  const outcome = await runScriptJob(api, { path: "f/admin/backup_database", args: { backup_type: "manual", dry_run: false } });
  const result = succeeded(outcome);
  assert.equal(result.status, "success");
  assert.equal(result.tables_backed_up, 8);
  backupName = result.filename as string;
  const progress = api.progress.filter((p) => p.job === outcome.jobId).map((p) => p.percent);
  assert.ok(progress.length >= 8, `one progress update per table at least (${progress.join(", ")})`);
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b), "progress never goes back");
  assert.ok(progress.every((p) => p >= 0 && p <= 99));
  assert.ok(!JSON.stringify(result).includes(cluster.password), "no secret in the result");
  assert.ok(!outcome.logs.includes(cluster.password), "no secret in the job log");
});

test("every optional argument given as null (what a flow passes for an input left out) means its default", async () => {
  const backup = succeeded(await runScriptJob(api, {
    path: "f/admin/backup_database",
    args: { backup_type: null, upload_to_s3: null, cleanup_old: null, dry_run: null, database_resource: null, settings_resource: null,
      s3_resource: null, fail_if_busy: null },
  }));
  assert.equal(backup.backup_type, "manual");
  assert.equal(backup.status, "success");
  const listed = succeeded(
    await runScriptJob(api, { path: "f/admin/list_backups", args: { include_s3: null, backup_type: null, verify_checksums: null } }),
  ) as unknown as Array<{ name: string }>;
  assert.ok(listed.some((row) => row.name === backup.filename));
  const preview = succeeded(await runScriptJob(api, {
    path: "f/admin/restore_database",
    args: { backup_filename: backup.filename, backup_source: null, target_database: null, tables: null, dry_run: true },
  })) as { render_all: Array<{ json?: { backup_source: string } }> };
  assert.equal(preview.render_all[2]!.json!.backup_source, "local");
  // A required argument stays required: null is not a file name.
  const refused = await runScriptJob(api, { path: "f/admin/restore_database", args: { backup_filename: null } });
  assert.equal(refused.success, false);
  assert.match(refused.success ? "" : refused.error.message, /backup_filename: give the file name of a backup/);
});

test("an optional resource that does not exist (404) is simply absent: pin_backup works without S3", async () => {
  const result = succeeded(
    await runScriptJob(api, { path: "f/admin/pin_backup", args: { backup_filename: backupName, note: "before the migration" } }),
  );
  assert.equal(result.pinned, true);
  assert.ok(api.requests.some((r) => r.path.endsWith("/resources/get_value_interpolated/f/admin/s3_backup_config")),
    "asked Windmill, got 404");
  assert.deepEqual(api.unexpected(), []);
  succeeded(await runScriptJob(api, { path: "f/admin/pin_backup", args: { backup_filename: backupName, pinned: false } }));
});

test("a database resource whose password variable was not created yet says which resource to check", async () => {
  api.variables.delete("f/admin/database_password");
  try {
    const outcome = await runScriptJob(api, { path: "f/admin/backup_database", args: {} });
    assert.equal(outcome.success, false);
    assert.match(outcome.success ? "" : outcome.error.message, /f\/admin\/database.*variable/s);
  } finally {
    api.variables.set("f/admin/database_password", cluster.password);
  }
});

const PLAIN_ARCHIVE = `--
-- PostgreSQL database dump
--

-- Dumped from database version 15.8
-- Dumped by pg_dump version 15.8

SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET client_min_messages = warning;

CREATE TABLE public.notes (
    id integer NOT NULL,
    body text
);

COPY public.notes (id, body) FROM stdin;
1\thello
2\tworld; with a semicolon
\\.

ALTER TABLE ONLY public.notes
    ADD CONSTRAINT notes_pkey PRIMARY KEY (id);

--
-- PostgreSQL database dump complete
--
`;

test("restore_database reads pg_dump archives on Windmill, again and again (WebAssembly loaded in each job's own directory)", async () => {
  writeFileSync(join(sample.backupDir, "nightly.sql"), PLAIN_ARCHIVE);
  for (const target of ["pgdump_first", "pgdump_second"]) {
    const result = succeeded(await runScriptJob(api, {
      path: "f/admin/restore_database",
      args: { backup_filename: "nightly.sql", pg_dump_archive: true, confirm_restore: true, target_database: target },
    })) as { verification: { passed: boolean }; rows_restored: number };
    assert.equal(result.verification.passed, true);
    assert.equal(result.rows_restored, 2);
  }
});

test("why restore_database is unbundled: from a cached bundle, libpg-query's WebAssembly is looked up in the deleted build directory", async () => {
  const outcome = await runScriptJob(api, {
    path: "f/admin/restore_database",
    args: { backup_filename: "nightly.sql", pg_dump_archive: true, confirm_restore: true, target_database: "pgdump_bundled" },
    forceBundling: true,
  });
  assert.equal(outcome.success, false);
  assert.match(outcome.logs + JSON.stringify(outcome), /ENOENT[^"]*wpb-windmill-build-[^"]*libpg-query\.wasm/);
});

test("a backup killed with SIGKILL (Windmill's cancel) leaves its temp file; the next run's sweep removes it", { timeout: 300_000 },
  async () => {
    // Enough rows that the dump writes for seconds: the job is frozen (SIGSTOP) the moment its temp
    // file appears, so it is surely mid-write when it gets Windmill's SIGKILL.
    await cluster.query("family_brain",
      "CREATE TABLE public.bulk AS SELECT g AS id, repeat(md5(g::text), 12) AS body FROM generate_series(1, 300000) g");
    try {
      mkdirSync(sample.backupDir, { recursive: true });
      const temps = () => readdirSync(sample.backupDir).filter((name) => name.includes(".tmp-"));
      const appeared = new Promise<void>((settle) => {
        const watcher = watch(sample.backupDir, () => {
          if (temps().length > 0) {
            watcher.close();
            settle();
          }
        });
      });
      const job = await startScriptJob(api, { path: "f/admin/backup_database", args: { backup_type: "daily" } });
      await appeared;
      job.child.kill("SIGSTOP");
      assert.equal(job.child.exitCode, null, "the job is still running when it is killed");
      assert.equal(temps().length, 1);
      job.child.kill("SIGKILL");
      const killed = await job.done;
      assert.equal(killed.success ? undefined : killed.signal, "SIGKILL");
      assert.equal(temps().length, 1, "no clean-up ran: the temp file is still there");
      const next = succeeded(await runScriptJob(api, { path: "f/admin/backup_database", args: { backup_type: "daily" } }));
      assert.equal(next.stale_temp_files_removed, 1);
      assert.deepEqual(temps(), []);
      assert.ok(existsSync(join(sample.backupDir, next.filename as string)));
    } finally {
      await cluster.query("family_brain", "DROP TABLE IF EXISTS public.bulk");
    }
  });

test("the scripts called no endpoint a real Windmill server would not answer", () => {
  assert.deepEqual(api.unexpected(), []);
});
