// The restore for bad days, as a user without the repository's install runs it: the committed
// single file is the build of the code beside it, and copied alone into an empty directory (no
// node_modules anywhere above it, a bare environment) it previews, restores and verifies a backup,
// and refuses one whose archive was changed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { newSigningKeyPair } from "../f/admin/lib/crypto/signing.ts";
import { buildRescue, RESCUE_FILE } from "../tools/build-rescue.ts";
import { forgeMember } from "./support/archive-edit.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { dataFingerprint, mockWindmill } from "./support/judge.ts";

let cluster: Cluster;
let dir: string;
let tool: string;

/** Run the copied file with Node and nothing else: no npm, no node_modules, only PATH and the password. */
function rescue(args: string[], extraEnv: Record<string, string> = {}) {
  return spawnSync(process.execPath, [tool, ...args], {
    cwd: dirname(tool),
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", PGPASSWORD: cluster.password, ...extraEnv },
  });
}

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("shop");
  await cluster.query("shop", `
    CREATE TABLE public.items (id serial PRIMARY KEY, name text NOT NULL, price numeric);
    INSERT INTO public.items (name, price) SELECT 'item ' || i, i * 1.25 FROM generate_series(1, 500) i;
  `);
  dir = mkdtempSync(join(tmpdir(), "wpb-rescue-"));
  const empty = mkdtempSync(join(tmpdir(), "wpb-rescue-tool-"));
  tool = join(empty, "windmill-pg-backup-restore.mjs");
  copyFileSync(RESCUE_FILE, tool);
});

after(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (tool) rmSync(dirname(tool), { recursive: true, force: true });
});

test("the committed file is the build of the code beside it (npm run build:rescue)", async () => {
  assert.equal(await buildRescue(), readFileSync(RESCUE_FILE, "utf8"), "run npm run build:rescue and commit rescue/");
});

test("copied alone, with no node_modules anywhere above it, it previews, restores and verifies", async () => {
  for (let d = dirname(tool); d !== "/"; d = dirname(d)) assert.equal(existsSync(join(d, "node_modules")), false, `${d} has node_modules`);
  const help = rescue(["--help"]);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: node windmill-pg-backup-restore\.mjs ARCHIVE\.sql\.gz/);

  mockWindmill(dir, { "f/admin/database": cluster.resource("shop"), "f/admin/backup_settings": { backup_dir: join(dir, "backups") } });
  const { filename } = (await backupDatabase("manual", false, false, false)) as { filename: string };
  const archive = join(dir, "backups", filename);
  const url = `postgres://${cluster.user}@${cluster.host}:${cluster.port}/shop?sslmode=disable`;

  const preview = rescue([archive, "--database", url, "--target", "shop_restored"]);
  assert.equal(preview.status, 0, preview.stderr);
  assert.match(preview.stdout, /### Restore preview: .* → shop_restored \(new database\)/);
  assert.match(preview.stdout, /Nothing was changed\. Run the same command again with --yes to restore\./);
  assert.doesNotMatch(preview.stdout, /dry_run|confirm_restore/, "the tool's preview names its own flag, not the script's arguments");
  assert.equal((await cluster.query("postgres", "SELECT count(*)::int AS n FROM pg_database WHERE datname = 'shop_restored'")).rows[0].n, 0,
    "a preview creates nothing");

  const restored = rescue([archive, "--database", url, "--target", "shop_restored", "--yes", "--json"]);
  assert.equal(restored.status, 0, restored.stderr);
  const result = JSON.parse(restored.stdout) as { status: string; verification: { passed: boolean; tables: Array<{ match: boolean }> } };
  assert.equal(result.status, "success");
  assert.equal(result.verification.passed, true);
  assert.ok(result.verification.tables.every((t) => t.match));
  assert.deepEqual(await dataFingerprint(cluster, "shop_restored"), await dataFingerprint(cluster, "shop"));

  // In place, with libpq's variables instead of a URL: a pre-restore backup first, beside the archive.
  await cluster.query("shop", "DELETE FROM public.items WHERE id > 100");
  const inPlace = rescue([archive, "--yes"], { PGHOST: cluster.host, PGPORT: String(cluster.port), PGUSER: cluster.user, PGDATABASE: "shop",
    PGSSLMODE: "disable" });
  assert.equal(inPlace.status, 0, inPlace.stderr);
  assert.match(inPlace.stdout, /verification passed \(1\/1 tables match/);
  assert.match(inPlace.stdout, /Pre-restore backup: .*shop_pre_restore_\d{8}_\d{6}\.sql\.gz/);
  assert.equal((await cluster.query("shop", "SELECT count(*)::int AS n FROM public.items")).rows[0].n, 500);
});

test("it refuses an archive changed after the backup, and a missing database, saying why", async () => {
  mockWindmill(dir, { "f/admin/database": cluster.resource("shop"), "f/admin/backup_settings": { backup_dir: join(dir, "changed") } });
  const { filename } = (await backupDatabase("manual", false, false, false)) as { filename: string };
  const archive = join(dir, "changed", filename);
  const manifest = JSON.parse(readFileSync(archive.replace(/\.sql\.gz$/, ".manifest.json"), "utf8"));
  forgeMember(archive, manifest.sections.pre_data, "SELECT 1;\n");
  const url = `postgres://${cluster.user}@${cluster.host}:${cluster.port}/shop?sslmode=disable`;
  const before = await dataFingerprint(cluster, "shop");
  const refused = rescue([archive, "--database", url, "--yes"]);
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /^error: .*does not match its manifest/m);
  assert.deepEqual(await dataFingerprint(cluster, "shop"), before);
  const noDatabase = rescue([archive]);
  assert.equal(noDatabase.status, 1);
  assert.match(noDatabase.stderr, /give the database: --database postgres:\/\/USER@HOST:PORT\/DBNAME, or PGHOST and PGDATABASE/);
  assert.doesNotMatch(refused.stderr + refused.stdout, new RegExp(cluster.password), "the password never shows");
});

