// The flows as Windmill runs them (test/support/flow-runner.ts: every step a Bun worker job from the
// cached bundle, input transforms in QuickJS with Windmill's rewriting, the approval rules of the
// Community Edition), against a real server: the weekly backup drill proves the newest backup and
// leaves nothing behind, a drill on a damaged backup fails loudly and is recorded, and the safe
// restore can be approved on CE, accepts the optional inputs an API caller leaves out, and rolls back.
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { WindmillYamlValidator } from "windmill-yaml-validator";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import type { Cluster } from "./support/cluster.ts";
import { runScriptJob } from "./support/bun-worker.ts";
import { runFlow } from "./support/flow-runner.ts";
import type { WindmillApi } from "./support/windmill-api.ts";
import { startWindmill } from "./support/windmill.ts";
import { dataFingerprint } from "./support/judge.ts";
import { startSample, type Sample } from "./support/sample.ts";

let sample: Sample;
let cluster: Cluster;
let backupDir: string;
let api: WindmillApi;

before(async () => {
  sample = await startSample("flows");
  ({ cluster, backupDir } = sample);
  api = await startWindmill(sample);
});

after(async () => {
  await api?.stop();
  await sample?.stop();
});

const drillDatabases = async () =>
  (await cluster.query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'drill\\_%'")).rows.map((r) => r.datname as string);
const lastAudit = async () =>
  (await cluster.query("family_brain",
    "SELECT level, message, details FROM public.system_logs WHERE source = 'backup' ORDER BY id DESC LIMIT 1")).rows[0];

test("every flow passes Windmill's validator", () => {
  const validator = new WindmillYamlValidator();
  const flows = readdirSync("f/admin").filter((f) => f.endsWith("__flow"));
  assert.deepEqual(flows.sort(), ["backup_drill__flow", "restore_and_verify__flow", "scheduled_backup__flow",
    "scheduled_health_check__flow"]);
  for (const flow of flows) {
    const { errors } = validator.validate(readFileSync(join("f/admin", flow, "flow.yaml"), "utf8"), { type: "flow" });
    assert.deepEqual(errors, [], flow);
  }
});

test("the backup drill restores the newest backup into a throwaway database, verifies it, drops it and records it", async () => {
  const backup = (await backupDatabase("daily", false, false, false)) as { filename: string };
  const run = await runFlow(api, "f/admin/backup_drill", { include_s3: false });
  assert.equal(run.error, undefined, JSON.stringify(run.error));
  const restore = run.results.restore as { restored_from: string; target_database: string; verification: { passed: boolean } };
  assert.equal(restore.restored_from, backup.filename, "the newest backup is the one drilled");
  assert.match(restore.target_database, /^drill_\d{14}$/);
  assert.equal(restore.verification.passed, true);
  const report = run.results.finish as { status: string; drill_database_dropped: boolean; audit: string };
  assert.equal(report.status, "passed");
  assert.equal(report.drill_database_dropped, true);
  assert.equal(report.audit, "written");
  assert.deepEqual(await drillDatabases(), [], "no throwaway database is left");
  const audit = await lastAudit();
  assert.equal(audit.level, "info");
  assert.equal(audit.details.action, "drill");
  assert.match(audit.message, /Backup drill passed/);
});

test("a drill of a damaged backup fails, leaves no throwaway database and records the failure", async () => {
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string };
  const path = join(backupDir, backup.filename);
  const bytes = readFileSync(path);
  bytes[bytes.length - 100]! ^= 0x55;
  writeFileSync(path, bytes);
  const run = await runFlow(api, "f/admin/backup_drill", { include_s3: false });
  assert.equal(run.error?.step_id, "restore");
  // Into the database it creates, a restore proves each part of the archive as it reads it (no whole-file pass first).
  assert.match(run.error!.message, /was changed after the backup: .* does not match the manifest/);
  const failure = run.failure as { status: string; audit: string; message: string };
  assert.equal(failure.status, "failed");
  assert.match(failure.message, /Backup drill failed at step restore/);
  assert.equal(failure.audit, "written");
  assert.deepEqual(await drillDatabases(), []);
  assert.equal((await lastAudit()).level, "error");
  rmSync(path);
});

test("finish_backup_drill never drops a database that is not a drill database", async () => {
  const { main: finish } = await import("../f/admin/finish_backup_drill.ts");
  await assert.rejects(finish("family_brain", {}), /drill_/);
  const job = await runScriptJob(api, { path: "f/admin/finish_backup_drill", args: { drill_database: "family_brain" } });
  assert.equal(job.success, false);
  const exists = await cluster.query("postgres", "SELECT 1 FROM pg_database WHERE datname = 'family_brain'");
  assert.equal(exists.rows.length, 1);
});

