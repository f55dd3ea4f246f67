// Encrypted, signed backups through the scripts, on a real PostgreSQL, a real S3 protocol server
// (s3rver) and the age command-line tool as the judge: round trips encrypted to an X25519 recipient
// and with a passphrase; age decrypts ours (`age -d | gunzip | psql`) and ours restores what age
// encrypted; a wrong or missing key fails before anything changes, naming the variable to set; and
// every tampering (a flipped byte, a cut file, chunks swapped, the manifest edited, archive and
// manifest rewritten together without the signing key, the signature dropped) is refused on every
// path (full, selective, in place, preview, list, verify_backup, from S3) with the database unchanged.
// No key, passphrase or secret ever shows in a result, an error, a manifest or a file name.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { run as backupDatabase } from "../f/admin/backup_database.ts";
import { run as listBackups } from "../f/admin/list_backups.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { run as verifyBackup } from "../f/admin/verify_backup.ts";
import { newSigningKeyPair } from "../f/admin/lib/crypto/signing.ts";
import { applyRetention } from "../f/admin/lib/operations/cleanup.ts";
import { pinBackup } from "../f/admin/lib/operations/pin.ts";
import { BackupSettings } from "../f/admin/lib/settings.ts";
import { LocalStorage } from "../f/admin/lib/storage/local.ts";
import { resealedText, resealManifest, rewriteMemberHonestly } from "./support/archive-edit.ts";
import { dataFingerprint } from "./support/judge.ts";
import { startS3Proxy, startS3Server, type S3Proxy, type S3Server } from "./support/s3.ts";
import { SAMPLE_DATABASE, startSample, type Sample } from "./support/sample.ts";

const hasAge = spawnSync("age", ["--version"]).status === 0;
const PREFIX = "enc/";
let sample: Sample;
let s3: S3Server;
let proxy: S3Proxy;
let client: S3Client;

/** The keys of this run: age identity and recipient, a passphrase, an Ed25519 pair, an HMAC secret. */
const identityFile = () => join(sample.dir, "age-identity.txt");
let identity: string;
let recipient: string;
const PASSPHRASE = "correct horse battery staple 5d1f0c";
const HMAC_SECRET = "hmac-secret-long-enough-to-sign-manifests-94ac";
const signing = newSigningKeyPair();
/** Every secret of the run: none may appear in a result, an error, a manifest or a name. */
const secrets = () => [identity, identity.slice(16, 40), PASSPHRASE, HMAC_SECRET, signing.privateKey];

const VARIABLES = () => ({
  "f/admin/backup_age_identity": readFileSync(identityFile(), "utf8"),
  "f/admin/backup_passphrase": PASSPHRASE,
  "f/admin/backup_signing_key": signing.privateKey,
  "f/admin/backup_hmac": HMAC_SECRET,
});

/** Point the mock at these settings, with the secret variables beside the resources. */
function configure(settings: Record<string, unknown>, variables: Record<string, string> = VARIABLES()): void {
  const file = sample.configure(settings, { "f/admin/s3_backup_config": proxy.resource({ prefix: PREFIX }) });
  const mock = JSON.parse(readFileSync(file, "utf8")) as { variables: Record<string, string> };
  mock.variables = variables;
  writeFileSync(file, JSON.stringify(mock, null, 2));
}

const X25519 = () => ({
  encryption: { recipients: [recipient], identities_variable: "f/admin/backup_age_identity" },
  signing: { private_key_variable: "f/admin/backup_signing_key", public_keys: [signing.publicKey] },
});
const SCRYPT = {
  encryption: { passphrase_variable: "f/admin/backup_passphrase" },
  signing: { hmac_secret_variable: "f/admin/backup_hmac" },
};

function assertNoSecrets(what: string, text: string): void {
  for (const secret of secrets()) assert.equal(text.includes(secret), false, `${what} holds key material`);
}

type Json = Record<string, any>;
const manifestOf = (name: string): Json => JSON.parse(readFileSync(join(sample.backupDir, manifestName(name)), "utf8")) as Json;
const manifestName = (name: string) => name.replace(/\.sql\.gz(\.age)?$/, ".manifest.json");

async function backup(upload = false): Promise<Json> {
  const result = (await backupDatabase({ backup_type: "manual", upload_to_s3: upload, cleanup_old: false })) as Json;
  assertNoSecrets("the backup's result", JSON.stringify(result));
  return result;
}

