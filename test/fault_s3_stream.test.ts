// Faults of a backup streamed to S3 with no local copy (local_copy: false), through the AWS stand-in
// in front of s3rver: S3 out of reach at the start, parts refused or lost on the way, the connection
// cut while a part is sent, PostgreSQL ending the dump's session halfway, the manifest refused. After
// each: the job's error says what failed, the multipart upload was aborted (none left open), the
// bucket holds exactly what it held before (the earlier backup whole), and the next run works.
// A job killed mid-stream (SIGKILL: no handler runs) cannot abort its upload: the next run does,
// once it is older than stale_upload_hours, and never one that is not this database's backup.
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand, S3Client } from "@aws-sdk/client-s3";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as listBackups } from "../f/admin/list_backups.ts";
import { run as verifyBackup } from "../f/admin/verify_backup.ts";
import { parseS3Config } from "../f/admin/lib/settings.ts";
import { S3Storage } from "../f/admin/lib/storage/s3.ts";
import { startAwsStandIn, type AwsStandIn } from "./support/aws-s3.ts";
import { NOISE_SQL } from "./support/noise.ts";
import { childrenOf, startJob } from "./support/processes.ts";
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
/** S3-only settings (plus `extra`) with the bucket at `resource`; returns the mock's file. */
function configure(resource: Record<string, unknown> = aws.resource({ prefix: PREFIX }), extra: Record<string, unknown> = {}): string {
  const mock = sample.configure({ backup_dir: neverCreated(), local_copy: false, ...extra }, { "f/admin/s3_backup_config": resource });
  rmSync(neverCreated(), { recursive: true, force: true });
  return mock;
}
const clean = () => {
  aws.fault = undefined;
  aws.beforePart = undefined;
  aws.loseLastPart = false;
};
type Result = { status: string; filename: string; aborted_uploads: { name: string; initiated: string }[]; upload_sweep: string };

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

