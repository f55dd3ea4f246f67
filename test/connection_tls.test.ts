// TLS to PostgreSQL, as libpq's sslmode means it, against a throwaway server with a self-signed
// certificate for 127.0.0.1: require encrypts without checking, verify-ca checks the chain,
// verify-full the chain and the host; a certificate from another authority is refused before anything
// is read or written, prefer falls back to plain text on a server without TLS, require does not.
// A backup and its restore run whole over verify-full (the COPY stream over TLS).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { connect, type DatabaseTarget } from "../f/admin/lib/engine/connection.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { createFamilyBrainDatabase } from "./support/family-brain.ts";
import { dataFingerprint, mockWindmill } from "./support/judge.ts";

let secure: Cluster;
let plain: Cluster;
let dir: string;
let otherAuthority: string;

before(async () => {
  secure = await startCluster({ tls: true });
  plain = await startCluster();
  await secure.createDatabase("family_brain");
  const client = await secure.connect("family_brain");
  await createFamilyBrainDatabase(client);
  await client.end();
  dir = mkdtempSync(join(tmpdir(), "wpb-tls-"));
  const made = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
    "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "other.key"), "-out", join(dir, "other.crt")], { encoding: "utf8" });
  assert.equal(made.status, 0, made.stderr);
  otherAuthority = readFileSync(join(dir, "other.crt"), "utf8");
});

after(async () => {
  await secure?.stop();
  await plain?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const target = (cluster: Cluster, sslmode: DatabaseTarget["sslmode"], root?: string): DatabaseTarget =>
  ({ ...cluster.resource("postgres"), sslmode, ...(root === undefined ? {} : { root_certificate_pem: root }) }) as DatabaseTarget;

async function encrypted(database: DatabaseTarget): Promise<boolean> {
  const client = await connect(database, "windmill-pg-backup: tls test");
  try {
    const { rows } = await client.query<{ ssl: boolean }>("SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()");
    return rows[0]!.ssl;
  } finally {
    await client.end();
  }
}

test("require, verify-ca and verify-full connect encrypted; disable does not", async () => {
  assert.equal(await encrypted(target(secure, "require")), true);
  assert.equal(await encrypted(target(secure, "verify-ca", secure.certificatePem)), true);
  assert.equal(await encrypted(target(secure, "verify-full", secure.certificatePem)), true);
  assert.equal(await encrypted(target(secure, "prefer")), true);
  assert.equal(await encrypted(target(secure, "disable")), false);
});

test("a certificate from another authority is refused by verify-ca and verify-full, with the resource to fix", async () => {
  for (const mode of ["verify-ca", "verify-full"] as const) {
    await assert.rejects(encrypted(target(secure, mode, otherAuthority)), (error: Error) => {
      assert.match(error.message, /^Cannot connect to PostgreSQL database "postgres" at 127\.0\.0\.1:\d+ as postgres: .*certificate/i);
      assert.match(error.message, /Check the database resource \(host, port, user, password, sslmode\)/);
      assert.ok(!error.message.includes(secure.password));
      return true;
    });
  }
});

test("a server without TLS: prefer falls back to plain text, require is refused", async () => {
  assert.equal(await encrypted(target(plain, "prefer")), false);
  await assert.rejects(encrypted(target(plain, "require")), /does not support SSL/);
});

test("a backup and its restore over verify-full: the COPY streams through TLS and the database round-trips", async () => {
  const backupDir = join(dir, "backups");
  mockWindmill(dir, {
    "f/admin/database": { ...secure.resource("family_brain"), sslmode: "verify-full", root_certificate_pem: secure.certificatePem },
    "f/admin/backup_settings": { backup_dir: backupDir },
  });
  const original = await dataFingerprint(secure, "family_brain");
  const backup = (await backupDatabase("manual", false, false)) as { status: string; filename: string };
  assert.equal(backup.status, "success");
  await secure.query("family_brain", "DELETE FROM public.chat_messages WHERE id % 2 = 0");
  const restored = await restoreDatabase({ backup_filename: backup.filename, confirm_restore: true, create_pre_restore_backup: false });
  assert.equal(restored.verification.passed, true);
  assert.deepEqual(await dataFingerprint(secure, "family_brain"), original);

  // A wrong authority stops the backup before it writes anything.
  mockWindmill(dir, {
    "f/admin/database": { ...secure.resource("family_brain"), sslmode: "verify-full", root_certificate_pem: otherAuthority },
    "f/admin/backup_settings": { backup_dir: backupDir },
  });
  const files = readdirSync(backupDir).sort();
  await assert.rejects(backupDatabase("manual", false, false), /Cannot connect to PostgreSQL .*certificate/i);
  assert.deepEqual(existsSync(backupDir) ? readdirSync(backupDir).sort() : [], files);
});
