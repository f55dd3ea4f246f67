// The scripts with S3, through `main`, on a real PostgreSQL and a real S3 protocol server (s3rver):
// backup with upload, the merged list, restore streamed from S3 with its sha256 checked before
// COMMIT, pins, and retention on both storages, including the failures that must keep backups.
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { listBackups } from "./support/listing.ts";
import { main as pinBackup } from "../f/admin/pin_backup.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { createBackup } from "../f/admin/lib/operations/backup.ts";
import { applyRetention } from "../f/admin/lib/operations/cleanup.ts";
import { LocalStorage } from "../f/admin/lib/storage/local.ts";
import { S3Storage } from "../f/admin/lib/storage/s3.ts";
import { BackupSettings, DatabaseResource, parseS3Config } from "../f/admin/lib/settings.ts";
import { resealedText, rewriteMemberHonestly } from "./support/archive-edit.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { createFamilyBrainDatabase } from "./support/family-brain.ts";
import { dataFingerprint, mockWindmill } from "./support/judge.ts";
import { startS3Proxy, startS3Server, type S3Proxy, type S3Server } from "./support/s3.ts";

const SOURCE = "family_brain";
const PREFIX = "family-brain/";
let cluster: Cluster;
let s3: S3Server;
let proxy: S3Proxy;
let dir: string;
let backupDir: string;
let client: S3Client;

const resources = (s3Resource: Record<string, unknown>, settings: Record<string, unknown> = {}) =>
  mockWindmill(dir, {
    "f/admin/database": cluster.resource(SOURCE),
    "f/admin/backup_settings": { backup_dir: backupDir, ...settings },
    "f/admin/s3_backup_config": s3Resource,
  });
/** s3rver does not check SigV4 signatures, so any secret works: this one must never show up. */
const SECRET = "s3-secret-that-must-never-appear-7f3a";
/** The seed's shape, pointed at s3rver (endpoint and path style are this shape's optional extras). */
const seedShape = () => ({
  bucket: s3.bucket,
  region: "us-east-1",
  access_key_id: s3.accessKeyId,
  secret_access_key: SECRET,
  endpoint: s3.endpoint,
  path_style: true,
  prefix: PREFIX,
});

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase(SOURCE);
  const db = await cluster.connect(SOURCE);
  await createFamilyBrainDatabase(db);
  await db.end();
  s3 = await startS3Server();
  proxy = await startS3Proxy(s3);
  dir = mkdtempSync(join(tmpdir(), "wpb-s3-scripts-"));
  backupDir = join(dir, "backups");
  client = new S3Client({
    region: "us-east-1",
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  resources(seedShape());
});

after(async () => {
  await proxy?.stop();
  await s3?.stop();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const stem = (name: string) => name.replace(/\.sql\.gz$/, "");
const objectBytes = async (key: string) =>
  Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray());
const put = (key: string, body: Buffer | string) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));

type BackupResult = { status: string; filename: string; sha256: string; location: string;
  s3: { archive: string; manifest: string; cleanup: { deleted: string[] } }; cleanup: { deleted: string[] } };

/** A copy of `source` named as a daily backup of `daysAgo` days ago, locally and/or on S3. */
async function plantDaily(source: string, daysAgo: number, where: { local?: boolean; s3?: boolean }): Promise<string> {
  const at = new Date(Date.now() - daysAgo * 86_400_000);
  const name = `family_brain_daily_${at.toISOString().slice(0, 19).replace(/-|:/g, "").replace("T", "_")}.sql.gz`;
  const manifest = resealedText(readFileSync(join(backupDir, `${stem(source)}.manifest.json`), "utf8"), (m) => {
    Object.assign(m, { created_at: at.toISOString(), backup_type: "daily" });
    m.archive.name = name;
  });
  const archive = readFileSync(join(backupDir, source));
  if (where.local) {
    writeFileSync(join(backupDir, name), archive);
    writeFileSync(join(backupDir, `${stem(name)}.manifest.json`), manifest);
  }
  if (where.s3) {
    await put(PREFIX + name, archive);
    await put(`${PREFIX}${stem(name)}.manifest.json`, manifest);
  }
  return name;
}

