// Backups written with `compression: "zstd"`: under Bun (Windmill's runtime) they are `.sql.zst`
// files that `zstd -dc | psql` replays to the same data our restore gives, carrying the same text a
// gzip backup carries; they restore under Bun (node:zlib's zstd) and under this Node (no zstd in
// node:zlib: the pure-JS decoder), encrypted too; Node refuses to write one; and every archive that
// is not what its name and manifest say is refused with the database and the older backups untouched.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { appendFileSync, copyFileSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as zlib from "node:zlib";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { run as verifyBackup } from "../f/admin/verify_backup.ts";
import { resealManifest } from "./support/archive-edit.ts";
import type { Cluster } from "./support/cluster.ts";
import { dataFingerprint, databaseState } from "./support/judge.ts";
import { listBackups } from "./support/listing.ts";
import { SAMPLE_DATABASE, startSample, type Sample } from "./support/sample.ts";

let sample: Sample;
let cluster: Cluster;
let backupDir: string;
const PASSPHRASE = "a passphrase for the zstd archives 5c2e";
/** The first zstd backup, made once: the adversarial tests work on copies of it. */
let zstdName: string;

before(async () => {
  sample = await startSample("zstd");
  ({ cluster, backupDir } = sample);
});

after(async () => {
  await sample?.stop();
});

