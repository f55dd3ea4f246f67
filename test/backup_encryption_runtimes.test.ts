// Encrypted, signed backups as the runtimes run them: under Windmill's Bun worker (the cached bundle,
// the real windmill-client reading the keys from secret variables through the API stand-in), and
// under Node and Deno through the local runner; each key kind makes a round trip, and no key shows in
// a result or a log.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateIdentity, identityToRecipient } from "age-encryption";
import { newSigningKeyPair } from "../f/admin/lib/crypto/signing.ts";
import { runScriptJob, type JobOutcome } from "./support/bun-worker.ts";
import { runFlow } from "./support/flow-runner.ts";
import { dataFingerprint } from "./support/judge.ts";
import { SAMPLE_DATABASE, startSample, type Sample } from "./support/sample.ts";
import type { WindmillApi } from "./support/windmill-api.ts";
import { startWindmill } from "./support/windmill.ts";

let sample: Sample;
let api: WindmillApi;
let identity: string;
let recipient: string;
const PASSPHRASE = "a long passphrase for the runtimes 8e1b";
const signing = newSigningKeyPair();
const HMAC = "an hmac secret long enough for manifests 3f0a";
const secrets = () => [identity, PASSPHRASE, signing.privateKey, HMAC];

const KINDS = {
  x25519: () => ({
    encryption: { recipients: [recipient], identities_variable: "f/admin/backup_age_identity" },
    signing: { private_key_variable: "f/admin/backup_signing_key", public_keys: [signing.publicKey] },
  }),
  passphrase: () => ({
    encryption: { passphrase_variable: "f/admin/backup_passphrase" },
    signing: { hmac_secret_variable: "f/admin/backup_hmac" },
  }),
};
const VARIABLES = () => ({
  "f/admin/backup_age_identity": `# created: for the test\n${identity}\n`,
  "f/admin/backup_passphrase": PASSPHRASE,
  "f/admin/backup_signing_key": signing.privateKey,
  "f/admin/backup_hmac": HMAC,
});

before(async () => {
  sample = await startSample("encryption-runtimes");
  identity = await generateIdentity();
  recipient = await identityToRecipient(identity);
});

after(async () => {
  await api?.stop();
  await sample?.stop();
});

function assertNoSecrets(what: string, text: string): void {
  for (const secret of secrets()) assert.equal(text.includes(secret), false, `${what} holds key material`);
}

function succeeded(outcome: JobOutcome): Record<string, any> {
  assertNoSecrets("a job's log", outcome.logs);
  assert.ok(outcome.success, `the job failed: ${JSON.stringify(outcome.success ? "" : outcome.error)}\n${outcome.logs.slice(-3000)}`);
  assertNoSecrets("a job's result", JSON.stringify(outcome.result));
  return outcome.result as Record<string, any>;
}

for (const kind of ["x25519", "passphrase"] as const) {
  test(`Bun worker, ${kind}: backup, list, verify_backup and restore, the keys read from secret variables by windmill-client`, async () => {
    await api?.stop();
    api = await startWindmill(sample, KINDS[kind]());
    for (const [path, value] of Object.entries(VARIABLES())) api.variables.set(path, value);
    const made = succeeded(await runScriptJob(api, { path: "f/admin/backup_database", args: { backup_type: "manual" } }));
    assert.match(made.filename, /\.sql\.gz\.age$/);
    assert.equal(made.encrypted.split(" ")[0], kind === "x25519" ? "age-x25519" : "age-scrypt");
    const listed = succeeded(
      await runScriptJob(api, { path: "f/admin/list_backups", args: { verify_checksums: true } }),
    ) as unknown as Record<string, string>[];
    const row = listed.find((r) => r.name === made.filename)!;
    assert.match(row.signature!, /^valid/);
    assert.match(row.verified!, /^yes/);
    const verified = succeeded(await runScriptJob(api, { path: "f/admin/verify_backup", args: { backup_filename: made.filename } }));
    assert.equal((verified as unknown as Array<{ ok: boolean }>)[0]!.ok, true);
    const target = `bun_${kind}`;
    const restored = succeeded(await runScriptJob(api, {
      path: "f/admin/restore_database",
      args: { backup_filename: made.filename, confirm_restore: true, create_pre_restore_backup: false, target_database: target },
    }));
    assert.equal(restored.verification.passed, true);
    assert.match(restored.signature, /^valid/);
    assert.deepEqual(await dataFingerprint(sample.cluster, target), await dataFingerprint(sample.cluster, SAMPLE_DATABASE));
    const variablesRead = api.requests.filter((r) => r.path.includes("/variables/get_value/")).map((r) => r.path.split("/get_value/")[1]);
    assert.ok(variablesRead.length > 0, "the keys came through the API");

    // A wrong identity: the job fails naming the variable, and nothing is restored.
    if (kind === "x25519") {
      api.variables.set("f/admin/backup_age_identity", await generateIdentity());
      const wrong = await runScriptJob(api, {
        path: "f/admin/restore_database",
        args: { backup_filename: made.filename, confirm_restore: true, target_database: `${target}_wrong` },
      });
      assert.equal(wrong.success, false);
      assert.match(wrong.success ? "" : wrong.error.message, /encryption\.identities_variable \(f\/admin\/backup_age_identity\)/);
      assertNoSecrets("the failed job's log", wrong.logs);
    }
  });
}