test("a zstd backup made under Bun restores with plain Node 20, whose zlib has no zstd (the bundled decoder)", async () => {
  const mockFile = mockWindmill(dir, { "f/admin/database": cluster.resource("shop"),
    "f/admin/backup_settings": { backup_dir: join(dir, "zstd"), compression: "zstd" } });
  const made = spawnSync(process.execPath, ["--import", "tsx", "tools/wm.ts", "--runtime", "bun", "f/admin/backup_database",
    JSON.stringify({ backup_type: "manual", cleanup_old: false })], { encoding: "utf8",
    env: { ...process.env, WM_MOCKED_API_FILE: mockFile } });
  assert.equal(made.status, 0, made.stderr.slice(-2000));
  const { filename } = JSON.parse(made.stdout) as { filename: string };
  assert.match(filename, /\.sql\.zst$/);
  const archive = join(dir, "zstd", filename);
  const url = `postgres://${cluster.user}@${cluster.host}:${cluster.port}/shop?sslmode=disable`;
  const restored = rescue([archive, "--database", url, "--target", "shop_from_zstd", "--yes", "--json"]);
  assert.equal(restored.status, 0, restored.stderr);
  assert.equal((JSON.parse(restored.stdout) as { verification: { passed: boolean } }).verification.passed, true);
  assert.deepEqual(await dataFingerprint(cluster, "shop_from_zstd"), await dataFingerprint(cluster, "shop"));
});

test("an encrypted, signed backup: restored with the identity file and the public key; refused without the identity, or signed by another key", async (t) => {
  if (spawnSync("age-keygen", ["--version"]).status !== 0) return t.skip("needs age-keygen (Debian package age)");
  const keyFile = join(dir, "age-identity.txt");
  spawnSync("age-keygen", ["-o", keyFile]);
  const recipient = spawnSync("age-keygen", ["-y", keyFile], { encoding: "utf8" }).stdout.trim();
  const pair = newSigningKeyPair();
  const file = mockWindmill(dir, {
    "f/admin/database": cluster.resource("shop"),
    "f/admin/backup_settings": {
      backup_dir: join(dir, "sealed"),
      encryption: { recipients: [recipient] },
      signing: { private_key_variable: "f/admin/signing_key", public_keys: [pair.publicKey] },
    },
  });
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), variables: { "f/admin/signing_key": pair.privateKey } }));
  const { filename } = (await backupDatabase("manual", false, false, false)) as { filename: string };
  assert.match(filename, /\.sql\.gz\.age$/);
  const archive = join(dir, "sealed", filename);
  const url = `postgres://${cluster.user}@${cluster.host}:${cluster.port}/shop?sslmode=disable`;

  const without = rescue([archive, "--database", url, "--target", "shop_sealed", "--yes"]);
  assert.equal(without.status, 1);
  assert.match(without.stderr, /give --identity FILE/);
  const otherKey = newSigningKeyPair().publicKey;
  const wrongSigner = rescue([archive, "--database", url, "--target", "shop_sealed", "--yes", "--identity", keyFile, "--verify-key",
    otherKey]);
  assert.equal(wrongSigner.status, 1);
  assert.match(wrongSigner.stderr, /does not carry a valid signature/);

  const restored = rescue([archive, "--database", url, "--target", "shop_sealed", "--yes", "--json", "--identity", keyFile, "--verify-key",
    pair.publicKey]);
  assert.equal(restored.status, 0, restored.stderr);
  const result = JSON.parse(restored.stdout) as { signature: string; encryption: string; verification: { passed: boolean } };
  assert.equal(result.verification.passed, true);
  assert.match(result.signature, /^valid \(ed25519/);
  assert.equal(result.encryption, `age-x25519 (${recipient})`);
  assert.deepEqual(await dataFingerprint(cluster, "shop_sealed"), await dataFingerprint(cluster, "shop"));
  const identity = readFileSync(keyFile, "utf8").split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-1"))!;
  assert.doesNotMatch(without.stderr + wrongSigner.stderr + restored.stdout + restored.stderr, new RegExp(identity),
    "the identity never shows");

  // In place: the pre-restore backup is encrypted to the identity's recipient too.
  const inPlace = rescue([archive, "--database", url, "--yes", "--identity", keyFile, "--verify-key", pair.publicKey]);
  assert.equal(inPlace.status, 0, inPlace.stderr);
  assert.match(inPlace.stdout, /Pre-restore backup: .*shop_pre_restore_\d{8}_\d{6}\.sql\.gz\.age/);
});