/** A script through the local runner under `runtime`, with the sample's settings and these extra ones. */
function runScript(
  runtime: "bun" | "node" | "deno",
  script: string,
  args: Record<string, unknown>,
  settings: Record<string, unknown> = {},
) {
  const mockFile = sample.configure({ compression: "zstd", ...settings }, {});
  const mock = JSON.parse(readFileSync(mockFile, "utf8"));
  mock.variables = { "f/admin/backup_passphrase": PASSPHRASE };
  writeFileSync(mockFile, JSON.stringify(mock));
  const out = spawnSync(process.execPath, ["--import", "tsx", "tools/wm.ts", "--runtime", runtime, script, JSON.stringify(args)], {
    encoding: "utf8",
    env: { ...process.env, WM_MOCKED_API_FILE: mockFile },
    timeout: 300_000,
  });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

function bunBackup(settings: Record<string, unknown> = {}): Record<string, any> {
  const out = runScript("bun", "f/admin/backup_database", { backup_type: "manual", cleanup_old: false }, settings);
  assert.equal(out.status, 0, out.stderr.slice(-3000));
  const result = JSON.parse(out.stdout);
  assert.equal(result.status, "success", out.stdout);
  return result;
}

const manifestPath = (name: string) => join(backupDir, name.replace(/\.sql\.(gz|zst)(\.age)?$/, ".manifest.json"));
const readManifest = (name: string) => JSON.parse(readFileSync(manifestPath(name), "utf8"));
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** Every file in the backup directory with its sha256: what a failure must leave as it was. */
function backupFiles(): Record<string, string> {
  return Object.fromEntries(readdirSync(backupDir).sort().map((name) => [name, sha256(join(backupDir, name))]));
}

test("under Node 20 (no zstd in node:zlib) the backup refuses zstd before writing anything, saying what to do", {
  skip: typeof zlib.zstdCompress === "function" ? "this Node writes zstd" : false,
}, () => {
  const before = readdirSync(backupDir);
  const out = runScript("node", "f/admin/backup_database", { backup_type: "manual" });
  assert.notEqual(out.status, 0);
  const said = out.stdout + out.stderr;
  assert.match(said, /compression "zstd" cannot be written under Node 20/);
  assert.match(said, /Bun/);
  assert.match(said, /compression: "gzip"/);
  assert.deepEqual(readdirSync(backupDir), before, "nothing written");
});

test("a zstd backup under Bun is one .sql.zst that zstd -dc | psql replays to the source's data, with gzip's very text", async () => {
  const result = bunBackup();
  zstdName = result.filename;
  assert.match(zstdName, /^family_brain_manual_\d{8}_\d{6}(_\d+)?\.sql\.zst$/);
  const manifest = readManifest(zstdName);
  assert.equal(manifest.archive.compression, "zstd");
  assert.equal(manifest.archive.name, zstdName);
  const archive = join(backupDir, zstdName);
  execFileSync("zstd", ["-tq", archive]);
  // Each member is its own run of frames, each frame carrying its checksum.
  const first = readFileSync(archive).subarray(manifest.tables[0].range.start, manifest.tables[0].range.start + 6);
  assert.deepEqual([...first.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
  assert.equal(first[4]! & 0x04, 0x04, "the frame carries a content checksum");

  // The judge: zstd's own tool and psql, into a fresh database.
  assert.ok(cluster.clientBin, "psql is installed (postgresql-client)");
  await cluster.query("postgres", "CREATE DATABASE judged");
  execFileSync("bash", ["-o", "pipefail", "-c", `zstd -dc "$1" | "$2/psql" -X -q -v ON_ERROR_STOP=1 -d judged > /dev/null`, "judge",
    archive, cluster.clientBin], { env: cluster.libpqEnv() });
  const source = await dataFingerprint(cluster, SAMPLE_DATABASE);
  assert.deepEqual(await dataFingerprint(cluster, "judged"), source);

  // The same database backed up with gzip carries the same text member by member, so the same
  // digests; all but the audit table and its sequence, which gained the first backup's row in between.
  const gzipped = bunBackup({ compression: "gzip" });
  const gzipManifest = readManifest(gzipped.filename);
  const members = (
    m: any,
  ) => [m.sections.pre_data, ...m.tables.filter((t: any) => t.name !== "system_logs").map((t: any) => t.range), m.sections.sequences,
    m.sections.post_data];
  const zstdBytes = readFileSync(archive);
  const gzipBytes = readFileSync(join(backupDir, gzipped.filename));
  const pairs = members(manifest).map((r: any, i: number) => [r, members(gzipManifest)[i]]);
  assert.equal(pairs.length, 2 + 7 + 1);
  for (const [z, g] of pairs) {
    const zstdText = execFileSync("zstd", ["-dc"], { input: zstdBytes.subarray(z.start, z.end), maxBuffer: 1 << 30 });
    const gzipText = zlib.gunzipSync(gzipBytes.subarray(g.start, g.end));
    const unaudited = (text: Buffer) => text.toString("utf8").replace(/^.*system_logs_id_seq.*\n/m, "");
    if (z === manifest.sections.sequences) assert.equal(unaudited(zstdText), unaudited(gzipText));
    else if (z === manifest.sections.pre_data) {
      // The header's third line tells how to replay the file by hand: each names its own reader.
      const zstdLines = zstdText.toString("utf8").split("\n");
      const gzipLines = gzipText.toString("utf8").split("\n");
      assert.equal(zstdLines[2], "--   zstd -dc THIS_FILE.sql.zst | psql -X -1 -v ON_ERROR_STOP=1 -d TARGET");
      assert.equal(gzipLines[2], "--   gunzip -c THIS_FILE.sql.gz | psql -X -1 -v ON_ERROR_STOP=1 -d TARGET");
      assert.deepEqual(zstdLines.filter((_, i) => i !== 2), gzipLines.filter((_, i) => i !== 2));
    } else assert.ok(zstdText.equals(gzipText), "zstd -dc gives byte for byte what gunzip -c gives");
  }
  const digests = (m: any) => m.tables.filter((t: any) => t.name !== "system_logs").map((t: any) => [t.name, t.rows, t.bytes, t.digest]);
  assert.deepEqual(digests(manifest), digests(gzipManifest));
  assert.ok(manifest.archive.size < readManifest(gzipped.filename).archive.size * 1.3, "zstd level 1 is not much larger than gzip -6");
});

test("a zstd backup restores under Bun and under Node (pure-JS decoder) to the same data zstd -dc | psql gave", async () => {
  const judged = await dataFingerprint(cluster, "judged");
  const bun = runScript("bun", "f/admin/restore_database", { backup_filename: zstdName, confirm_restore: true,
    target_database: "restored_bun" });
  assert.equal(bun.status, 0, bun.stderr.slice(-3000));
  assert.equal(JSON.parse(bun.stdout).verification.passed, true);
  assert.deepEqual(await dataFingerprint(cluster, "restored_bun"), judged);

  sample.configure({ compression: "zstd" });
  const node = await restoreDatabase({ backup_filename: zstdName, confirm_restore: true, target_database: "restored_node" });
  assert.equal(node.status, "success");
  assert.equal(node.verification.passed, true);
  assert.deepEqual(await dataFingerprint(cluster, "restored_node"), judged);

  const verified = (await verifyBackup({ backup_filename: zstdName, location: "local" })) as Array<{ ok: boolean }>;
  assert.ok(verified.length > 0 && verified.every((r) => r.ok), JSON.stringify(verified));

  const rows = await listBackups(false, "all", true);
  assert.ok(JSON.stringify(rows).includes(zstdName), `list_backups (checksums verified) shows ${zstdName}`);
});

test("an encrypted zstd backup is .sql.zst.age, age -d then zstd -dc reads it, and Node restores it", async () => {
  const encryption = { encryption: { passphrase_variable: "f/admin/backup_passphrase" } };
  const result = bunBackup(encryption);
  assert.match(result.filename, /\.sql\.zst\.age$/);
  const manifest = readManifest(result.filename);
  assert.equal(manifest.archive.name, result.filename.slice(0, -".age".length));
  assert.equal(manifest.archive.compression, "zstd");
  const mockFile = sample.configure({ compression: "zstd", ...encryption });
  const mock = JSON.parse(readFileSync(mockFile, "utf8"));
  mock.variables = { "f/admin/backup_passphrase": PASSPHRASE };
  writeFileSync(mockFile, JSON.stringify(mock));
  const node = await restoreDatabase({ backup_filename: result.filename, confirm_restore: true, target_database: "restored_sealed" });
  assert.equal(node.verification.passed, true);
  assert.deepEqual(await dataFingerprint(cluster, "restored_sealed"), await dataFingerprint(cluster, SAMPLE_DATABASE));
  sample.configure({ compression: "zstd" });
});

/**
 * A restore in place of the source that must be refused: the refusal names `expected`, the source
 * keeps its state, and the backups other than the one under test keep their bytes.
 */
async function refused(name: string, expected: RegExp, underTest: string[]): Promise<void> {
  sample.configure({ compression: "zstd" });
  const stateBefore = await databaseState(cluster, SAMPLE_DATABASE, { exceptAudit: true });
  const others = () => Object.fromEntries(Object.entries(backupFiles()).filter(([f]) => !underTest.some((u) => f.startsWith(u))));
  const filesBefore = others();
  await assert.rejects(
    restoreDatabase({ backup_filename: name, confirm_restore: true, create_pre_restore_backup: false }),
    (error: Error) => {
      assert.match(error.message, expected);
      return true;
    },
  );
  assert.deepEqual(await databaseState(cluster, SAMPLE_DATABASE, { exceptAudit: true }), stateBefore, "the database is unchanged");
  assert.deepEqual(others(), filesBefore, "the older backups are intact");
  const good = (await verifyBackup({ backup_filename: zstdName, location: "local" })) as Array<{ ok: boolean }>;
  assert.ok(good.every((r) => r.ok), "the first zstd backup still verifies");
}

/** A copy of the first zstd backup under another stamp, for a test to damage. */
function copyOfBackup(stamp: string, extension = ".sql.zst"): { name: string; archive: string; manifest: string } {
  const name = `family_brain_manual_${stamp}${extension}`;
  const archive = join(backupDir, name);
  const manifest = manifestPath(name);
  copyFileSync(join(backupDir, zstdName), archive);
  writeFileSync(manifest, readFileSync(manifestPath(zstdName)));
  resealManifest(manifest, (m) => {
    m.archive.name = name;
  });
  return { name, archive, manifest };
}

test("a zstd member edited to the same length, the manifest untouched, is refused before anything runs", async () => {
  const copy = copyOfBackup("20200101_000000");
  const manifest = JSON.parse(readFileSync(copy.manifest, "utf8"));
  const table = manifest.tables.find((t: any) => t.name === "tenants");
  const { start, end } = table.range;
  // A real frame of other rows, padded to the member's length with a skippable frame (which zstd -dc skips).
  const frame = zlib.zstdCompressSync
    ? zlib.zstdCompressSync(Buffer.from("forged\trow\n"))
    : execFileSync("zstd", ["-c", "-q"], { input: "forged\trow\n" });
  const padding = end - start - frame.length - 8;
  assert.ok(padding >= 0);
  const skippable = Buffer.alloc(8 + padding);
  skippable.writeUInt32LE(0x184d2a50, 0);
  skippable.writeUInt32LE(padding, 4);
  const bytes = readFileSync(copy.archive);
  writeFileSync(copy.archive, Buffer.concat([bytes.subarray(0, start), frame, skippable, bytes.subarray(end)]));
  execFileSync("zstd", ["-tq", copy.archive]); // still valid zstd: only the manifest's digests tell
  await refused(copy.name, /does not match its manifest|changed after the backup/, [copy.name, "family_brain_manual_20200101_000000"]);
});

test("a gzip archive renamed .sql.zst, and a zstd one renamed .sql.gz, are refused saying they were renamed", async () => {
  const gzipName = readdirSync(backupDir).find((f) => f.endsWith(".sql.gz"))!;
  const asZstd = gzipName.replace(/\.sql\.gz$/, ".sql.zst");
  renameSync(join(backupDir, gzipName), join(backupDir, asZstd));
  try {
    await refused(asZstd, new RegExp(`renamed from ${gzipName.replace(/\./g, "\\.")} \\(a gzip archive\\).*rename it back`), [asZstd]);
  } finally {
    renameSync(join(backupDir, asZstd), join(backupDir, gzipName));
  }
  const asGzip = zstdName.replace(/\.sql\.zst$/, ".sql.gz");
  renameSync(join(backupDir, zstdName), join(backupDir, asGzip));
  try {
    await assert.rejects(restoreDatabase({ backup_filename: asGzip, confirm_restore: true, create_pre_restore_backup: false }),
      /renamed from .*\.sql\.zst \(a zstd archive\)/);
  } finally {
    renameSync(join(backupDir, asGzip), join(backupDir, zstdName));
  }
});

test("a gzip archive passed off as zstd with a rewritten manifest is refused: its bytes are gzip", async () => {
  const gzipName = readdirSync(backupDir).find((f) => f.endsWith(".sql.gz"))!;
  const name = "family_brain_manual_20200102_000000.sql.zst";
  copyFileSync(join(backupDir, gzipName), join(backupDir, name));
  writeFileSync(manifestPath(name), readFileSync(manifestPath(gzipName)));
  resealManifest(manifestPath(name), (m) => {
    m.archive.name = name;
    m.archive.compression = "zstd";
  });
  await refused(name, /is gzip data, but its manifest says zstd/, ["family_brain_manual_20200102_000000"]);
  // And a manifest whose compression contradicts its own name is no manifest of ours.
  resealManifest(manifestPath(name), (m) => {
    m.archive.compression = "gzip";
  });
  await refused(name, /said to be gzip, whose archives end in \.sql\.gz/, ["family_brain_manual_20200102_000000"]);
});

test("bytes appended to a zstd archive (a skippable frame, garbage) are refused; inside a resealed member, garbage too", async () => {
  const skippable = copyOfBackup("20200103_000000");
  appendFileSync(skippable.archive, Buffer.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4]));
  await refused(skippable.name, /differs from the manifest|does not match its manifest/, ["family_brain_manual_20200103_000000"]);

  const garbage = copyOfBackup("20200104_000000");
  appendFileSync(garbage.archive, "trailing garbage");
  await refused(garbage.name, /differs from the manifest|does not match its manifest/, ["family_brain_manual_20200104_000000"]);

  // The manifest made to cover the garbage (its last member, sizes and digests recomputed): the digests
  // hold, the decoder does not.
  resealManifest(garbage.manifest, (m) => {
    const bytes = readFileSync(garbage.archive);
    m.sections.post_data.end = bytes.length;
    m.sections.post_data.sha256 = createHash("sha256").update(bytes.subarray(m.sections.post_data.start)).digest("hex");
    m.archive.size = bytes.length;
    m.archive.sha256 = createHash("sha256").update(bytes).digest("hex");
  });
  await refused(garbage.name, /cannot be read|damaged/, ["family_brain_manual_20200104_000000"]);
});

test("a name that mixes extensions is not one of our backups", async () => {
  for (const extension of [".sql.gz.zst", ".sql.zst.gz", ".sql.zst.age.gz"]) {
    const name = `family_brain_manual_20200105_000000${extension}`;
    copyFileSync(join(backupDir, zstdName), join(backupDir, name));
    try {
      await refused(name, /not a backup of this bundle/, [name]);
      const rows = await listBackups(false);
      assert.equal(JSON.stringify(rows).includes(name), false, `${name} is not listed`);
    } finally {
      rmSync(join(backupDir, name));
    }
  }
});
