// S3Storage against a real S3 protocol server (s3rver on loopback), and against any endpoint the
// WPB_TEST_S3_* variables name (skipped when unset): the Storage contract, multipart uploads with
// Content-MD5, no overwrites, ranged reads, paginated listings, and failures injected by a proxy.
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

/** The endpoint of the WPB_TEST_S3_* variables, in the seed's resource shape, or undefined. */
function environmentResource(): Record<string, unknown> | undefined {
  const env = process.env;
  if (!env.WPB_TEST_S3_BUCKET || !env.WPB_TEST_S3_ACCESS_KEY_ID || !env.WPB_TEST_S3_SECRET_ACCESS_KEY) return undefined;
  return {
    bucket: env.WPB_TEST_S3_BUCKET,
    region: env.WPB_TEST_S3_REGION || "us-east-1",
    access_key_id: env.WPB_TEST_S3_ACCESS_KEY_ID,
    secret_access_key: env.WPB_TEST_S3_SECRET_ACCESS_KEY,
    ...(env.WPB_TEST_S3_ENDPOINT ? { endpoint: env.WPB_TEST_S3_ENDPOINT } : {}),
    path_style: env.WPB_TEST_S3_PATH_STYLE === "true",
    ...(env.WPB_TEST_S3_MAX_PARTS ? { max_parts: Number(env.WPB_TEST_S3_MAX_PARTS) } : {}),
  };
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");
const drain = async (stream: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};
/** A body arriving in uneven chunks, as a gzip stream would deliver it. */
const chunked = (bytes: Buffer, size = 64 * 1024 + 7): Readable =>
  Readable.from((function* () { for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size); })());

const rawClient = (target: S3Target) => new S3Client({
  region: target.region, endpoint: target.endpoint, forcePathStyle: target.forcePathStyle,
  credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
  requestChecksumCalculation: "WHEN_REQUIRED", responseChecksumValidation: "WHEN_REQUIRED",
});

/** The Storage contract, run against every endpoint; each run in its own fresh prefix. */
function storageContract(label: string, resource: () => Record<string, unknown>, skip: string | false = false) {
  describe(`S3Storage contract on ${label}`, { skip }, () => {
    let target: S3Target;
    let storage: S3Storage;
    const created: string[] = [];

    before(() => {
      const base = resource();
      target = parseS3Config({ ...base, prefix: `${String(base.prefix ?? "")}wpb-test-${Date.now()}-${randomBytes(3).toString("hex")}/` }, PATH);
      storage = new S3Storage(target, 2);
    });
    after(async () => {
      for (const name of created) await storage.remove(name).catch(() => undefined);
    });

    test("a small file is one PUT: read whole and by range, listed, stat'ed, sha256 kept as metadata", async () => {
      const bytes = randomBytes(100_000);
      const file = await storage.create(() => "small.sql.gz", chunked(bytes), { expectedSize: bytes.length, sha256: sha256(bytes) });
      created.push(file.name);
      assert.deepEqual([file.name, file.size], ["small.sql.gz", bytes.length]);
      assert.ok((await drain(storage.read("small.sql.gz"))).equals(bytes));
      assert.ok((await drain(storage.read("small.sql.gz", { start: 1000, end: 1010 }))).equals(bytes.subarray(1000, 1010)));
      assert.equal((await drain(storage.read("small.sql.gz", { start: 5, end: 5 }))).length, 0);
      assert.equal((await storage.stat("small.sql.gz"))?.size, bytes.length);
      assert.equal(await storage.stat("absent.sql.gz"), undefined);
      const head = await rawClient(target).send(new HeadObjectCommand({ Bucket: target.bucket, Key: `${target.prefix}small.sql.gz` }));
      assert.equal(head.Metadata?.sha256, sha256(bytes));
      const listing = await storage.list();
      assert.equal(listing.complete, true);
      assert.deepEqual(listing.files.map((f) => [f.name, f.size]), [["small.sql.gz", bytes.length]]);
    });

    test("a large file goes up in parts and comes back byte for byte; an existing name is never overwritten", async () => {
      const bytes = randomBytes(12 * MiB + 12345);
      const file = await storage.create((n) => (n === 0 ? "large.sql.gz" : `large_${n + 1}.sql.gz`), chunked(bytes), { expectedSize: bytes.length });
      created.push(file.name);
      assert.equal(file.size, bytes.length);
      const back = await drain(storage.read(file.name));
      assert.equal(sha256(back), sha256(bytes));
      assert.ok((await drain(storage.read(file.name, { start: 5 * MiB - 3, end: 5 * MiB + 3 }))).equals(bytes.subarray(5 * MiB - 3, 5 * MiB + 3)));

      const other = Buffer.from("another backup in the same second");
      const second = await storage.create((n) => (n === 0 ? "large.sql.gz" : `large_${n + 1}.sql.gz`), chunked(other));
      created.push(second.name);
      assert.equal(second.name, "large_2.sql.gz");
      assert.equal(sha256(await drain(storage.read("large.sql.gz"))), sha256(bytes), "the first file is intact");
    });

    test("a body that fails halfway leaves no object and reports the body's error", async () => {
      const failing = Readable.from((async function* () {
        yield randomBytes(6 * MiB);
        throw new Error("the dump broke");
      })());
      await assert.rejects(storage.create(() => "broken.sql.gz", failing, { expectedSize: 20 * MiB }), /the dump broke/);
      assert.equal(await storage.stat("broken.sql.gz"), undefined);
    });

    test("listing pages through every file, and remove deletes", async () => {
      for (const name of ["a.pin", "b.pin", "c.pin", "d.pin", "e.pin"]) {
        created.push((await storage.create(() => name, Readable.from([Buffer.from(name)]))).name);
      }
      const listing = await storage.list(); // pages of 2 keys
      assert.equal(listing.complete, true);
      for (const name of ["a.pin", "e.pin", "small.sql.gz"]) assert.ok(listing.files.some((f) => f.name === name), name);
      await storage.remove("c.pin");
      assert.equal(await storage.stat("c.pin"), undefined);
      assert.ok(!(await storage.list()).files.some((f) => f.name === "c.pin"));
    });

    test("names that could leave the prefix are refused", () => {
      assert.throws(() => storage.read("../x.sql.gz"), BackupError);
      assert.throws(() => storage.read(".hidden"), BackupError);
    });
  });
}

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