test("the seed's backup body with upload_to_s3 puts the archive, then its manifest, in the bucket, with the sha256 as metadata", async () => {
  const result = (await backupDatabase("manual", true, false, false)) as unknown as BackupResult;
  assert.equal(result.status, "success");
  assert.equal(result.location, "both");
  assert.equal(result.s3.archive, result.filename);
  const local = readFileSync(join(backupDir, result.filename));
  assert.ok((await objectBytes(PREFIX + result.filename)).equals(local), "the S3 archive is the local one, byte for byte");
  const manifest = JSON.parse((await objectBytes(`${PREFIX}${stem(result.filename)}.manifest.json`)).toString());
  assert.equal(manifest.archive.sha256, result.sha256);
  const head = await client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: PREFIX + result.filename }));
  assert.equal(head.Metadata?.sha256, result.sha256);
  assert.equal(head.ContentLength, local.length);
  assert.ok(!JSON.stringify(result).includes(SECRET), "no secret in the result");
  assert.ok(!JSON.stringify(await listBackups(true)).includes(SECRET), "nor in the list");
});

test("the seed's list body merges local and S3: one row per backup, where it is, copies that differ, archives without a manifest", async () => {
  const both = (await backupDatabase("manual", true, false, false)) as unknown as BackupResult;
  const localOnly = (await backupDatabase("weekly", false, false, false)) as unknown as BackupResult;
  // An upload that never finished: an archive on S3 without its manifest.
  const unfinished = "family_brain_monthly_20250101_040000.sql.gz";
  await put(PREFIX + unfinished, "partial bytes");
  // The same name on both sides, but not the same file (a damaged upload, with a manifest that matches it).
  const differing = (await backupDatabase("manual", true, false, false)) as unknown as BackupResult;
  const copy = mkdtempSync(join(tmpdir(), "wpb-differing-"));
  const [copyArchive, copyManifest] = [join(copy, differing.filename), join(copy, `${stem(differing.filename)}.manifest.json`)];
  writeFileSync(copyArchive, readFileSync(join(backupDir, differing.filename)));
  writeFileSync(copyManifest, readFileSync(join(backupDir, `${stem(differing.filename)}.manifest.json`)));
  rewriteMemberHonestly(copyArchive, copyManifest, (m) => m.sections.post_data, (text) => `${text}-- another copy\n`);
  await put(PREFIX + differing.filename, readFileSync(copyArchive));
  await put(`${PREFIX}${stem(differing.filename)}.manifest.json`, readFileSync(copyManifest));
  rmSync(copy, { recursive: true });

  const rows = await listBackups(true);
  const byName = new Map(rows.map((r) => [r.name, r]));
  assert.equal(rows.length, byName.size, "one row per backup");
  assert.deepEqual(rows.map((r) => r.created_at), [...rows.map((r) => r.created_at)].sort().reverse(), "newest first");
  for (const row of rows) assert.ok(Object.values(row).every((v) => v === null || typeof v !== "object"), "flat rows render as a table");

  const row = byName.get(both.filename)!;
  assert.deepEqual(
    { location: row.location, tables: row.tables, encrypted: row.encrypted, pinned: row.pinned, warnings: row.warnings, type: row.type },
    { location: "both", tables: 8, encrypted: "no", pinned: "no", warnings: "", type: "manual" },
  );
  assert.ok(Number(row.rows) > 1000);
  assert.equal(byName.get(localOnly.filename)!.location, "local");
  const partial = byName.get(unfinished)!;
  assert.equal(partial.location, "s3");
  assert.match(partial.verified, /^no: no manifest/);
  assert.match(partial.warnings, /unfinished on s3 \(no manifest\)/);
  assert.match(byName.get(differing.filename)!.warnings, /copies differ: local \d+ bytes, s3 \d+ bytes.*copies differ: sha256/);

  const verified = await listBackups(true, "manual", true);
  assert.ok(verified.length > 0 && verified.every((r) => r.type === "manual"));
  assert.match(verified.find((r) => r.name === both.filename)!.verified, /^yes: sha256 matches manifest$/);
});

test("the seed's restore body streams the backup from S3 once, checks it, and takes a local pre-restore backup", async () => {
  const original = await dataFingerprint(cluster, SOURCE);
  const backup = (await backupDatabase("manual", true, false, false)) as unknown as BackupResult;
  // Only S3 has it now, so the restore cannot be reading the local copy.
  rmSync(join(backupDir, backup.filename));
  rmSync(join(backupDir, `${stem(backup.filename)}.manifest.json`));
  await cluster.query(SOURCE, "DELETE FROM public.chat_messages WHERE id % 3 = 0");
  resources(proxy.resource({ prefix: PREFIX }));
  proxy.requests.length = 0;
  try {
    const result = await restoreDatabase({ backup_filename: backup.filename, backup_source: "s3", confirm_restore: true });
    assert.equal(result.verification.passed, true);
    assert.equal(result.restored_from_location, `s3://${s3.bucket}/${PREFIX}`);
    assert.ok(result.pre_restore_backup && existsSync(join(backupDir, result.pre_restore_backup)), "the pre-restore backup is local");
    assert.equal(result.rollback_request?.backup_source, "local");
    assert.deepEqual(await dataFingerprint(cluster, SOURCE), original);
  } finally {
    resources(seedShape());
  }
  const archiveGets = proxy.requests.filter((r) => r.method === "GET" && r.url.includes(backup.filename));
  const manifest = JSON.parse((await objectBytes(`${PREFIX}${stem(backup.filename)}.manifest.json`)).toString());
  assert.ok(archiveGets.every((r) => typeof r.headers.range === "string"), "ranged reads only");
  assert.equal(archiveGets.length, manifest.tables.length + 3, "each member read once: no full pre-check, no second download");
});

