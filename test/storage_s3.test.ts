// S3Storage against a real S3 protocol server (s3rver on loopback) beyond the Storage contract
// (storage_contract.test.ts): the sha256 kept as metadata, multipart uploads with Content-MD5,
// server-side encryption, and failures injected by a proxy.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BackupError } from "../f/admin/lib/errors.ts";
import { S3Storage, type S3Target } from "../f/admin/lib/storage/s3.ts";
import { parseS3Config } from "../f/admin/lib/settings.ts";
import { startS3Proxy, startS3Server, type S3Proxy, type S3Server } from "./support/s3.ts";

const MiB = 1024 * 1024;
const PATH = "f/admin/s3_backup_config";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const drain = async (stream: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
/** A body arriving in uneven chunks, as a gzip stream would deliver it. */
const chunked = (bytes: Buffer, size = 64 * 1024 + 7): Readable =>
  Readable.from((function*() {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  })());

const rawClient = (target: S3Target) =>
  new S3Client({
    region: target.region,
    endpoint: target.endpoint,
    forcePathStyle: target.forcePathStyle,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });

let s3: S3Server;
let proxy: S3Proxy;
before(async () => {
  s3 = await startS3Server();
  proxy = await startS3Proxy(s3);
});
after(async () => {
  await proxy?.stop();
  await s3?.stop();
});

test("the archive's sha256, when the writer knows it, is kept as the object's metadata", async () => {
  const target = parseS3Config({ ...s3.resource(), prefix: `metadata-${randomBytes(3).toString("hex")}/` }, PATH);
  const storage = new S3Storage(target);
  const bytes = randomBytes(100_000);
  await storage.create(() => "small.sql.gz", chunked(bytes), { expectedSize: bytes.length, sha256: sha256(bytes) });
  const head = await rawClient(target).send(new HeadObjectCommand({ Bucket: target.bucket, Key: `${target.prefix}small.sql.gz` }));
  assert.equal(head.Metadata?.sha256, sha256(bytes));
});

describe("S3Storage on s3rver through a faulty proxy", () => {
  const storageFor = (prefix: string, pageSize = 1000) => new S3Storage(parseS3Config(proxy.resource({ prefix }), PATH), pageSize);

  test("every part carries its Content-MD5; parts follow the planned size; a failed part is retried", async () => {
    const storage = storageFor("parts");
    const bytes = randomBytes(11 * MiB);
    proxy.requests.length = 0;
    let failures = 0;
    proxy.fault = (r) => (r.method === "PUT" && r.url.includes("partNumber=2") && failures++ === 0 ? 500 : undefined);
    try {
      await storage.create(() => "parts.sql.gz", chunked(bytes), { expectedSize: bytes.length });
    } finally {
      proxy.fault = undefined;
    }
    const parts = proxy.requests.filter((r) => r.method === "PUT" && r.url.includes("partNumber="));
    // 11 MiB in 5 MiB parts: 3 parts, part 2 sent twice.
    assert.deepEqual(parts.map((r) => /partNumber=(\d+)/.exec(r.url)![1]), ["1", "2", "2", "3"]);
    assert.ok(parts.every((r) => typeof r.headers["content-md5"] === "string"), "Content-MD5 on every part");
    assert.deepEqual(parts.map((r) => Number(r.headers["content-length"])), [5 * MiB, 5 * MiB, 5 * MiB, 1 * MiB]);
    assert.ok(proxy.requests.some((r) => r.method === "POST" && r.url.includes("uploadId=") && r.headers["if-none-match"] === "*"),
      "completion is conditional");
    assert.equal(sha256(await drain(storage.read("parts.sql.gz"))), sha256(bytes));
  });

  test("server-side encryption is asked for on every object written", async () => {
    const storage = new S3Storage(parseS3Config(proxy.resource({ prefix: "sse", server_side_encryption: "AES256" }), PATH));
    proxy.requests.length = 0;
    await storage.create(() => "small.pin", Readable.from([Buffer.from("x")]));
    await storage.create(() => "large.sql.gz", chunked(randomBytes(6 * MiB)), { expectedSize: 6 * MiB });
    const writes = proxy.requests.filter((r) =>
      (r.method === "PUT" && !r.url.includes("partNumber=")) || (r.method === "POST" && r.url.includes("uploads"))
    );
    assert.equal(writes.length, 2, "one PUT, one CreateMultipartUpload");
    assert.ok(writes.every((r) => r.headers["x-amz-server-side-encryption"] === "AES256"));
  });

  test("a part that keeps failing aborts the multipart upload and leaves no object", async () => {
    const storage = storageFor("aborted");
    proxy.requests.length = 0;
    proxy.fault = (r) => (r.method === "PUT" && r.url.includes("partNumber=2") ? 503 : undefined);
    try {
      await assert.rejects(storage.create(() => "aborted.sql.gz", chunked(randomBytes(11 * MiB)), { expectedSize: 11 * MiB }),
        (error: Error) => {
          assert.ok(error instanceof BackupError);
          assert.match(error.message, /S3 upload of s3:\/\/backups\/aborted\/aborted\.sql\.gz failed/);
          return true;
        });
    } finally {
      proxy.fault = undefined;
    }
    assert.ok(proxy.requests.some((r) => r.method === "DELETE" && r.url.includes("uploadId=")), "AbortMultipartUpload was sent");
    assert.equal(await storage.stat("aborted.sql.gz"), undefined);
  });

  test("an error halfway through a listing returns what was listed, marked incomplete", async () => {
    const storage = storageFor("paged", 2);
    for (const name of ["1.pin", "2.pin", "3.pin", "4.pin", "5.pin"]) await storage.create(() => name, Readable.from([Buffer.from(name)]));
    proxy.fault = (r) => (r.method === "GET" && r.url.includes("continuation-token=") ? 500 : undefined);
    try {
      const listing = await storage.list();
      assert.equal(listing.complete, false);
      assert.deepEqual(listing.files.map((f) => f.name), ["1.pin", "2.pin"]);
    } finally {
      proxy.fault = undefined;
    }
    assert.equal((await storage.list()).files.length, 5);
  });

  test("a listing that fails from the start says what to check", async () => {
    const storage = storageFor("down");
    proxy.fault = () => 500;
    try {
      await assert.rejects(storage.list(), /S3 listing of s3:\/\/backups\/down\/ failed \(InternalError \(HTTP 500\).*retry later/);
    } finally {
      proxy.fault = undefined;
    }
  });

  test("a server that ignores Range is caught instead of handing a reader the wrong bytes", async () => {
    const storage = storageFor("ranges");
    await storage.create(() => "r.sql.gz", Readable.from([randomBytes(1000)]));
    proxy.dropHeaders = ["range"];
    try {
      await assert.rejects(drain(storage.read("r.sql.gz", { start: 10, end: 20 })),
        /bytes 10-19 returned 1000 bytes: the provider does not honour ranged reads/);
    } finally {
      proxy.dropHeaders = [];
    }
  });

  test("a key written by another run under our name is never overwritten", async () => {
    const storage = storageFor("taken");
    const target = parseS3Config(proxy.resource({ prefix: "taken" }), PATH);
    await rawClient(target).send(new PutObjectCommand({ Bucket: target.bucket, Key: "taken/x.sql.gz", Body: "theirs" }));
    await assert.rejects(storage.create((n) => {
      if (n > 0) throw new BackupError("taken");
      return "x.sql.gz";
    }, Readable.from([Buffer.from("ours")])), /taken/);
    assert.equal((await drain(storage.read("x.sql.gz"))).toString(), "theirs");
  });
});

describe("S3 errors", () => {
  // s3rver checks the access key but not SigV4 signatures, so wrong credentials are a wrong key here.
  test("wrong credentials are reported with what to check, never with the secret", async () => {
    const secret = "wrong-secret-never-shown-0123456789";
    const storage = new S3Storage(parseS3Config(s3.resource({ accessKey: "WRONGKEY", secretKey: secret }), PATH));
    await assert.rejects(storage.list(), (error: Error) => {
      assert.match(error.message, /InvalidAccessKeyId.*check the access key, the secret .* in f\/admin\/s3_backup_config/);
      assert.ok(!error.message.includes(secret) && !String(error.stack).includes(secret));
      return true;
    });
  });

  test("a missing bucket is named", async () => {
    const storage = new S3Storage(parseS3Config(s3.resource({ bucket: "no-such-bucket" }), PATH));
    await assert.rejects(storage.stat("x.sql.gz").then(() => storage.list()),
      /NoSuchBucket.*create it, or fix "bucket" in f\/admin\/s3_backup_config/);
  });

  test("an unreachable endpoint says so", async () => {
    const storage = new S3Storage(parseS3Config(s3.resource({ port: 1 }), PATH));
    await assert.rejects(storage.list(), /cannot be reached: check endPoint\/port\/useSSL in f\/admin\/s3_backup_config/);
  });
});