test("restore_and_verify on Community Edition: preview, approval (through the resume link), restore, verify", async () => {
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string };
  await cluster.query("family_brain", "DELETE FROM public.ai_usage WHERE id % 3 = 0");
  const approvals: string[] = [];
  const run = await runFlow(api, "f/admin/restore_and_verify", { backup_filename: backup.filename, backup_source: "local",
    target_database: "", tables: [], terminate_sessions: false }, {
    edition: "ce",
    approve: (step, results) => {
      approvals.push(step);
      // The person approving sees what the restore would change.
      const preview = results.preview as { markdown?: string; render_all?: unknown[] };
      assert.ok(JSON.stringify(preview).includes("ai_usage"));
      return { loggedIn: false };
    },
  });
  assert.deepEqual(run.refusedApprovals, [], "CE accepts the approval");
  assert.equal(run.error, undefined, JSON.stringify(run.error));
  assert.deepEqual(approvals, ["preview"]);
  const verify = run.results.verify as { passed: boolean; rollback: string; tables: Array<{ match: boolean }> };
  assert.equal(verify.passed, true);
  assert.match(verify.rollback, /^available: family_brain_pre_restore_/);
  assert.ok(verify.tables.length === 8 && verify.tables.every((t) => t.match));
});

test("restore_and_verify: a refused approval changes nothing", async () => {
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string };
  await cluster.query("family_brain", "INSERT INTO public.system_logs (source, level, message) VALUES ('app', 'info', 'after the backup')");
  const state = await dataFingerprint(cluster, "family_brain");
  const files = readdirSync(backupDir).sort();
  const run = await runFlow(api, "f/admin/restore_and_verify", { backup_filename: backup.filename, backup_source: "local",
    target_database: "", tables: [], terminate_sessions: false }, {
    approve: () => false,
  });
  assert.equal(run.error?.step_id, "preview");
  assert.match(run.error!.message, /approval of step preview was refused/);
  // The restore step never ran: its result reads as null in the failure module, whose report is kept.
  assert.equal(run.failureError, undefined, JSON.stringify(run.failureError));
  assert.equal((run.failure as { status: string }).status, "nothing to roll back");
  assert.deepEqual(await dataFingerprint(cluster, "family_brain"), state);
  assert.deepEqual(readdirSync(backupDir).sort(), files, "no pre-restore backup either");
});

test("restore_and_verify: when the verification after the commit fails, the pre-restore backup is restored", async () => {
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string };
  await cluster.query("family_brain",
    "INSERT INTO public.system_logs (source, level, message) VALUES ('app', 'info', 'written after the backup, before the flow')");
  const before = await dataFingerprint(cluster, "family_brain");
  const run = await runFlow(api, "f/admin/restore_and_verify", { backup_filename: backup.filename, backup_source: "local",
    target_database: "", tables: [], terminate_sessions: false }, {
    // The app writes between the restore's commit and the verification: the check must catch it.
    afterStep: async (step) => {
      if (step === "restore") {
        await cluster.query("family_brain", "INSERT INTO public.tenants (name, slug) VALUES ('Intruder', 'intruder')");
      }
    },
  });
  assert.equal(run.error?.step_id, "verify");
  assert.match(run.error!.message, /public\.tenants has 6 rows, expected 5/);
  const failure = run.failure as { status: string; message: string };
  assert.equal(failure.status, "rolled back");
  assert.match(failure.message, /restored to family_brain_pre_restore_.*its state before the flow/);
  assert.deepEqual(await dataFingerprint(cluster, "family_brain"), before);
});

test("restore_and_verify started through the API with only backup_filename: the optional inputs arrive as null and mean their defaults", async () => {
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string };
  const run = await runFlow(api, "f/admin/restore_and_verify", { backup_filename: backup.filename });
  assert.equal(run.error, undefined, JSON.stringify(run.error));
  const restore = run.results.restore as { backup_source: string; target_database: string; tables_restored: number };
  assert.equal(restore.backup_source, "local");
  assert.equal(restore.target_database, "family_brain");
  assert.equal(restore.tables_restored, 8);
});

test("the drill with no complete backup fails at the restore step, saying so, and records it", async () => {
  // A mounted volume with no backup in it.
  mkdirSync(join(sample.dir, "empty-backups"), { recursive: true });
  const empty = await startWindmill(sample, { backup_dir: join(sample.dir, "empty-backups") });
  try {
    const run = await runFlow(empty, "f/admin/backup_drill", {});
    assert.equal(run.error?.step_id, "restore");
    assert.match(run.error!.message, /no complete backup to drill: run f\/admin\/backup_database first/);
    assert.equal((run.failure as { status: string }).status, "failed");
  } finally {
    await empty.stop();
  }
});

test("the steps ask the API only for what a real server answers, and report progress through it", () => {
  assert.deepEqual(api.unexpected(), []);
  assert.ok(api.progress.length > 0, "backup and restore steps move the progress bar");
  assert.ok(api.progress.every((p) => p.percent >= 0 && p.percent <= 99 && p.flow_job_id !== undefined));
});