const restore = (name: string, extra: Json = {}) =>
  restoreDatabase({ backup_filename: name, confirm_restore: true, create_pre_restore_backup: false, ...extra }) as Promise<Json>;

/** Run `work`, which must fail: its error, checked for key material. */
async function refused(work: () => Promise<unknown>, pattern: RegExp): Promise<string> {
  let message = "";
  await assert.rejects(work, (error: Error) => {
    message = error.message;
    return true;
  });
  assertNoSecrets("an error", message);
  assert.match(message, pattern);
  return message;
}

before(async () => {
  sample = await startSample("encryption");
  s3 = await startS3Server();
  proxy = await startS3Proxy(s3);
  client = new S3Client({ region: "us-east-1", endpoint: s3.endpoint, forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  if (hasAge) {
    execFileSync("age-keygen", ["-o", identityFile()], { stdio: "pipe" });
  } else {
    // Without the age CLI the product still makes and opens files; the CLI judges where it exists.
    const { generateIdentity, identityToRecipient } = await import("age-encryption");
    const made = await generateIdentity();
    writeFileSync(identityFile(), `# created for this test\n# public key: ${await identityToRecipient(made)}\n${made}\n`);
  }
  identity = readFileSync(identityFile(), "utf8").split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-1"))!;
  const { identityToRecipient } = await import("age-encryption");
  recipient = await identityToRecipient(identity);
});

after(async () => {
  client?.destroy();
  await proxy?.stop();
  await s3?.stop();
  await sample?.stop();
});

const source = () => dataFingerprint(sample.cluster, SAMPLE_DATABASE);

describe("round trips", () => {
  test("X25519 and Ed25519: the archive is an age file only the identity opens, the manifest is signed, and every restore path brings the data back", async () => {
    configure(X25519());
    const expected = await source();
    const made = await backup();
    const name = made.filename as string;
    assert.match(name, /^family_brain_manual_\d{8}_\d{6}(_\d+)?\.sql\.gz\.age$/);
    assert.equal(made.encrypted, `age-x25519 (${recipient})`);
    assert.match(made.signed, /^ed25519 key sha256:[0-9a-f]{16}$/);
    const bytes = readFileSync(join(sample.backupDir, name));
    assert.equal(bytes.subarray(0, 22).toString("latin1"), "age-encryption.org/v1\n");
    // Nothing of the SQL is readable in the stored file.
    assert.equal(bytes.includes(Buffer.from("CREATE TABLE")), false);
    assert.throws(() => gunzipSync(bytes));
    const manifest = manifestOf(name);
    assert.equal(manifest.archive.name, name.replace(/\.age$/, ""));
    assert.deepEqual(manifest.archive.encryption.recipients, [recipient]);
    assert.equal(manifest.archive.encryption.method, "age-x25519");
    assert.equal(manifest.archive.encryption.file.size, bytes.length);
    assert.equal(manifest.signature.algorithm, "ed25519");
    assertNoSecrets("the manifest", JSON.stringify(manifest));
    assertNoSecrets("the file names", readdirSync(sample.backupDir).join("\n"));

    const target = "enc_x25519_full";
    const full = await restore(name, { target_database: target });
    assert.equal(full.encrypted, `age-x25519 (${recipient})`);
    assert.match(full.signature, /^valid \(ed25519 key sha256:/);
    assert.equal(full.verification.passed, true);
    assertNoSecrets("the restore's result", JSON.stringify(full));
    assert.deepEqual(await dataFingerprint(sample.cluster, target), expected);

    // Selective, in place: one table's rows, read from the encrypted chunks that hold them.
    await sample.cluster.query(target, "DELETE FROM family_documents");
    const selective = await restore(name, { target_database: target, tables: ["public.family_documents"] });
    assert.equal(selective.verification.passed, true);
    assert.deepEqual(await dataFingerprint(sample.cluster, target), expected);

    const preview = (await restore(name, { dry_run: true, target_database: target })) as Json;
    const details = preview.render_all[2].json;
    assert.match(details.signature, /^valid/);
    assert.equal(details.encryption, `age-x25519 (${recipient})`);

    const rows = (await listBackups({ verify_checksums: true })) as Json[];
    const row = rows.find((r) => r.name === name)!;
    assert.equal(row.encrypted, "age-x25519");
    assert.match(row.signature, /^valid \(ed25519/);
    assert.match(row.verified, /^yes: sha256 of the encrypted file matches manifest/);

    const verified = (await verifyBackup({ backup_filename: name, location: "local", restore: true })) as Json[];
    assert.equal(verified.length, 1);
    assert.equal(verified[0]!.ok, true, JSON.stringify(verified));
    assert.match(verified[0]!.archive, /decrypted with the configured key/);
    assert.match(verified[0]!.restore, /^yes: restored into a throwaway database/);
    const drills = await sample.cluster.query("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'drill_verify_%'");
    assert.deepEqual(drills.rows, [], "the throwaway database is dropped");
  });

  test("passphrase and HMAC: round trip, and the pre-restore backup is encrypted and signed the same way", async () => {
    configure(SCRYPT);
    const expected = await source();
    const name = (await backup()).filename as string;
    const manifest = manifestOf(name);
    assert.equal(manifest.archive.encryption.method, "age-scrypt");
    // scrypt at 2^16 (64 MiB), not age's default 2^18 (256 MiB, more than a worker's memory bound).
    assert.match(readFileSync(join(sample.backupDir, name), "latin1").slice(0, 200), /\n-> scrypt \S+ 16\n/);
    assert.deepEqual(manifest.archive.encryption.recipients, []);
    assert.equal(manifest.signature.algorithm, "hmac-sha256");
    const restored = await restore(name, { create_pre_restore_backup: true });
    assert.equal(restored.verification.passed, true);
    assert.match(restored.pre_restore_backup, /\.sql\.gz\.age$/);
    assert.equal(manifestOf(restored.pre_restore_backup).signature.algorithm, "hmac-sha256");
    assert.deepEqual(await source(), expected);
  });
});

describe("interop with the age command-line tool", { skip: !hasAge && "needs the age CLI (Debian package age)" }, () => {
  test("age -d | gunzip | psql restores our encrypted archive by hand", async (t) => {
    if (!sample.cluster.clientBin) return t.skip("needs psql");
    configure(X25519());
    const name = (await backup()).filename as string;
    await sample.cluster.createDatabase("enc_by_hand");
    const script = `age -d -i ${identityFile()} ${join(sample.backupDir, name)} | gunzip | ${
      join(sample.cluster.clientBin, "psql")
    } -X -q -1 -v ON_ERROR_STOP=1 -d enc_by_hand`;
    const out = spawnSync("bash", ["-o", "pipefail", "-c", script], { env: sample.cluster.libpqEnv(), encoding: "utf8" });
    assert.equal(out.status, 0, out.stderr);
    assert.deepEqual(await dataFingerprint(sample.cluster, "enc_by_hand"), await source());
  });

  test("a passphrase archive opens with age -d too", async () => {
    configure(SCRYPT);
    const name = (await backup()).filename as string;
    // age reads a passphrase from the terminal only: give it one through a pseudo-terminal (script(1)).
    const plain = join(sample.dir, "by-age.sql.gz");
    const out = spawnSync("script", ["-qec", `age -d -o ${plain} ${join(sample.backupDir, name)}`, "/dev/null"], {
      input: `${PASSPHRASE}\n`,
      encoding: "utf8",
    });
    assert.equal(out.status, 0, out.stdout);
    const manifest = manifestOf(name);
    const sql = readFileSync(plain);
    assert.equal(sql.length, manifest.archive.size);
    assert.match(gunzipSync(sql).toString("utf8"), /^-- windmill-pg-backup /);
  });

  test("what age encrypted, with a manifest that says so, restores (selectively too)", async () => {
    configure({});
    const expected = await source();
    const plainName = (await backup()).filename as string;
    assert.match(plainName, /\.sql\.gz$/);
    execFileSync("age", ["-r", recipient, "-o", join(sample.backupDir, `${plainName}.age`), join(sample.backupDir, plainName)]);
    const sealed = readFileSync(join(sample.backupDir, `${plainName}.age`));
    const { createHash } = await import("node:crypto");
    resealManifest(join(sample.backupDir, manifestName(plainName)), (m) => {
      m.archive.encryption = { method: "age-x25519", recipients: [recipient],
        file: { name: `${plainName}.age`, size: sealed.length, sha256: createHash("sha256").update(sealed).digest("hex") } };
    });
    rmSync(join(sample.backupDir, plainName));
    configure(X25519());
    // Made without our signing key: unsigned, so accepted only with require_signature: false.
    await refused(() => restore(`${plainName}.age`, { target_database: "enc_from_age" }), /is not signed, and signatures are required/);
    configure({ ...X25519(), signing: { public_keys: [signing.publicKey], require_signature: false } });
    const restored = await restore(`${plainName}.age`, { target_database: "enc_from_age" });
    assert.equal(restored.signature, "unsigned");
    assert.deepEqual(await dataFingerprint(sample.cluster, "enc_from_age"), expected);
    await sample.cluster.query("enc_from_age", "DELETE FROM chat_messages");
    await restore(`${plainName}.age`, { target_database: "enc_from_age", tables: ["public.chat_messages"] });
    assert.deepEqual(await dataFingerprint(sample.cluster, "enc_from_age"), expected);
  });
});

describe("keys", () => {
  test("a missing, wrong or unreadable key fails before anything changes, naming what to set", async () => {
    configure(X25519());
    const name = (await backup()).filename as string;
    const before = await source();
    const files = readdirSync(sample.backupDir).sort();
    const { generateIdentity } = await import("age-encryption");
    const other = await generateIdentity();

    configure({ ...X25519(), encryption: { recipients: [recipient] } });
    await refused(() => restore(name, { create_pre_restore_backup: true }), /set encryption\.identities_variable/);
    configure(X25519(), { ...VARIABLES(), "f/admin/backup_age_identity": `${other}\n` });
    const wrong = await refused(() => restore(name, { create_pre_restore_backup: true }),
      /encryption\.identities_variable \(f\/admin\/backup_age_identity\)\) does not open it/);
    assert.equal(wrong.includes(other), false);
    const { "f/admin/backup_age_identity": _, ...withoutIdentity } = VARIABLES();
    configure(X25519(), withoutIdentity);
    await refused(() => restore(name, { create_pre_restore_backup: true }),
      /Cannot read secret variable f\/admin\/backup_age_identity \(named by encryption\.identities_variable/);
    await refused(() => restore(name, { dry_run: true }), /f\/admin\/backup_age_identity/);
    assert.deepEqual(await source(), before);
    assert.deepEqual(readdirSync(sample.backupDir).sort(), files, "no pre-restore backup was written");

    // The worker that backs up needs only public keys: no identity variable at all.
    const { "f/admin/backup_signing_key": __, ...publicOnly } = withoutIdentity;
    configure({ encryption: { recipients: [recipient] } }, publicOnly);
    assert.match((await backup()).filename, /\.age$/);
    // A signing key that cannot be read fails the backup with nothing written.
    configure(X25519(), publicOnly);
    const count = readdirSync(sample.backupDir).length;
    await refused(() => backup(), /f\/admin\/backup_signing_key \(named by signing\.private_key_variable/);
    assert.equal(readdirSync(sample.backupDir).length, count);
  });
});

/**
 * The attacks, each applied to a fresh copy of one encrypted, signed backup (and put back after):
 * the attacker can write the backup directory and the bucket and knows the public recipient, but
 * holds neither the identity nor the signing key.
 */
describe("tampering is refused on every path", () => {
  let name: string;
  let archivePath: string;
  let manifestPath: string;
  let original: { archive: Buffer; manifest: string };
  let expected: Awaited<ReturnType<typeof source>>;

  before(async () => {
    configure(X25519());
    name = (await backup(true)).filename as string;
    archivePath = join(sample.backupDir, name);
    manifestPath = join(sample.backupDir, manifestName(name));
    original = { archive: readFileSync(archivePath), manifest: readFileSync(manifestPath, "utf8") };
    expected = await source();
  });

  const putBack = () => {
    writeFileSync(archivePath, original.archive);
    writeFileSync(manifestPath, original.manifest);
  };

  const CHUNK = 64 * 1024 + 16;
  /** Where the first sealed chunk starts: after the header and the 16-byte payload nonce. */
  const payloadStart = () => {
    const mac = original.archive.indexOf("\n--- ");
    return original.archive.indexOf("\n", mac + 1) + 1 + 16;
  };
  /** The byte of the encrypted file that holds the first byte of a table's rows (every path below reads that table). */
  const tableByte = () => {
    const start = (JSON.parse(original.manifest) as Json).tables.find((t: Json) => t.name === "family_documents").range.start as number;
    return payloadStart() + Math.floor(start / (64 * 1024)) * CHUNK + (start % (64 * 1024)) + 5;
  };

  /** A different database's backup, encrypted to the same public recipient (all an attacker needs). */
  async function attackersArchive(): Promise<{ archive: Buffer; manifest: Json }> {
    const evilDir = join(sample.dir, "evil");
    rmSync(evilDir, { recursive: true, force: true });
    const first = (await sample.cluster.query(SAMPLE_DATABASE, "SELECT id, notes FROM family_members ORDER BY id LIMIT 1")).rows[0];
    await sample.cluster.query(SAMPLE_DATABASE, "UPDATE family_members SET notes = 'mallory was here' WHERE id = $1", [first.id]);
    try {
      configure({ backup_dir: evilDir, create_backup_dir: true, encryption: { recipients: [recipient] } });
      const evilName = (await backup()).filename as string;
      return { archive: readFileSync(join(evilDir, evilName)),
        manifest: JSON.parse(readFileSync(join(evilDir, manifestName(evilName)), "utf8")) as Json };
    } finally {
      await sample.cluster.query(SAMPLE_DATABASE, "UPDATE family_members SET notes = $2 WHERE id = $1", [first.id, first.notes]);
      configure(X25519());
    }
  }

  const attacks: Array<{ title: string; apply: () => Promise<void> | void; refusal: RegExp }> = [
    {
      title: "a flipped byte in a table's encrypted chunk",
      apply: () => {
        const bytes = Buffer.from(original.archive);
        bytes[tableByte()]! ^= 0x01;
        writeFileSync(archivePath, bytes);
      },
      refusal: /does not match its manifest|does not authenticate|was changed/,
    },
    {
      title: "the file cut short",
      apply: () => writeFileSync(archivePath, original.archive.subarray(0, original.archive.length - 100)),
      refusal: /cannot be trusted|differs from the manifest|cut short|damaged/,
    },
    {
      title: "the chunk holding a table's rows swapped with its neighbour (same size)",
      apply: () => {
        const chunk = Math.floor((tableByte() - payloadStart()) / CHUNK);
        const first = Math.max(0, chunk === Math.floor((original.archive.length - payloadStart()) / CHUNK) ? chunk - 1 : chunk);
        const at = payloadStart() + first * CHUNK;
        assert.ok(original.archive.length >= at + 2 * CHUNK, "two whole chunks to swap");
        const bytes = Buffer.concat([original.archive.subarray(0, at), original.archive.subarray(at + CHUNK, at + 2 * CHUNK),
          original.archive.subarray(at, at + CHUNK), original.archive.subarray(at + 2 * CHUNK)]);
        writeFileSync(archivePath, bytes);
      },
      refusal: /does not match its manifest|does not authenticate|was changed/,
    },
    {
      title: "the manifest edited (a row count) and resealed",
      apply: () => {
        resealManifest(manifestPath, (m) => {
          m.tables[0].rows += 1;
        });
      },
      refusal: /does not carry a valid signature \(the signature does not match/,
    },
    {
      title: "archive and manifest rewritten together (another database, same recipient), the old signature kept",
      apply: async () => {
        const evil = await attackersArchive();
        writeFileSync(archivePath, evil.archive);
        writeFileSync(manifestPath, resealedText(JSON.stringify(evil.manifest), (m) => {
          m.archive.name = name.replace(/\.age$/, "");
          m.archive.encryption.file.name = name;
          m.signature = JSON.parse(original.manifest).signature;
        }));
      },
      refusal: /does not carry a valid signature/,
    },
    {
      title: "archive and manifest rewritten together, unsigned",
      apply: async () => {
        const evil = await attackersArchive();
        writeFileSync(archivePath, evil.archive);
        writeFileSync(manifestPath, resealedText(JSON.stringify(evil.manifest), (m) => {
          m.archive.name = name.replace(/\.age$/, "");
          m.archive.encryption.file.name = name;
        }));
      },
      refusal: /is not signed, and signatures are required/,
    },
  ];

  const paths: Array<{ title: string; run: () => Promise<unknown> }> = [
    { title: "full restore into another database", run: () => restore(name, { target_database: "enc_attacked" }) },
    { title: "in place, with a pre-restore backup", run: () => restore(name, { create_pre_restore_backup: true }) },
    { title: "selective", run: () => restore(name, { tables: ["public.family_documents"] }) },
    { title: "preview", run: () => restore(name, { dry_run: true }) },
    {
      title: "list_backups with verify_checksums",
      run: async () => {
        const row = ((await listBackups({ verify_checksums: true })) as Json[]).find((r) => r.name === name)!;
        throw new Error(`listed as verified: ${row.verified}`);
      },
    },
    { title: "verify_backup", run: () => verifyBackup({ backup_filename: name, location: "local" }) },
  ];

  for (const attack of attacks) {
    test(attack.title, async () => {
      try {
        await attack.apply();
        expected = await source();
        for (const path of paths) {
          const files = readdirSync(sample.backupDir).length;
          let message = "";
          await assert.rejects(path.run, (error: Error) => {
            message = error.message;
            return true;
          }, path.title);
          assertNoSecrets(path.title, message);
          if (path.title.startsWith("list_backups")) assert.match(message, /^listed as verified: no: /, path.title);
          else assert.match(message, attack.refusal, `${path.title}: ${message}`);
          assert.equal(readdirSync(sample.backupDir).length, files, `${path.title}: no file written`);
          assert.deepEqual(await source(), expected, `${path.title}: the database is unchanged`);
        }
        const exists = await sample.cluster.query("postgres", "SELECT 1 FROM pg_database WHERE datname = 'enc_attacked'");
        assert.equal(exists.rowCount, 0, "the target database a refused restore would have created is gone");
      } finally {
        putBack();
      }
    });
  }

  test("from S3: the same attacks on the bucket's copy are refused, full and selective; an untouched copy restores from ranged reads", async () => {
    const key = `${PREFIX}${name}`;
    const manifestKey = `${PREFIX}${manifestName(name)}`;
    const put = (k: string, body: Buffer | string) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: k, Body: body }));
    const get = async (k: string) =>
      Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: k }))).Body!.transformToByteArray());
    const stored = { archive: await get(key), manifest: (await get(manifestKey)).toString("utf8") };
    assert.deepEqual(stored.archive, original.archive);

    // Untouched: a selective restore fetches only the chunks that hold the table (and the header).
    await sample.cluster.createDatabase("enc_s3_target");
    await restore(name, { backup_source: "s3", target_database: "enc_s3_target" });
    assert.deepEqual(await dataFingerprint(sample.cluster, "enc_s3_target"), expected);
    proxy.requests.length = 0;
    await sample.cluster.query("enc_s3_target", "DELETE FROM chat_messages");
    await restore(name, { backup_source: "s3", target_database: "enc_s3_target", tables: ["public.chat_messages"] });
    assert.deepEqual(await dataFingerprint(sample.cluster, "enc_s3_target"), expected);
    const ranges = proxy.requests.filter((r) => r.method === "GET" && r.url.includes(encodeURIComponent(name).replace(/%2F/g, "/")))
      .map((r) => r.headers.range);
    assert.ok(ranges.length > 0 && ranges.every((r) => typeof r === "string" && r.startsWith("bytes=")), `ranged reads: ${ranges}`);
    const fetched = ranges.reduce((sum, r) => {
      const [from, to] = (r as string).slice("bytes=".length).split("-").map(Number);
      return sum + (to! - from! + 1);
    }, 0);
    assert.ok(fetched < original.archive.length / 2, `a selective restore fetched ${fetched} of ${original.archive.length} bytes`);

    const flipped = Buffer.from(stored.archive);
    flipped[tableByte()]! ^= 0x01;
    const edited = resealedText(stored.manifest, (m) => {
      m.tables[0].rows += 1;
    });
    const cases: Array<[string, Buffer, string, RegExp]> = [
      ["a flipped byte", flipped, stored.manifest, /does not authenticate|was changed|does not match/],
      ["the manifest edited", stored.archive, edited, /does not carry a valid signature/],
    ];
    try {
      for (const [title, archive, manifest, refusal] of cases) {
        await put(key, archive);
        await put(manifestKey, manifest);
        for (const extra of [{}, { tables: ["public.family_documents"] }, { dry_run: true }]) {
          await refused(() => restore(name, { backup_source: "s3", ...extra }), refusal).catch((error: Error) => {
            throw new Error(`${title} ${JSON.stringify(extra)}: ${error.message}`);
          });
          assert.deepEqual(await source(), expected, `${title}: the database is unchanged`);
        }
        const rows = (await verifyBackup({ backup_filename: name, location: "s3" }).catch((e: { rows?: Json[] }) => e.rows)) as Json[];
        assert.equal(rows[0]!.ok, false, title);
      }
    } finally {
      await put(key, stored.archive);
      await put(manifestKey, stored.manifest);
    }
  });
});

