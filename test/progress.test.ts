// Progress a person can follow in the job's log and progress bar: one step per table dumped, then
// the upload by twentieths, percentages that only go up and stop short of 100 until the job ends.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createBackup } from "../f/admin/lib/operations/backup.ts";
import { LocalStorage } from "../f/admin/lib/storage/local.ts";
import { S3Storage } from "../f/admin/lib/storage/s3.ts";
import { BackupSettings, parseS3Config } from "../f/admin/lib/settings.ts";
import type { Cluster } from "./support/cluster.ts";
import { FAMILY_BRAIN_TABLES } from "./support/family-brain.ts";
import { startS3Server, type S3Server } from "./support/s3.ts";
import { startSample, type Sample } from "./support/sample.ts";

let sample: Sample;
let cluster: Cluster;
let s3: S3Server;
let dir: string;

before(async () => {
  sample = await startSample("progress");
  ({ cluster, dir } = sample);
  s3 = await startS3Server();
});

after(async () => {
  await s3?.stop();
  await sample?.stop();
});

test("a backup with upload reports each table, then the upload by twentieths, with rising percentages", async () => {
  const steps: Array<{ message: string; percent: number }> = [];
  const settings = BackupSettings.parse({ backup_dir: join(dir, "backups") });
  const outcome = await createBackup({
    database: { ...cluster.resource("family_brain"), sslmode: "disable" },
    settings,
    type: "manual",
    storage: new LocalStorage(settings.backup_dir),
    offsite: new S3Storage(parseS3Config(s3.resource(), "f/admin/s3_backup_config")),
    onProgress: (message, percent) => steps.push({ message, percent }),
  });
  const dumped = steps.filter((s) => s.message.startsWith("dumped "));
  assert.deepEqual(dumped.map((s) => s.message.split(" ")[1]!.replace("public.", "").replace(":", "")).sort(),
    [...FAMILY_BRAIN_TABLES].sort());
  const uploads = steps.filter((s) => s.message.startsWith("uploaded "));
  assert.ok(uploads.length >= 2, "the upload is reported as it goes");
  const total = (outcome.manifest.archive.size / 1048576).toFixed(1);
  assert.equal(uploads.at(-1)!.message, `uploaded ${total} of ${total} MB to ${outcome.offsite!.location}`);
  const percents = steps.map((s) => s.percent);
  assert.deepEqual(percents, [...percents].sort((a, b) => a - b), "percentages only go up");
  assert.ok(percents.every((p) => p >= 0 && p < 100));
});
