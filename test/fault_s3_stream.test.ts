// Faults of a backup streamed to S3 with no local copy (local_copy: false), through the AWS stand-in
// in front of s3rver: S3 out of reach at the start, parts refused or lost on the way, the connection
// cut while a part is sent, PostgreSQL ending the dump's session halfway, the manifest refused. After
// each: the job's error says what failed, the multipart upload was aborted (none left open), the
// bucket holds exactly what it held before (the earlier backup whole), and the next run works.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as listBackups } from "../f/admin/list_backups.ts";
import { parseS3Config } from "../f/admin/lib/settings.ts";
import { S3Storage } from "../f/admin/lib/storage/s3.ts";
import { startAwsStandIn, type AwsStandIn } from "./support/aws-s3.ts";
import { NOISE_SQL } from "./support/noise.ts";
import { startS3Server, type S3Server } from "./support/s3.ts";
import { SAMPLE_DATABASE, startSample, type Sample } from "./support/sample.ts";

const PREFIX = "faults";
let sample: Sample;
let s3: S3Server;
let aws: AwsStandIn;
let earlier: string;

const neverCreated = () => join(sample.dir, "no-volume-here");
const bucket = () => new S3Storage(parseS3Config(aws.resource({ prefix: PREFIX }), "f/admin/s3_backup_config"));
const names = async () => (await bucket().list()).files.map((f) => f.name).sort();
function configure(resource: Record<string, unknown> = aws.resource({ prefix: PREFIX })): void {
  sample.configure({ backup_dir: neverCreated(), local_copy: false }, { "f/admin/s3_backup_config": resource });
  rmSync(neverCreated(), { recursive: true, force: true });
}
const clean = () => {
  aws.fault = undefined;
  aws.beforePart = undefined;
  aws.loseLastPart = false;
};
type Result = { status: string; filename: string };

before(async () => {
  s3 = await startS3Server();
  aws = await startAwsStandIn(s3);
  sample = await startSample("fault-s3-stream", { extraSql: NOISE_SQL });
  configure();
  earlier = ((await backupDatabase("daily")) as unknown as Result).filename;
});

after(async () => {
  await aws?.stop();
  await s3?.stop();
  await sample?.stop();
});

/** Only the earlier backup, whole, is in the bucket and listed; no upload is left open. */
async function onlyTheEarlierBackup(): Promise<void> {
  assert.deepEqual(await names(), [earlier, earlier.replace(/\.sql\.gz$/, ".manifest.json")].sort());
  assert.deepEqual(aws.openUploads(), [], "every multipart upload was completed or aborted");
  configure();
  const listed = JSON.stringify(await listBackups({}));
  assert.ok(listed.includes(earlier));
}

test("S3 out of reach at the start: the job fails before dumping anything, saying the endpoint cannot be reached", async () => {
  configure(s3.resource({ prefix: PREFIX, port: 1 }));
  const started = Date.now();
  await assert.rejects(backupDatabase("daily"), (error: Error) => {
    assert.match(error.message,
      /^S3 listing of s3:\/\/backups\/faults\/ failed \(.*\): the S3 endpoint cannot be reached: check endPoint\/port\/useSSL/);
    return true;
  });
  assert.ok(Date.now() - started < 30_000, "it did not dump first");
  await onlyTheEarlierBackup();
});

test("a part refused every time (HTTP 500 after the SDK's retries): the upload is aborted, the error says so", async () => {
  configure();
  aws.fault = (r) => (r.method === "PUT" && r.url.includes("partNumber=2") ? 500 : undefined);
  try {
    await assert.rejects(backupDatabase("daily"), (error: Error) => {
      assert.match(error.message,
        /^The daily backup was not stored: S3 upload of s3:\/\/backups\/faults\/family_brain_daily_\S+\.sql\.gz failed \(InternalError \(HTTP 500\)/);
      assert.match(error.message,
        /The upload was aborted, so nothing is left in s3:\/\/backups\/faults\/ under its name \(no archive, no manifest\); earlier backups are untouched\./);
      return true;
    });
  } finally {
    clean();
  }
  await onlyTheEarlierBackup();
});

test("the connection cut while a part is sent, every time: the upload is aborted, nothing is listed as a backup", async () => {
  configure();
  aws.beforePart = async (part) => {
    if (part === 2) throw new Error("connection cut by the test");
  };
  try {
    await assert.rejects(backupDatabase("daily"), (error: Error) => {
      assert.match(error.message,
        /^The daily backup was not stored: S3 upload of \S+ failed \(ECONNRESET: socket hang up\): the S3 endpoint cannot be reached/);
      assert.match(error.message, /The upload was aborted, so nothing is left/);
      return true;
    });
  } finally {
    clean();
  }
  await onlyTheEarlierBackup();
});

test("a provider that loses a part: the size check after completion removes the archive, no manifest is written", async () => {
  configure();
  aws.loseLastPart = true;
  try {
    await assert.rejects(backupDatabase("daily"), /sent \d+ bytes but the bucket reports \d+; the object was removed/);
  } finally {
    clean();
  }
  await onlyTheEarlierBackup();
});

test("PostgreSQL ends the dump's session while a part is sent: the upload is aborted, the error names PostgreSQL", async () => {
  configure();
  aws.beforePart = async (part) => {
    if (part !== 1) return;
    aws.beforePart = undefined;
    // Part 1 is held: the dump fills part 2 and waits. End its session meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ended = await sample.cluster.query("postgres",
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'windmill-pg-backup: daily backup'",
      [SAMPLE_DATABASE]);
    assert.equal(ended.rowCount, 1, "the backup's session was ended");
  };
  try {
    await assert.rejects(backupDatabase("daily"), (error: Error) => {
      assert.match(error.message, /^The daily backup stopped: PostgreSQL closed the connection while the backup was copying table /);
      assert.match(error.message, /Nothing was kept \(no archive, no manifest\); earlier backups are untouched\./);
      return true;
    });
  } finally {
    clean();
  }
  await onlyTheEarlierBackup();
});

test("the manifest refused after the archive was stored: the archive is removed, nothing half-made is left", async () => {
  configure();
  aws.fault = (r) => (r.method === "PUT" && r.url.includes(".manifest.json") ? 403 : undefined);
  try {
    await assert.rejects(backupDatabase("daily"),
      /S3 upload of s3:\/\/backups\/faults\/\S+\.manifest\.json failed \(AccessDenied \(HTTP 403\)/);
  } finally {
    clean();
  }
  await onlyTheEarlierBackup();
});

test("after all that, the next run works", async () => {
  configure();
  const next = (await backupDatabase("daily")) as unknown as Result;
  assert.equal(next.status, "success");
  assert.ok((await names()).includes(next.filename.replace(/\.sql\.gz$/, ".manifest.json")));
  assert.deepEqual(aws.openUploads(), []);
});