storageContract("s3rver", () => s3.resource());
const environment = environmentResource();
storageContract("the WPB_TEST_S3_* endpoint", () => environment!, environment ? false : "set WPB_TEST_S3_BUCKET, WPB_TEST_S3_ACCESS_KEY_ID and WPB_TEST_S3_SECRET_ACCESS_KEY to run");


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
    assert.ok(proxy.requests.some((r) => r.method === "POST" && r.url.includes("uploadId=") && r.headers["if-none-match"] === "*"), "completion is conditional");
    assert.equal(sha256(await drain(storage.read("parts.sql.gz"))), sha256(bytes));
  });

  test("server-side encryption is asked for on every object written", async () => {
    const storage = new S3Storage(parseS3Config(proxy.resource({ prefix: "sse", server_side_encryption: "AES256" }), PATH));
    proxy.requests.length = 0;
    await storage.create(() => "small.pin", Readable.from([Buffer.from("x")]));
    await storage.create(() => "large.sql.gz", chunked(randomBytes(6 * MiB)), { expectedSize: 6 * MiB });
    const writes = proxy.requests.filter((r) => (r.method === "PUT" && !r.url.includes("partNumber=")) || (r.method === "POST" && r.url.includes("uploads")));
    assert.equal(writes.length, 2, "one PUT, one CreateMultipartUpload");
    assert.ok(writes.every((r) => r.headers["x-amz-server-side-encryption"] === "AES256"));
  });

  test("a part that keeps failing aborts the multipart upload and leaves no object", async () => {
    const storage = storageFor("aborted");
    proxy.requests.length = 0;
    proxy.fault = (r) => (r.method === "PUT" && r.url.includes("partNumber=2") ? 503 : undefined);
    try {
      await assert.rejects(storage.create(() => "aborted.sql.gz", chunked(randomBytes(11 * MiB)), { expectedSize: 11 * MiB }), (error: Error) => {
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
      await assert.rejects(drain(storage.read("r.sql.gz", { start: 10, end: 20 })), /bytes 10-19 returned 1000 bytes: the provider does not honour ranged reads/);
    } finally {
      proxy.dropHeaders = [];
    }
  });

  test("a key written by another run under our name is never overwritten", async () => {
    const storage = storageFor("taken");
    const target = parseS3Config(proxy.resource({ prefix: "taken" }), PATH);
    await rawClient(target).send(new PutObjectCommand({ Bucket: target.bucket, Key: "taken/x.sql.gz", Body: "theirs" }));
    await assert.rejects(storage.create((n) => { if (n > 0) throw new BackupError("taken"); return "x.sql.gz"; }, Readable.from([Buffer.from("ours")])), /taken/);
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
    await assert.rejects(storage.stat("x.sql.gz").then(() => storage.list()), /NoSuchBucket.*create it, or fix "bucket" in f\/admin\/s3_backup_config/);
  });

  test("an unreachable endpoint says so", async () => {
    const storage = new S3Storage(parseS3Config(s3.resource({ port: 1 }), PATH));
    await assert.rejects(storage.list(), /cannot be reached: check endPoint\/port\/useSSL in f\/admin\/s3_backup_config/);
  });
});
