// One Storage contract, run against every backend, as Litestream runs one suite against every
// replica client: a local directory, S3 on s3rver, S3 through the AWS stand-in (signatures,
// Content-MD5, conditional writes as AWS does them), and any endpoint the WPB_TEST_S3_* variables
// name (skipped when unset). What one backend does, the others must do too.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { BackupError } from "../f/admin/lib/errors.ts";
import { parseS3Config } from "../f/admin/lib/settings.ts";
import { LocalStorage } from "../f/admin/lib/storage/local.ts";
import { S3Storage } from "../f/admin/lib/storage/s3.ts";
import type { Storage, StorageFeatures } from "../f/admin/lib/storage/storage.ts";
import { startAwsStandIn, type AwsStandIn } from "./support/aws-s3.ts";
import { startS3Server, type S3Server } from "./support/s3.ts";

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
const sameSecond = (n: number) => (n === 0 ? "b.sql.gz" : `b_${n + 1}.sql.gz`);

let s3: S3Server;
let aws: AwsStandIn;
const localRoot = mkdtempSync(join(tmpdir(), "wpb-contract-"));
before(async () => {
  s3 = await startS3Server();
  aws = await startAwsStandIn(s3);
});
after(async () => {
  await aws?.stop();
  await s3?.stop();
  rmSync(localRoot, { recursive: true, force: true });
});

/** A fresh, empty place on the backend (S3: its own prefix; listings of 2 keys a page, so paging is exercised). */
const fresh = () => `contract-${Date.now()}-${randomBytes(3).toString("hex")}`;
const s3At = (resource: Record<string, unknown>) =>
  new S3Storage(parseS3Config({ ...resource, prefix: `${String(resource.prefix ?? "")}${fresh()}/` }, PATH), 2);

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
const environment = environmentResource();

const BACKENDS: Array<{ name: string; open: () => Storage; features: StorageFeatures; skip?: string }> = [
  { name: "a local directory", open: () => new LocalStorage(join(localRoot, fresh()), { access: "write", create: true }),
    features: { cheapRereads: true, freeSpace: true } },
  { name: "S3 on s3rver", open: () => s3At(s3.resource()), features: { cheapRereads: false, freeSpace: false } },
  { name: "S3 through the AWS stand-in", open: () => s3At(aws.resource()), features: { cheapRereads: false, freeSpace: false } },
  {
    name: "the WPB_TEST_S3_* endpoint",
    open: () => s3At(environment!),
    features: { cheapRereads: false, freeSpace: false },
    ...(environment ? {} : { skip: "set WPB_TEST_S3_BUCKET, WPB_TEST_S3_ACCESS_KEY_ID and WPB_TEST_S3_SECRET_ACCESS_KEY to run" }),
  },
];

for (const backend of BACKENDS) {
  describe(`Storage contract: ${backend.name}`, { skip: backend.skip ?? false }, () => {
    test("says what it can do", async () => {
      const storage = backend.open();
      assert.deepEqual(storage.features, backend.features);
      const free = await storage.freeBytes();
      assert.equal(typeof free === "number" && free > 0, backend.features.freeSpace);
    });

    test("create writes the body whole under its name; read gives it back whole and by range; stat and list see it", async () => {
      const storage = backend.open();
      const bytes = randomBytes(100_000);
      const file = await storage.create(() => "a.sql.gz", chunked(bytes), { expectedSize: bytes.length, sha256: sha256(bytes) });
      assert.deepEqual([file.name, file.size], ["a.sql.gz", bytes.length]);
      assert.ok((await drain(storage.read("a.sql.gz"))).equals(bytes));
      assert.ok((await drain(storage.read("a.sql.gz", { start: 1000, end: 1010 }))).equals(bytes.subarray(1000, 1010)));
      assert.equal((await drain(storage.read("a.sql.gz", { start: 5, end: 5 }))).length, 0);
      assert.equal((await storage.stat("a.sql.gz"))?.size, bytes.length);
      const listing = await storage.list();
      assert.equal(listing.complete, true);
      assert.deepEqual(listing.files.map((f) => [f.name, f.size]), [["a.sql.gz", bytes.length]]);
    });

    test("never overwrites: a name taken gets the next candidate, and the first file stays intact", async () => {
      const storage = backend.open();
      const first = Buffer.from("the first backup of the second");
      const second = Buffer.from("another backup in the same second");
      assert.equal((await storage.create(sameSecond, Readable.from([first]))).name, "b.sql.gz");
      assert.equal((await storage.create(sameSecond, Readable.from([second]))).name, "b_2.sql.gz");
      assert.ok((await drain(storage.read("b.sql.gz"))).equals(first));
      await assert.rejects(storage.create(() => "b.sql.gz", Readable.from([second])));
    });

    test("a large body (several parts on S3) comes back byte for byte, and by a range across parts", async () => {
      const storage = backend.open();
      const bytes = randomBytes(12 * MiB + 12345);
      const file = await storage.create(() => "large.sql.gz", chunked(bytes), { expectedSize: bytes.length });
      assert.equal(file.size, bytes.length);
      assert.equal(sha256(await drain(storage.read("large.sql.gz"))), sha256(bytes));
      assert.ok(
        (await drain(storage.read("large.sql.gz", { start: 5 * MiB - 3, end: 5 * MiB + 3 }))).equals(
          bytes.subarray(5 * MiB - 3, 5 * MiB + 3),
        ),
      );
    });

    test("a body that fails halfway leaves no file, and its own error reaches the caller", async () => {
      const storage = backend.open();
      const failing = Readable.from((async function*() {
        yield randomBytes(6 * MiB);
        throw new Error("the dump broke");
      })());
      await assert.rejects(storage.create(() => "broken.sql.gz", failing, { expectedSize: 20 * MiB }), /the dump broke/);
      assert.equal(await storage.stat("broken.sql.gz"), undefined);
      assert.deepEqual((await storage.list()).files, []);
    });

    test("a listing is complete and holds every file, however many pages it takes", async () => {
      const storage = backend.open();
      const names = ["a.pin", "b.pin", "c.pin", "d.pin", "e.pin"];
      for (const name of names) await storage.create(() => name, Readable.from([Buffer.from(name)]));
      const listing = await storage.list();
      assert.equal(listing.complete, true);
      assert.deepEqual(listing.files.map((f) => f.name).sort(), names);
    });

    test("remove deletes; removing a file that is not there is not an error", async () => {
      const storage = backend.open();
      await storage.create(() => "r.sql.gz", Readable.from([Buffer.from("x")]));
      await storage.remove("r.sql.gz");
      assert.equal(await storage.stat("r.sql.gz"), undefined);
      assert.deepEqual((await storage.list()).files, []);
      await storage.remove("r.sql.gz");
      await storage.remove("never-there.sql.gz");
    });

    test("a missing file: stat says so, reading it fails", async () => {
      const storage = backend.open();
      assert.equal(await storage.stat("missing.sql.gz"), undefined);
      await assert.rejects(drain(storage.read("missing.sql.gz")));
    });

    test("names that could leave its place are refused", async () => {
      const storage = backend.open();
      for (const name of ["../x.sql.gz", ".hidden", "a/b.sql.gz", ""]) {
        assert.throws(() => storage.read(name), BackupError, name);
        await assert.rejects(storage.stat(name), BackupError, name);
        await assert.rejects(storage.remove(name), BackupError, name);
      }
    });
  });
}
