// Manifest signatures, judged by OpenSSL where it can judge (Ed25519, RFC 8032/8410): keys OpenSSL
// makes load here, signatures made here verify with `openssl pkeyutl`; any change to a signed
// manifest, a key we do not hold, a short HMAC secret, a key of another type are refused.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { checkSignature, ed25519PrivateKey, ed25519PublicKey, hmacSecret, newSigningKeyPair, signedBytes,
  signManifest } from "../f/admin/lib/crypto/signing.ts";

const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;
let dir: string;
const manifest = () => ({ format: "windmill-pg-backup.manifest", tables: [{ name: 't\n"x', rows: 3 }],
  archive: { sha256: "ab".repeat(32) } });

before(() => {
  dir = mkdtempSync(join(tmpdir(), "wpb-sign-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("Ed25519: a new pair signs and verifies; any change, another key, a foreign key id are refused", () => {
  const pair = newSigningKeyPair();
  const signing = ed25519PrivateKey(pair.privateKey);
  const verifying = ed25519PublicKey(pair.publicKey);
  assert.equal(signing.keyId, pair.keyId);
  assert.equal(verifying.keyId, pair.keyId);
  const m = manifest();
  const signature = signManifest(m, signing);
  assert.equal(signature.algorithm, "ed25519");
  assert.equal(checkSignature({ ...m, signature }, signature, [verifying]), "valid", "the signature field itself is not signed");
  const changed = manifest();
  changed.tables[0]!.rows = 4;
  assert.match(checkSignature(changed, signature, [verifying]), /does not match: the manifest was changed/);
  const other = ed25519PublicKey(newSigningKeyPair().publicKey);
  assert.match(checkSignature(m, signature, [other]), /not among the verification keys configured/);
  assert.match(checkSignature(m, { ...signature, key_id: other.keyId }, [other]), /does not match/);
  assert.ok(!JSON.stringify(signature).includes(pair.privateKey), "a signature never carries the key");
});

test("keys OpenSSL makes load here, and our signatures verify with openssl pkeyutl", (t) => {
  if (!hasOpenssl) return t.skip("no openssl");
  const keyPem = join(dir, "key.pem");
  const pubPem = join(dir, "pub.pem");
  assert.equal(spawnSync("openssl", ["genpkey", "-algorithm", "ed25519", "-out", keyPem]).status, 0);
  assert.equal(spawnSync("openssl", ["pkey", "-in", keyPem, "-pubout", "-out", pubPem]).status, 0);
  const signing = ed25519PrivateKey(readFileSync(keyPem, "utf8"));
  const verifying = ed25519PublicKey(readFileSync(pubPem, "utf8"));
  assert.equal(signing.keyId, verifying.keyId);
  const m = manifest();
  const signature = signManifest(m, signing);
  writeFileSync(join(dir, "data"), signedBytes(m));
  writeFileSync(join(dir, "sig"), Buffer.from(signature.value, "base64"));
  const ok = spawnSync("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", pubPem, "-rawin", "-in", join(dir, "data"), "-sigfile",
    join(dir, "sig")], { encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /Signature Verified Successfully/);
  writeFileSync(join(dir, "data"), Buffer.concat([signedBytes(m), Buffer.from(" ")]));
  assert.notEqual(
    spawnSync("openssl", ["pkeyutl", "-verify", "-pubin", "-inkey", pubPem, "-rawin", "-in", join(dir, "data"), "-sigfile",
      join(dir, "sig")]).status,
    0,
  );
  // An RSA key is refused by name.
  const rsa = join(dir, "rsa.pem");
  assert.equal(spawnSync("openssl", ["genpkey", "-algorithm", "rsa", "-pkeyopt", "rsa_keygen_bits:1024", "-out", rsa]).status, 0);
  assert.throws(() => ed25519PrivateKey(readFileSync(rsa, "utf8")), /is a rsa key, not Ed25519/);
});

test("HMAC-SHA-256: a long secret signs and verifies; a short one is refused; another secret does not verify", () => {
  assert.throws(() => hmacSecret("short"), /at least 32 characters/);
  const key = hmacSecret("a".repeat(40));
  const m = manifest();
  const signature = signManifest(m, key);
  assert.equal(checkSignature(m, signature, [key]), "valid");
  const other = hmacSecret("b".repeat(40));
  assert.match(checkSignature(m, signature, [other]), /not among the verification keys/);
  assert.match(checkSignature(m, { ...signature, value: Buffer.alloc(32).toString("base64") }, [key]), /does not match/);
  assert.throws(() => ed25519PrivateKey("not a key"), /not an Ed25519 private key/);
});
