// Fault: Windmill cancels a job (or its timeout fires) with SIGKILL by default: no handler runs. A
// backup killed while it copies a table, or while it uploads, leaves what a next run must clean up:
// its temp file (swept), its lock (gone with its connection), an upload owed (made good), an object
// on S3 without its manifest (replaced whole). The next run does all that and succeeds.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { startAwsStandIn, type AwsStandIn } from "./support/aws-s3.ts";
import { startPgProxy, type PgProxy } from "./support/pg-proxy.ts";
import { childrenOf, startJob, until } from "./support/processes.ts";
import { startS3Server, type S3Server } from "./support/s3.ts";
import { SAMPLE_DATABASE, startSample, type Sample } from "./support/sample.ts";

let sample: Sample;
let proxy: PgProxy;
let s3: S3Server;
let aws: AwsStandIn;

before(async () => {
  sample = await startSample("fault-kill", {
    extraSql:
      "CREATE TABLE public.bulk_notes (id int PRIMARY KEY, body text); INSERT INTO public.bulk_notes SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 150000) g",
  });
  proxy = await startPgProxy(sample.cluster);
  s3 = await startS3Server();
  aws = await startAwsStandIn(s3);
});

after(async () => {
  await proxy?.stop();
  await aws?.stop();
  await s3?.stop();
  await sample?.stop();
});

const files = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);

for (const runtime of ["bun", "node"]) {
  test(`${runtime}: a backup killed (SIGKILL) while copying a table: the next run sweeps its temp file, gets the lock at once, and succeeds`, async () => {
    const dir = join(sample.dir, `killed-copy-${runtime}`);
    const mock = sample.configure({ backup_dir: dir, lock_wait_seconds: 0 }, { "f/admin/database": proxy.resource(SAMPLE_DATABASE) });
    const { job, exited } = startJob(runtime, "f/admin/backup_database", { backup_type: "daily" }, mock);
    // The worker is in the middle of the COPY: the server's answers are held from there.
    await proxy.holdAfter(`COPY "public"."bulk_notes"`);
    const temp = await until("the temp file", () => files(dir).find((f) => f.includes(".tmp-")));
    const worker = Number(/-(\d+)-[0-9a-f]{12}$/.exec(temp)![1]);
    process.kill(worker, "SIGKILL");
    await exited;
    proxy.release();
    assert.equal(job.exitCode === 0, false, "the job failed");
    assert.deepEqual(files(dir), [temp], "what a kill leaves: the temp file, nothing under a final name");

    const next = (await backupDatabase("daily", false, true)) as { status: string; stale_temp_files_removed: number; filename: string };
    assert.equal(next.status, "success", "the lock went with the killed process's connection");
    assert.equal(next.stale_temp_files_removed, 1);
    assert.deepEqual(files(dir), [next.filename, next.filename.replace(/\.sql\.gz$/, ".manifest.json")].sort());
  });
}

test("bun: a backup killed while uploading: the local backup stays, the next run uploads it whole (replacing the object left without its manifest)", async () => {
  const dir = join(sample.dir, "killed-upload");
  const mock = sample.configure({ backup_dir: dir, lock_wait_seconds: 0 }, {
    "f/admin/s3_backup_config": aws.resource({ prefix: "killed" }),
  });
  let arrived!: () => void;
  let proceed!: () => void;
  const archiveArrived = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  aws.beforeWrite = (key) => {
    if (!key.endsWith(".sql.gz")) return Promise.resolve();
    aws.beforeWrite = undefined;
    arrived();
    return new Promise((resolve) => {
      proceed = resolve;
    });
  };
  const { job, exited } = startJob("bun", "f/admin/backup_database", { backup_type: "daily", upload_to_s3: true }, mock);
  await archiveArrived;
  const workers = childrenOf(job.pid!);
  assert.equal(workers.length, 1);
  process.kill(workers[0]!, "SIGKILL");
  await exited;
  // The provider finishes the PUT it had received in full: an archive on S3, its manifest never sent.
  proceed();
  const name = await until("the archive on S3", () => (existsSync(s3.objectPath(`killed/${files(dir).find((f) => f.endsWith(".sql.gz"))}`))
    ? files(dir).find((f) => f.endsWith(".sql.gz"))
    : undefined));
  assert.deepEqual(files(dir), [name, name.replace(/\.sql\.gz$/, ".manifest.json"), name.replace(/\.sql\.gz$/, ".upload-pending")].sort());

  const next = (await backupDatabase("manual", true, false)) as { status: string; s3: { uploaded_earlier_backups: string[] } };
  assert.equal(next.status, "success");
  assert.deepEqual(next.s3.uploaded_earlier_backups, [name]);
  const direct = new S3Client({
    region: "us-east-1",
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  const manifest =
    await (await direct.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `killed/${name.replace(/\.sql\.gz$/, ".manifest.json")}` })))
      .Body!.transformToString();
  assert.equal(JSON.parse(manifest).archive.name, name, "the manifest is there now");
  assert.ok(!files(dir).some((f) => f.endsWith(".upload-pending")));
  assert.deepEqual(aws.openUploads(), []);
});