test("a restore from S3 whose archive changed after the backup refuses the changed member before running it and rolls back", async () => {
  const backup = (await backupDatabase("manual", true, false, false)) as unknown as BackupResult;
  const manifest = JSON.parse(readFileSync(join(backupDir, `${stem(backup.filename)}.manifest.json`), "utf8"));
  // The gzip header's MTIME of the post-data member: the SQL stays the same, the file's sha256 does not.
  const path = s3.objectPath(PREFIX + backup.filename);
  const bytes = readFileSync(path);
  bytes.writeUInt32LE(0x5eed5eed, manifest.sections.post_data.start + 4);
  writeFileSync(path, bytes);
  await cluster.query(SOURCE, "CREATE TABLE public.added_after_backup (id int)");
  try {
    const before = await dataFingerprint(cluster, SOURCE);
    await assert.rejects(
      restoreDatabase({ backup_filename: backup.filename, backup_source: "s3", confirm_restore: true, create_pre_restore_backup: false }),
      /was changed after the backup: the indexes, constraints and triggers \(post-data\) does not match the manifest \(sha256 /,
    );
    assert.deepEqual(await dataFingerprint(cluster, SOURCE), before, "the database is as it was");
  } finally {
    await cluster.query(SOURCE, "DROP TABLE public.added_after_backup");
  }
});

test("a failed upload fails the job, keeps the local backup, and applies no retention", async () => {
  const source = readdirSync(backupDir).find((f) => f.endsWith(".sql.gz") && existsSync(join(backupDir, `${stem(f)}.manifest.json`)))!;
  const expired = await plantDaily(source, 30, { local: true });
  resources(proxy.resource({ prefix: PREFIX, secretKey: SECRET }));
  proxy.fault = (r) => (r.method === "PUT" || r.method === "POST" ? 503 : undefined);
  const before = new Set(readdirSync(backupDir));
  try {
    await assert.rejects(backupDatabase("daily", true, true, false), (error: Error) => {
      assert.match(error.message,
        /Backup (family_brain_daily_\S+) was written to .* and is kept there, but uploading it to s3:\/\/backups\/family-brain\/ failed: .*No retention was applied\. Fix the S3 problem; the next backup with upload_to_s3: true uploads this one too\./);
      assert.ok(!error.message.includes(SECRET) && !String(error.stack).includes(SECRET));
      return true;
    });
  } finally {
    proxy.fault = undefined;
    resources(seedShape());
  }
  const added = readdirSync(backupDir).filter((f) => !before.has(f));
  assert.equal(added.length, 3, `the new archive, its manifest and the marker of the upload still owed are kept locally: ${added}`);
  assert.ok(existsSync(join(backupDir, expired)), "retention did not run");
  const name = added.find((f) => f.endsWith(".sql.gz"))!;
  const bucket = new S3Storage(parseS3Config(seedShape(), "f/admin/s3_backup_config"));
  assert.equal(await bucket.stat(name), undefined, "nothing half-uploaded under the name");
  rmSync(join(backupDir, expired));
  rmSync(join(backupDir, `${stem(expired)}.manifest.json`));

  // The next run that uploads makes good what this one owed, then forgets it.
  const next = (await backupDatabase("manual", true, false, false)) as unknown as BackupResult & {
    s3: { uploaded_earlier_backups: string[] };
  };
  assert.deepEqual(next.s3.uploaded_earlier_backups, [name]);
  assert.ok((await objectBytes(PREFIX + name)).equals(readFileSync(join(backupDir, name))));
  assert.ok(!existsSync(join(backupDir, `${stem(name)}.upload-pending`)));
  // Leave the bucket as the next tests expect it (no recent daily there).
  for (const file of [name, `${stem(name)}.manifest.json`]) await bucket.remove(file);
});

test("retention runs on each storage over its own listing; a pinned backup survives on both until unpinned", async () => {
  const fresh = (await backupDatabase("manual", true, false, false)) as unknown as BackupResult;
  const expiredBoth = await plantDaily(fresh.filename, 20, { local: true, s3: true });
  const expiredS3 = await plantDaily(fresh.filename, 21, { s3: true });
  const pinned = await plantDaily(fresh.filename, 25, { local: true, s3: true });
  const pin = await pinBackup(pinned, true, "all", "before the v2 migration");
  assert.deepEqual(pin.changes.map((c) => c.result), ["pinned", "pinned"]);
  assert.deepEqual((await pinBackup(pinned)).changes.map((c) => c.result), ["already pinned", "already pinned"]);
  assert.equal((await listBackups(true)).find((r) => r.name === pinned)!.pinned, "yes");

  const dry = (await backupDatabase("daily", true, true, true)) as unknown as { s3_cleanup_would_delete: { name: string }[];
    cleanup_would_delete: { name: string }[] };
  // Before the new daily exists, the 20-day-old one is the newest daily on S3, so it is kept there.
  assert.deepEqual(dry.s3_cleanup_would_delete.map((d) => d.name), [expiredS3], "the dry run shows the S3 plan");
  assert.deepEqual(dry.cleanup_would_delete.map((d) => d.name), [expiredBoth]);
  assert.ok((await new S3Storage(parseS3Config(seedShape(), "f/admin/s3_backup_config")).stat(expiredS3)) !== undefined,
    "and deletes nothing");

  const result = (await backupDatabase("daily", true, true, false)) as unknown as BackupResult;
  assert.deepEqual(result.cleanup.deleted, [expiredBoth]);
  assert.deepEqual(result.s3.cleanup.deleted.sort(), [expiredBoth, expiredS3].sort());
  const s3Names = (await new S3Storage(parseS3Config(seedShape(), "f/admin/s3_backup_config")).list()).files.map((f) => f.name);
  assert.ok(s3Names.includes(pinned) && s3Names.includes(`${stem(pinned)}.pin`) && !s3Names.includes(expiredS3));
  assert.ok(existsSync(join(backupDir, pinned)));

  assert.deepEqual((await pinBackup(pinned, false)).changes.map((c) => c.result), ["unpinned", "unpinned"]);
  const next = (await backupDatabase("daily", true, true, false)) as unknown as BackupResult;
  assert.deepEqual(next.cleanup.deleted, [pinned]);
  assert.deepEqual(next.s3.cleanup.deleted, [pinned]);
});

test("cleanup deletes nothing on S3 when the S3 listing stopped halfway", async () => {
  const fresh = (await backupDatabase("manual", true, false, false)) as unknown as BackupResult;
  const expired = await plantDaily(fresh.filename, 40, { s3: true });
  const settings = BackupSettings.parse({ backup_dir: backupDir });
  const paged = new S3Storage(parseS3Config(proxy.resource({ prefix: PREFIX }), "f/admin/s3_backup_config"), 2);
  proxy.fault = (r) => (r.method === "GET" && r.url.includes("continuation-token=") ? 500 : undefined);
  try {
    const outcome = await applyRetention(paged, settings, SOURCE, new Date(), true);
    assert.deepEqual(outcome.deleted, []);
  } finally {
    proxy.fault = undefined;
  }
  assert.ok((await paged.list()).files.some((f) => f.name === expired), "the expired backup is still there");
  assert.deepEqual((await applyRetention(paged, settings, SOURCE, new Date(), true)).deleted, [expired],
    "and goes once the listing is whole");
});

test("a new backup's name is free on S3 too: a local copy deleted by hand does not lead to a clash", async () => {
  const settings = BackupSettings.parse({ backup_dir: backupDir });
  const request = {
    database: DatabaseResource.parse(cluster.resource(SOURCE)),
    settings,
    storage: new LocalStorage(backupDir),
    offsite: new S3Storage(parseS3Config(seedShape(), "f/admin/s3_backup_config")),
    type: "manual" as const,
    now: () => new Date("2025-06-01T12:00:00Z"),
  };
  const first = await createBackup(request);
  assert.equal(first.name, "family_brain_manual_20250601_080000.sql.gz");
  rmSync(join(backupDir, first.name));
  rmSync(join(backupDir, `${stem(first.name)}.manifest.json`));
  const second = await createBackup(request);
  assert.equal(second.name, "family_brain_manual_20250601_080000_2.sql.gz");
  assert.equal(second.offsite?.archive.name, second.name);
});

test("include_s3 without an S3 resource says which resource to create", async () => {
  mockWindmill(dir, { "f/admin/database": cluster.resource(SOURCE), "f/admin/backup_settings": { backup_dir: backupDir } });
  try {
    await assert.rejects(listBackups(true), /Resource f\/admin\/s3_backup_config \(the S3 bucket for backups\) does not exist/);
    await assert.rejects(backupDatabase("manual", true, false, false), /f\/admin\/s3_backup_config/);
  } finally {
    resources(seedShape());
  }
});
