// Faults of S3, answered as AWS answers them (the stand-in in front of s3rver checks signatures,
// Content-MD5, conditional writes and the multipart rules): corrupted parts, a racing writer, a
// provider without conditional writes, a provider that loses a part, a wrong secret, an endpoint out
// of reach at backup time, and a listing that fails after a good upload. After each: what the user
// still has (the local backup, the bucket without half-made objects or open uploads).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { BackupError } from "../f/admin/lib/errors.ts";
import { S3Storage } from "../f/admin/lib/storage/s3.ts";
import { parseS3Config } from "../f/admin/lib/settings.ts";
import { startAwsStandIn, type AwsStandIn } from "./support/aws-s3.ts";
import { startS3Server, type S3Server } from "./support/s3.ts";
import { startSample, type Sample } from "./support/sample.ts";

const MiB = 1024 * 1024;
const PATH = "f/admin/s3_backup_config";
let s3: S3Server;
let aws: AwsStandIn;
let direct: S3Client;
let sample: Sample;

before(async () => {
  s3 = await startS3Server();
  aws = await startAwsStandIn(s3);
  direct = new S3Client({
    region: "us-east-1",
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  sample = await startSample("fault-s3");
});

after(async () => {
  await aws?.stop();
  await s3?.stop();
  await sample?.stop();
});

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const storageAt = (prefix: string, extra: Record<string, unknown> = {}) =>
  new S3Storage(parseS3Config(aws.resource({ prefix, ...extra }), PATH));
const chunked = (bytes: Buffer, size = 64 * 1024 + 7): Readable =>
  Readable.from((function*() {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  })());
const objectBytes = async (key: string) =>
  Buffer.from(await (await direct.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray());
const drain = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
/** Reset the stand-in's injected faults after each test that sets them. */
const clean = () => {
  aws.conditionalWrites = "aws";
  aws.corruptPart = undefined;
  aws.loseLastPart = false;
  aws.beforeWrite = undefined;
  aws.fault = undefined;
};

describe("S3 answered as AWS answers", () => {
  test("our uploads pass AWS's checks: signatures, every Content-MD5, parts of 5 MiB but the last, and no upload left open", async () => {
    const storage = storageAt("clean");
    aws.requests.length = 0;
    const large = randomBytes(12 * MiB + 999);
    await storage.create(() => "large.sql.gz", chunked(large), { expectedSize: large.length });
    await storage.create(() => "small.manifest.json", Readable.from([Buffer.from("{}")]));
    assert.deepEqual(aws.requests.filter((r) => r.answered).map((r) => `${r.method} ${r.url} ${r.answered}`), [], "nothing refused");
    assert.deepEqual(aws.openUploads(), []);
    assert.equal(sha256(await drain(storage.read("large.sql.gz"))), sha256(large));
  });

  test("a part corrupted on the way is refused by its Content-MD5: the upload is aborted, nothing is left under the name", async () => {
    const storage = storageAt("corrupt");
    aws.corruptPart = (n) => n === 2;
    try {
      await assert.rejects(storage.create(() => "x.sql.gz", chunked(randomBytes(11 * MiB)), { expectedSize: 11 * MiB }), (error: Error) => {
        assert.ok(error instanceof BackupError);
        assert.match(error.message, /S3 upload of s3:\/\/backups\/corrupt\/x\.sql\.gz failed \(BadDigest \(HTTP 400\)/);
        return true;
      });
    } finally {
      clean();
    }
    assert.deepEqual(aws.openUploads(), [], "the multipart upload was aborted");
    assert.equal(await storage.stat("x.sql.gz"), undefined);
  });

  for (const [size, how] of [[1000, "one PUT"], [11 * MiB, "a multipart upload"]] as const) {
    test(`another run writing our key between the check and the write (${how}): 412, and its object is not overwritten`, async () => {
      const storage = storageAt(`race-${size}`);
      aws.beforeWrite = async (key) => {
        if (key !== `race-${size}/x.sql.gz`) return;
        aws.beforeWrite = undefined;
        await direct.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: "the other run's backup" }));
      };
      try {
        await assert.rejects(storage.create(() => "x.sql.gz", chunked(randomBytes(size)), { expectedSize: size }), (error: Error) => {
          assert.match(error.message,
            /x\.sql\.gz was created by another run while this one uploaded it; nothing was overwritten\. Retry the backup\./);
          return true;
        });
      } finally {
        clean();
      }
      assert.equal((await objectBytes(`race-${size}/x.sql.gz`)).toString(), "the other run's backup");
      assert.deepEqual(aws.openUploads(), []);
    });
  }

  test("a provider without conditional writes answers 501: the write goes ahead without the condition (the name was checked just before)", async () => {
    const storage = storageAt("no-conditions");
    aws.conditionalWrites = "unsupported";
    aws.requests.length = 0;
    const bytes = randomBytes(6 * MiB);
    try {
      await storage.create(() => "x.sql.gz", chunked(bytes), { expectedSize: bytes.length });
    } finally {
      clean();
    }
    const completions = aws.requests.filter((r) => r.method === "POST" && r.url.includes("uploadId="));
    assert.deepEqual(completions.map((r) => [r.headers["if-none-match"] ?? null, r.answered ?? "forwarded"]), [["*", "NotImplemented"], [
      null,
      "forwarded",
    ]]);
    assert.equal(sha256(await objectBytes("no-conditions/x.sql.gz")), sha256(bytes));
  });

  test("a provider that loses a part: the size check after completion catches it and removes the object", async () => {
    const storage = storageAt("lossy");
    aws.loseLastPart = true;
    try {
      await assert.rejects(storage.create(() => "x.sql.gz", chunked(randomBytes(11 * MiB)), { expectedSize: 11 * MiB }), (error: Error) => {
        assert.match(error.message,
          /S3 upload of s3:\/\/backups\/lossy\/x\.sql\.gz sent 11534336 bytes but the bucket reports 10485760; the object was removed/);
        return true;
      });
    } finally {
      clean();
    }
    assert.equal(await storage.stat("x.sql.gz"), undefined);
  });

  test("a wrong secret is refused as AWS refuses it (SignatureDoesNotMatch), with what to check and never the secret", async () => {
    const secret = "not-the-secret-2c9d41";
    await assert.rejects(storageAt("any", { secretKey: secret }).list(), (error: Error) => {
      assert.match(error.message, /SignatureDoesNotMatch \(HTTP 403\).*check the access key, the secret and the key's permissions/);
      assert.ok(!error.message.includes(secret));
      return true;
    });
  });
});

describe("backup_database when S3 fails", () => {
  const configure = (s3Resource: Record<string, unknown>) => sample.configure({}, { "f/admin/s3_backup_config": s3Resource });
  const local = () => readdirSync(sample.backupDir).sort();
  type Result = { status: string; filename: string; warnings: string[]; cleanup: { deleted: string[] };
    s3: { uploaded_earlier_backups: string[]; cleanup: string | { deleted: string[] } } };

  test("S3 out of reach, then a wrong secret: each local backup is made and kept, the job says the upload failed; the next run uploads both", async () => {
    configure(s3.resource({ prefix: "unreachable", port: 1 }));
    await assert.rejects(backupDatabase("daily", true), (error: Error) => {
      assert.match(error.message,
        /^Backup (family_brain_daily_\S+) was written to .* and is kept there, but uploading it to s3:\/\/backups\/unreachable\/ failed: .*cannot be reached/);
      assert.match(error.message, /the next backup with upload_to_s3: true uploads this one too\.$/);
      return true;
    });
    configure(aws.resource({ prefix: "unreachable", secretKey: "wrong-secret" }));
    await assert.rejects(backupDatabase("weekly", true),
      /was written to .* and is kept there, but uploading it .*HTTP 403.*check the access key, the secret/);
    const owed = local().filter((f) => f.endsWith(".upload-pending")).map((f) => f.replace(/\.upload-pending$/, ".sql.gz"));
    assert.equal(owed.length, 2);
    for (const name of owed) {
      assert.ok(local().includes(name) && local().includes(name.replace(/\.sql\.gz$/, ".manifest.json")),
        `${name} is kept with its manifest`);
    }

    configure(aws.resource({ prefix: "unreachable" }));
    const next = (await backupDatabase("manual", true, false)) as unknown as Result;
    assert.deepEqual([...next.s3.uploaded_earlier_backups].sort(), [...owed].sort());
    for (const name of owed) assert.ok((await objectBytes(`unreachable/${name}`)).equals(readFileSync(join(sample.backupDir, name))));
    assert.deepEqual(local().filter((f) => f.endsWith(".upload-pending")), [], "nothing is owed any more");
    assert.deepEqual(aws.openUploads(), []);
  });

  test("the S3 listing failing after a good backup and upload: the job succeeds, says retention there was skipped, and the next run applies it", async () => {
    configure(aws.resource({ prefix: "listing" }));
    let uploaded = false;
    aws.fault = (r) => {
      if (r.method === "PUT" && r.url.includes(".manifest.json")) uploaded = true;
      return uploaded && r.method === "GET" && r.url.includes("list-type=2") ? 500 : undefined;
    };
    let result: Result;
    try {
      result = (await backupDatabase("daily", true, true)) as unknown as Result;
    } finally {
      clean();
    }
    assert.equal(result.status, "success");
    assert.equal(existsSync(join(sample.backupDir, result.filename)), true);
    assert.ok((await objectBytes(`listing/${result.filename}`)).equals(readFileSync(join(sample.backupDir, result.filename))), "uploaded");
    assert.match(String(result.s3.cleanup),
      /^skipped: S3 listing of s3:\/\/backups\/listing\/ failed .* The backup and its upload succeeded; retention in s3:\/\/backups\/listing\/ was skipped and runs again with the next backup\.$/);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0]!, /^S3 retention skipped/);
    assert.ok(Array.isArray(result.cleanup.deleted), "local retention ran");
    const next = (await backupDatabase("daily", true, true)) as unknown as Result;
    assert.ok(typeof next.s3.cleanup === "object" && Array.isArray(next.s3.cleanup.deleted), "and runs on S3 with the next backup");
    assert.deepEqual(next.warnings, []);
  });
});