for (const runtime of ["node", "deno"]) {
  test(`${runtime}: encrypted, signed backup and restore through the local runner`, async () => {
    const file = sample.configure(KINDS.x25519());
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), variables: VARIABLES() }));
    const run = (script: string, args: unknown) => {
      const out = spawnSync(process.execPath, ["--import", "tsx", "tools/wm.ts", "--runtime", runtime, script, JSON.stringify(args)], {
        encoding: "utf8",
        env: { ...process.env, WM_MOCKED_API_FILE: file },
        timeout: 300_000,
      });
      assertNoSecrets(`${runtime} ${script}'s output`, out.stdout + out.stderr);
      assert.equal(out.status, 0, `${runtime} ${script} failed: ${out.stderr.slice(-2000)}`);
      return JSON.parse(out.stdout) as Record<string, any>;
    };
    const made = run("f/admin/backup_database", { backup_type: "manual" });
    assert.match(made.filename, /\.sql\.gz\.age$/);
    const target = `${runtime}_x25519`;
    const restored = run("f/admin/restore_database", { backup_filename: made.filename, confirm_restore: true,
      create_pre_restore_backup: false, target_database: target });
    assert.match(restored.signature, /^valid \(ed25519/);
    assert.deepEqual(await dataFingerprint(sample.cluster, target), await dataFingerprint(sample.cluster, SAMPLE_DATABASE));
    // The age CLI agrees with what this runtime wrote.
    if (spawnSync("age", ["--version"]).status === 0) {
      const keyFile = join(sample.dir, "identity.txt");
      writeFileSync(keyFile, `${identity}\n`);
      const plain = execFileSync("age", ["-d", "-i", keyFile, join(sample.backupDir, made.filename)]);
      assert.equal(plain.length,
        JSON.parse(readFileSync(join(sample.backupDir, made.filename.replace(/\.sql\.gz\.age$/, ".manifest.json")), "utf8")).archive.size);
    }
  });
}

test("the backup drill on an encrypted, signed backup: restored into a throwaway database, verified, dropped", async () => {
  await api?.stop();
  api = await startWindmill(sample, KINDS.x25519());
  for (const [path, value] of Object.entries(VARIABLES())) api.variables.set(path, value);
  const made = succeeded(await runScriptJob(api, { path: "f/admin/backup_database", args: { backup_type: "daily" } }));
  const run = await runFlow(api, "f/admin/backup_drill", { include_s3: false });
  assert.equal(run.error, undefined, JSON.stringify(run.error));
  const restore = run.results.restore as { restored_from: string; verification: { passed: boolean }; signature: string };
  assert.equal(restore.restored_from, made.filename);
  assert.equal(restore.verification.passed, true);
  assert.match(restore.signature, /^valid \(ed25519/);
  assert.equal((run.results.finish as { status: string }).status, "passed");
  const left = await sample.cluster.query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'drill\\_%'");
  assert.deepEqual(left.rows, []);
  assertNoSecrets("the drill's results", JSON.stringify(run.results));
});
