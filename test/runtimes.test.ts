// The scripts run under Windmill's Bun runtime, and under Deno and Node: the seed's bodies go
// through the local runner (arguments by name, as a worker passes them) in each runtime, with a
// real S3 server (s3rver) for the S3 bodies, and the database round-trips with zero difference.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import type { Cluster } from "./support/cluster.ts";
import { dataFingerprint, schemaText } from "./support/judge.ts";
import { startS3Server, type S3Server } from "./support/s3.ts";
import { startSample, type Sample } from "./support/sample.ts";

let sample: Sample;
let cluster: Cluster;
let mockFile: string;
let s3: S3Server;

before(async () => {
  s3 = await startS3Server();
  sample = await startSample("runtimes");
  cluster = sample.cluster;
  mockFile = sample.configure({}, { "f/admin/s3_backup_config": s3.resource({ prefix: "runtimes" }) });
});

after(async () => {
  await s3?.stop();
  await sample?.stop();
});

function runScript(runtime: string, script: string, args: unknown): Record<string, unknown> {
  const out = spawnSync(process.execPath, ["--import", "tsx", "tools/wm.ts", "--runtime", runtime, script, JSON.stringify(args)], {
    encoding: "utf8",
    env: { ...process.env, WM_MOCKED_API_FILE: mockFile },
    timeout: 180_000,
  });
  assert.equal(out.status, 0, `${runtime} ${script} failed: ${out.stderr.slice(-2000)}`);
  return JSON.parse(out.stdout) as Record<string, unknown>;
}

for (const runtime of ["bun", "deno", "node"]) {
  test(`${runtime}: the seed's backup, list and restore bodies round-trip the database, locally and through S3`, async () => {
    const backup = runScript(runtime, "f/admin/backup_database", { backup_type: "manual", dry_run: false });
    assert.equal(backup.status, "success");
    assert.equal(backup.tables_backed_up, 8);
    const uploaded = runScript(runtime, "f/admin/backup_database", { backup_type: "manual", upload_to_s3: true });
    assert.equal(uploaded.location, "both");

    const listed = runScript(runtime, "f/admin/list_backups", { include_s3: true }) as unknown as { name: string; location: string }[];
    assert.equal(listed.find((row) => row.name === backup.filename)?.location, "local");
    assert.equal(listed.find((row) => row.name === uploaded.filename)?.location, "both");

    const before = await dataFingerprint(cluster, "family_brain");
    const fromS3 = runScript(runtime, "f/admin/restore_database", {
      backup_filename: uploaded.filename,
      backup_source: "s3",
      confirm_restore: true,
      create_pre_restore_backup: true,
    }) as { verification: { passed: boolean }; pre_restore_backup: string; restored_from_location: string };
    assert.equal(fromS3.verification.passed, true);
    assert.equal(fromS3.restored_from_location, `s3://${s3.bucket}/runtimes/`);
    assert.match(fromS3.pre_restore_backup, /^family_brain_pre_restore_/);
    assert.deepEqual(await dataFingerprint(cluster, "family_brain"), before);

    const target = `restored_${runtime}`;
    const restore = runScript(runtime, "f/admin/restore_database", {
      backup_filename: backup.filename,
      backup_source: "local",
      confirm_restore: true,
      create_pre_restore_backup: true,
      target_database: target,
    }) as { verification: { passed: boolean; tables: { match: boolean }[] } };
    assert.equal(restore.verification.passed, true);
    assert.equal(restore.verification.tables.length, 8);
    assert.deepEqual(await dataFingerprint(cluster, target), await dataFingerprint(cluster, "family_brain"));
    const schema = schemaText(cluster, "family_brain");
    if (schema !== undefined) assert.equal(schemaText(cluster, target), schema);
  });
}