test("a job killed (SIGKILL) mid-stream leaves its upload open; the next runs leave it while recent, then abort it, earlier backups intact", async () => {
  const mock = configure();
  let arrived!: (key: string) => void;
  const partArrived = new Promise<string>((resolve) => {
    arrived = resolve;
  });
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  // Part 1 is held by the provider: the job fills part 2 and waits for it, the upload begun.
  aws.beforePart = async (part, key) => {
    if (part !== 1) return;
    aws.beforePart = undefined;
    arrived(key);
    await held;
  };
  const { job, exited } = startJob("node", "f/admin/backup_database", { backup_type: "daily" }, mock);
  let key: string;
  try {
    key = await partArrived;
    // The runner's children: the runtime running the script (its `--child`), and tsx's esbuild service.
    const workers = childrenOf(job.pid!).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes("--child"));
    assert.equal(workers.length, 1, "the runtime running the script");
    process.kill(workers[0]!, "SIGKILL");
    await exited;
    assert.notEqual(job.exitCode, 0, "the job failed");
  } finally {
    // The provider keeps the part it had received: the upload stays open with it.
    release();
    clean();
  }
  const name = key.slice(`${PREFIX}/`.length);
  assert.deepEqual(aws.openUploads().map((u) => u.replace(/ \(.*\)$/, "")), [key], "what a kill leaves: an open upload");
  assert.deepEqual(await names(), [earlier, earlier.replace(/\.sql\.gz$/, ".manifest.json")].sort(), "and nothing listed");

  // The default stale_upload_hours (12): a run may still be sending to an upload begun seconds ago.
  configure();
  const recent = (await backupDatabase("daily")) as unknown as Result;
  assert.equal(recent.status, "success");
  assert.deepEqual(recent.aborted_uploads, []);
  assert.match(recent.upload_sweep,
    /^0 unfinished upload\(s\) of this database's backups aborted in s3:\/\/backups\/faults\/; 1 begun less than 12 h ago \(stale_upload_hours\) left open$/);
  assert.equal(aws.openUploads().length, 1);

  // As when those hours have passed: stale_upload_hours: 0.
  configure(undefined, { stale_upload_hours: 0 });
  const next = (await backupDatabase("daily")) as unknown as Result;
  assert.equal(next.status, "success");
  assert.deepEqual(next.aborted_uploads.map((a) => a.name), [name]);
  assert.ok(Date.parse(next.aborted_uploads[0]!.initiated) < Date.now(), next.aborted_uploads[0]!.initiated);
  assert.match(next.upload_sweep, /^1 unfinished upload\(s\) of this database's backups aborted in s3:\/\/backups\/faults\/$/);
  assert.deepEqual(aws.openUploads(), [], "no upload left open");
  const listed = await names();
  for (const backup of [earlier, recent.filename, next.filename]) {
    assert.ok(listed.includes(backup) && listed.includes(backup.replace(/\.sql\.gz$/, ".manifest.json")), backup);
    const [verified] = await verifyBackup({ backup_filename: backup });
    assert.equal(verified?.ok, true, `${backup} intact: ${JSON.stringify(verified)}`);
  }
  assert.ok(!listed.includes(name), "the killed run's name never appeared");
});

test("open uploads that are not this database's backups under this prefix are never aborted, however old; pages are followed", async () => {
  const target = parseS3Config(aws.resource({ prefix: PREFIX }), "f/admin/s3_backup_config");
  const client = new S3Client({ region: target.region, endpoint: target.endpoint, forcePathStyle: true,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey } });
  const db = SAMPLE_DATABASE;
  const notOurs = [
    `${PREFIX}/notes.sql.gz`,
    `${PREFIX}/${db}_daily_20250101_020000.manifest.json`,
    `${PREFIX}/${db}_nightly_20250101_020000.sql.gz`,
    `${PREFIX}/${db}_daily_20250231_020000.sql.gz`,
    `${PREFIX}/${db}_x_daily_20250101_020000.sql.gz`,
    `${PREFIX}/other_db_daily_20250101_020000.sql.gz`,
    `${PREFIX}/deeper/${db}_daily_20250101_020000.sql.gz`,
    `elsewhere/${db}_daily_20250101_020000.sql.gz`,
  ];
  // Two uploads of one key (the same name begun twice), so that pages of 2 split them.
  const ours = [`${PREFIX}/${db}_daily_20250101_020000.sql.gz`, `${PREFIX}/${db}_daily_20250101_020000.sql.gz`,
    `${PREFIX}/${db}_manual_20250102_030000_2.sql.zst.age`, `${PREFIX}/${db}_pre_restore_20250103_040000.sql.gz`];
  const started: { key: string; id: string }[] = [];
  for (const key of [...notOurs, ...ours]) {
    const id = (await client.send(new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: key }))).UploadId!;
    started.push({ key, id });
  }
  try {
    const byPages = await new S3Storage(target, 2).openUploads();
    const whole = await bucket().openUploads!();
    assert.deepEqual(byPages, whole, "pages of 2 list the same uploads as one page");
    assert.equal(whole.length, notOurs.length + ours.length - 2, "all but the deeper key and the other prefix's");
    assert.ok(aws.requests.filter((r) => r.method === "GET" && /[?&]uploads(=|&|$)/.test(r.url)).length >= 6,
      "several pages were asked for");

    configure(undefined, { stale_upload_hours: 0 });
    const run = (await backupDatabase("daily")) as unknown as Result;
    assert.deepEqual(run.aborted_uploads.map((a) => a.name).sort(), ours.map((k) => k.slice(`${PREFIX}/`.length)).sort());
    const open = aws.openUploads().map((u) => u.replace(/ \(.*\)$/, "")).sort();
    assert.deepEqual(open, [...notOurs].sort(), "every upload that is not ours is still open");
  } finally {
    for (const { key, id } of started) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: key, UploadId: id })).catch(() => undefined);
    }
  }
});

test("after all that, the next run works", async () => {
  configure();
  const next = (await backupDatabase("daily")) as unknown as Result;
  assert.equal(next.status, "success");
  assert.ok((await names()).includes(next.filename.replace(/\.sql\.gz$/, ".manifest.json")));
  assert.deepEqual(aws.openUploads(), []);
});
