// Memory of a backup stays bounded whatever the data: a 500 MB bytea (a 1 GB line of COPY text, one
// protocol message) and a table of 10 million rows, each backed up through the local runner under
// Bun (Windmill's runtime) and Node, from a bundle as a worker runs it, the peak resident memory the
// script's process's (measure.ts); the 500 MB row encrypted too (age, with a passphrase under Bun, to
// an X25519 recipient under Node) and signed. Slow (a few minutes): `npm run
// test:memory`, its own step in CI. Before rows were streamed piece by piece, the 500 MB row took 2.1 GB.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, statSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { generateIdentity, identityToRecipient } from "age-encryption";
import { newSigningKeyPair } from "../../f/admin/lib/crypto/signing.ts";
import { startCluster, type Cluster } from "../support/cluster.ts";
import { startS3Server, type S3Server } from "../support/s3.ts";
import { mockWindmill } from "../support/judge.ts";
import { type Measured, measuredRun, PEAK_LIMIT_MB } from "./measure.ts";

const BLOB_BYTES = 500_000_000;
const ROWS = 10_000_000;

let cluster: Cluster;
let dir: string;
let s3: S3Server | undefined;

before(async () => {
  cluster = await startCluster();
  dir = mkdtempSync(join(tmpdir(), "wpb-memory-"));
  await cluster.createDatabase("blob");
  await cluster.query("blob", `CREATE TABLE public.big_blob (id int PRIMARY KEY, data bytea);
    INSERT INTO public.big_blob SELECT 1, convert_to(repeat('x', ${BLOB_BYTES}), 'UTF8')`);
  await cluster.createDatabase("rows");
  await cluster.query("rows", `CREATE TABLE public.events (id bigint, at timestamptz, kind int, note text);
    INSERT INTO public.events SELECT g, timestamptz '2025-01-01' + g * interval '1 second', g % 17, 'event ' || g FROM generate_series(1, ${ROWS}) g`);
});

after(async () => {
  await s3?.stop();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Result = { status: string; filename: string; total_rows: number };

/** Settings and secret variables that encrypt and sign backups. */
interface Sealed {
  label: string;
  settings: Record<string, unknown>;
  variables: Record<string, string>;
}

/** A manual backup of `dbname` through the local runner under `runtime`, with its peak resident memory. */
function measuredBackup(runtime: "bun" | "node", dbname: string, sealed?: Sealed): { peakMb: number; result: Result } {
  const backupDir = join(dir, `${dbname}-${runtime}${sealed ? `-${sealed.label}` : ""}`);
  const mock = mockWindmill(dir, { "f/admin/database": cluster.resource(dbname),
    "f/admin/backup_settings": { backup_dir: backupDir, ...sealed?.settings } });
  if (sealed) writeFileSync(mock, JSON.stringify({ ...JSON.parse(readFileSync(mock, "utf8")), variables: sealed.variables }));
  const measured: Measured = measuredRun(runtime, "f/admin/backup_database", { backup_type: "manual", cleanup_old: false }, mock);
  console.log(`${runtime}, ${dbname}${sealed ? ` (${sealed.label})` : ""}: peak ${measured.peakMb} MB`);
  return { peakMb: measured.peakMb, result: measured.result as unknown as Result };
}

const manifestOf = (runtime: string, dbname: string, filename: string) =>
  JSON.parse(readFileSync(join(dir, `${dbname}-${runtime}`, filename.replace(/\.sql\.gz$/, ".manifest.json")), "utf8")) as {
    tables: { name: string; rows: number; bytes: number; digest: string }[];
  };

for (const runtime of ["bun", "node"] as const) {
  test(`${runtime}: a 500 MB bytea row is backed up within ${PEAK_LIMIT_MB} MB, and whole`, { timeout: 600_000 }, () => {
    const { peakMb, result } = measuredBackup(runtime, "blob");
    assert.equal(result.status, "success");
    assert.ok(peakMb < PEAK_LIMIT_MB, `peak ${peakMb} MB`);
    // One row: its digest is the sha256 of its COPY line, `1<TAB>\\x` and the hex of the bytes.
    const line = createHash("sha256").update("1\t\\\\x");
    const hex = Buffer.from("78".repeat(1_000_000));
    for (let i = 0; i < BLOB_BYTES / 1_000_000; i++) line.update(hex);
    const table = manifestOf(runtime, "blob", result.filename).tables.find((t) => t.name === "big_blob")!;
    assert.equal(table.rows, 1);
    assert.equal(table.bytes, 2 * BLOB_BYTES + 6);
    assert.equal(table.digest, line.digest("hex"));
  });
}

test(`bun: a table of 10 million rows is backed up within ${PEAK_LIMIT_MB} MB`, { timeout: 600_000 }, () => {
  const { peakMb, result } = measuredBackup("bun", "rows");
  assert.equal(result.status, "success");
  assert.equal(result.total_rows, ROWS);
  assert.ok(peakMb < PEAK_LIMIT_MB, `peak ${peakMb} MB`);
});

for (const [runtime, kind] of [["bun", "passphrase"], ["node", "x25519"]] as const) {
  test(`${runtime}: the 500 MB row encrypted (${kind}) and signed, within ${PEAK_LIMIT_MB} MB`, { timeout: 600_000 }, async () => {
    const signing = newSigningKeyPair();
    const sealed: Sealed = {
      label: kind,
      settings: {
        encryption: kind === "passphrase"
          ? { passphrase_variable: "f/admin/passphrase" }
          : { recipients: [await identityToRecipient(await generateIdentity())] },
        signing: { private_key_variable: "f/admin/signing_key" },
      },
      variables: { "f/admin/passphrase": "a long random passphrase 1f7c2a", "f/admin/signing_key": signing.privateKey },
    };
    const { peakMb, result } = measuredBackup(runtime, "blob", sealed);
    assert.equal(result.status, "success");
    assert.match(result.filename, /\.sql\.gz\.age$/);
    assert.ok(peakMb < PEAK_LIMIT_MB, `peak ${peakMb} MB`);
  });
}

test(`bun: the 10 million rows streamed to S3 with no local copy (local_copy: false), within ${PEAK_LIMIT_MB} MB`, {
  timeout: 600_000,
}, async () => {
  s3 = await startS3Server();
  const mock = mockWindmill(dir, {
    "f/admin/database": cluster.resource("rows"),
    "f/admin/backup_settings": { backup_dir: join(dir, "rows-s3-only"), local_copy: false },
    "f/admin/s3_backup_config": s3.resource({ prefix: "memory" }),
  });
  const { peakMb, result } = measuredRun("bun", "f/admin/backup_database", { backup_type: "manual", cleanup_old: false }, mock);
  console.log(`bun, rows streamed to S3: peak ${peakMb} MB`);
  assert.equal(result.status, "success");
  assert.equal(result.total_rows, ROWS);
  // Several growing parts went by (8 MiB first): the archive is far larger than one part.
  const archive = statSync(s3.objectPath(`memory/${result.filename as string}`)).size;
  assert.ok(archive > 3 * 8 * 1024 * 1024, `the archive is ${archive} bytes`);
  assert.ok(peakMb < PEAK_LIMIT_MB, `peak ${peakMb} MB`);
});
