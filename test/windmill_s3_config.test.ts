// The S3 resource at the border: the seed's shape and Windmill's standard `s3` shape both become
// one target; a wrong field is named with the resource to fix; the secret is never in an error.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { parseS3Config } from "../f/admin/lib/settings.ts";

const PATH = "f/admin/s3_backup_config";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

describe("accepted shapes", () => {
  const cases: { title: string; value: Record<string, unknown>; expect: Record<string, unknown> }[] = [
    {
      title: "the seed's AWS shape",
      value: { bucket: "family-brain-backups", region: "us-east-1", access_key_id: "AKIAEXAMPLE", secret_access_key: SECRET },
      expect: { bucket: "family-brain-backups", region: "us-east-1", endpoint: undefined, forcePathStyle: false, accessKeyId: "AKIAEXAMPLE",
        prefix: "", maxParts: 10_000 },
    },
    {
      title: "the seed's shape with an endpoint, prefix and encryption",
      value: { bucket: "b", region: "auto", access_key_id: "k", secret_access_key: SECRET,
        endpoint: "https://acct.r2.cloudflarestorage.com/", prefix: "/family/db/", server_side_encryption: "AES256" },
      expect: { endpoint: "https://acct.r2.cloudflarestorage.com", region: "auto", prefix: "family/db/", serverSideEncryption: "AES256" },
    },
    {
      title: "Windmill's s3 shape for MinIO: host, port, no TLS, path style",
      value: { bucket: "b", endPoint: "minio", port: 9000, useSSL: false, pathStyle: true, accessKey: "minioadmin", secretKey: SECRET },
      expect: { endpoint: "http://minio:9000", forcePathStyle: true, accessKeyId: "minioadmin", region: "us-east-1" },
    },
    {
      title: "Windmill's s3 shape for B2: host only, TLS by default",
      value: { bucket: "b", region: "us-west-004", endPoint: "s3.us-west-004.backblazeb2.com", accessKey: "k", secretKey: SECRET,
        max_parts: 10_000 },
      expect: { endpoint: "https://s3.us-west-004.backblazeb2.com", region: "us-west-004", forcePathStyle: false },
    },
    {
      title: "Windmill's s3 shape with a full URL as endPoint",
      value: { bucket: "b", endPoint: "https://acct.r2.cloudflarestorage.com", accessKey: "k", secretKey: SECRET,
        server_side_encryption: "aws:kms", sse_kms_key_id: "key-1", max_parts: 1000 },
      expect: { endpoint: "https://acct.r2.cloudflarestorage.com", serverSideEncryption: "aws:kms", kmsKeyId: "key-1", maxParts: 1000 },
    },
  ];
  for (const c of cases) {
    test(c.title, () => {
      const target = parseS3Config(c.value, PATH);
      for (const [field, value] of Object.entries(c.expect)) assert.deepEqual(target[field as keyof typeof target], value, field);
      assert.equal(target.secretAccessKey, SECRET);
      assert.equal(target.resourcePath, PATH);
    });
  }
});

describe("rejected values name the field and never show the secret", () => {
  const cases: { title: string; value: unknown; field: RegExp }[] = [
    { title: "seed shape without a secret", value: { bucket: "b", region: "r", access_key_id: "k" }, field: /secret_access_key/ },
    { title: "seed shape without a bucket", value: { region: "r", access_key_id: "k", secret_access_key: SECRET }, field: /bucket/ },
    { title: "seed shape with a non-URL endpoint",
      value: { bucket: "b", access_key_id: "k", secret_access_key: SECRET, endpoint: "minio:9000" }, field: /endpoint: a URL/ },
    { title: "Windmill shape with a bad port", value: { bucket: "b", endPoint: "minio", port: 70000, accessKey: "k", secretKey: SECRET },
      field: /port/ },
    { title: "Windmill shape without a secret key", value: { bucket: "b", endPoint: "minio", accessKey: "k" }, field: /secretKey/ },
    { title: "unknown encryption", value: { bucket: "b", access_key_id: "k", secret_access_key: SECRET, server_side_encryption: "rot13" },
      field: /server_side_encryption/ },
    { title: "a 500-part limit", value: { bucket: "b", access_key_id: "k", secret_access_key: SECRET, max_parts: 500 },
      field: /max_parts: at least 1000/ },
    { title: "a prefix climbing out", value: { bucket: "b", access_key_id: "k", secret_access_key: SECRET, prefix: "a/../b" },
      field: /prefix/ },
    { title: "not an object", value: "s3://bucket", field: /\(value\)/ },
  ];
  for (const c of cases) {
    test(c.title, () => {
      assert.throws(() => parseS3Config(c.value, PATH), (error: Error) => {
        assert.match(error.message, /Resource f\/admin\/s3_backup_config is not valid/);
        assert.match(error.message, c.field);
        assert.ok(!error.message.includes(SECRET));
        return true;
      });
    });
  }
});

test("the resource template of resources/ parses in the seed's shape, its secrets as variable references", () => {
  const template = parse(readFileSync(join("resources", "s3_backup_config.resource.yaml"), "utf8")) as { value: Record<string, unknown> };
  const target = parseS3Config(template.value, PATH);
  assert.equal(target.endpoint, undefined, "AWS: no endpoint");
  assert.match(target.secretAccessKey, /^\$var:/);
});