test("verify_backup of everything fails the job naming the bad copy, and carries every row", async () => {
  configure(X25519());
  const good = (await backup()).filename as string;
  const bad = (await backup()).filename as string;
  const badPath = join(sample.backupDir, bad);
  copyFileSync(badPath, `${badPath}.saved`);
  try {
    const bytes = readFileSync(badPath);
    bytes[bytes.length - 10]! ^= 0x01;
    writeFileSync(badPath, bytes);
    let rows: Json[] = [];
    await assert.rejects(() => verifyBackup({ location: "local" }), (error: Error & { rows: Json[] }) => {
      rows = error.rows;
      assert.match(error.message, new RegExp(`${bad.replace(/\./g, "\\.")} \\(local\\): no: `));
      assertNoSecrets("verify_backup's error", error.message + JSON.stringify(error.rows));
      return true;
    });
    assert.equal(rows.find((r) => r.backup === good)!.ok, true, JSON.stringify(rows.find((r) => r.backup === good)));
    assert.equal(rows.find((r) => r.backup === bad)!.ok, false);
  } finally {
    copyFileSync(`${badPath}.saved`, badPath);
    rmSync(`${badPath}.saved`);
  }
});

test("signed, not encrypted: a member rewritten with the manifest made to match (the attack an unsigned archive cannot stop) is refused", async () => {
  configure({ signing: X25519().signing });
  const name = (await backup()).filename as string;
  assert.match(name, /\.sql\.gz$/);
  const archivePath = join(sample.backupDir, name);
  const manifestPath = join(sample.backupDir, manifestName(name));
  const saved = { archive: readFileSync(archivePath), manifest: readFileSync(manifestPath, "utf8") };
  const before = await source();
  try {
    rewriteMemberHonestly(archivePath, manifestPath, (m) => m.sections.post_data, (old) => `${old}\nCREATE ROLE wpb_intruder SUPERUSER;\n`);
    for (const extra of [{}, { target_database: "enc_signed_attacked" }, { dry_run: true }]) {
      await refused(() => restore(name, extra), /does not carry a valid signature/);
    }
    resealManifest(manifestPath, (m) => delete m.signature);
    await refused(() => restore(name), /is not signed, and signatures are required/);
    const intruder = await sample.cluster.query("postgres", "SELECT 1 FROM pg_roles WHERE rolname = 'wpb_intruder'");
    assert.equal(intruder.rowCount, 0, "the injected statement never ran");
    assert.deepEqual(await source(), before);
  } finally {
    writeFileSync(archivePath, saved.archive);
    writeFileSync(manifestPath, saved.manifest);
  }
});

test("retention and pins treat an encrypted backup as any other: the .age and its manifest go together, a pin keeps one", async () => {
  const dir = join(sample.dir, "retained");
  rmSync(dir, { recursive: true, force: true });
  configure({ ...X25519(), backup_dir: dir, create_backup_dir: true });
  const names = [];
  for (let i = 0; i < 3; i += 1) names.push((await backup()).filename as string);
  const storage = new LocalStorage(dir, { access: "write" });
  assert.equal(await pinBackup(storage, names[0]!, "keep", new Date()), "pinned");
  const settings = BackupSettings.parse({ backup_dir: dir, ...X25519() });
  const later = new Date(Date.now() + 40 * 86_400_000);
  const outcome = await applyRetention(storage, settings, SAMPLE_DATABASE, later, true);
  assert.deepEqual(outcome.deleted.sort(), [names[1]!], "the pinned and the newest stay");
  assert.deepEqual(readdirSync(dir).sort(),
    [manifestName(names[0]!), manifestName(names[2]!), names[0]!, names[2]!, names[0]!.replace(/\.sql\.gz\.age$/, ".pin")].sort());
});
