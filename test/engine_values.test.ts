// Values that break naive dumps: rows bigger than any buffer, every awkward character, special
// numbers and times, empty tables and a table without columns. The archive restores the same
// through our restore and through plain `gunzip -c | psql`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { dataFingerprint, mockWindmill, schemaText } from "./support/judge.ts";

let cluster: Cluster;
let dir: string;
let archive: string;

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase("values");
  await cluster.query("values", `
    CREATE TABLE public.big (id int PRIMARY KEY, blob bytea, body text);
    -- 24 MB of bytea (48 MB as COPY text) and 3 MB of text full of escapes, in single rows.
    INSERT INTO public.big SELECT 1, decode(repeat(md5('x'), 786432), 'hex'), NULL;
    INSERT INTO public.big SELECT 2, NULL, repeat(E'line\\n\\ttab \\\\ back\\r\\n日本 🎉 \\\\.\\n', 100000);
    CREATE TABLE public.odd (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      n numeric, f float8, r real, t timestamptz, d date, i interval, j jsonb, a real[], tags text[], u uuid, b boolean, e text);
    INSERT INTO public.odd (n, f, r, t, d, i, j, a, tags, u, b, e) VALUES
      ('NaN', 'Infinity', '-Infinity', 'infinity', '-infinity', '-1 year 2 mons -3 days 04:05:06.789', '{"k": [1, "two", null, {"x": "\\u00e9\\n"}]}',
       '{0.1, 3.4028235e38, 1.17549435e-38, -0}', '{"a,b", "quote\\"d", NULL, ""}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', true, ''),
      (123456789012345678901234567890.123456789, 0.1, 0.1, '2024-03-10 02:30:00-05', '2024-02-29', '0', 'null', '{}', '{}', NULL, NULL, NULL),
      (NULL, 5e-324, 1e-45, '1970-01-01 00:00:00+00', '0001-01-01 BC', '178000000 years', '[]', NULL, '{"\\\\N", "\\\\."}', NULL, false, E'\\\\N');
    CREATE TABLE public.empty_table (id int);
    CREATE TABLE public.no_columns ();
    INSERT INTO public.no_columns DEFAULT VALUES; INSERT INTO public.no_columns DEFAULT VALUES;`);
  dir = mkdtempSync(join(tmpdir(), "wpb-values-"));
  mockWindmill(dir, { "f/admin/database": cluster.resource("values"), "f/admin/backup_settings": { backup_dir: join(dir, "backups") } });
  const result = (await backupDatabase("manual", false, false, false)) as { filename: string; table_details: Record<string, number> };
  assert.deepEqual(result.table_details, { big: 2, odd: 3, empty_table: 0, no_columns: 2 });
  archive = join(dir, "backups", result.filename);
});

after(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("huge rows and awkward values round-trip through restore_database", async () => {
  const result = await restoreDatabase({ backup_filename: archive.split("/").pop()!, confirm_restore: true,
    target_database: "values_restored" });
  assert.equal(result.verification.passed, true);
  assert.deepEqual(await dataFingerprint(cluster, "values_restored"), await dataFingerprint(cluster, "values"));
  const identity = await cluster.query("values_restored", "INSERT INTO public.odd DEFAULT VALUES RETURNING id");
  assert.equal(identity.rows[0].id, "4", "the identity sequence continues where it was");
});

test("the archive restores the same with plain gunzip -c | psql -1 -v ON_ERROR_STOP=1", async (t) => {
  if (!cluster.clientBin) return t.skip("no psql of the server's major version on this machine");
  await cluster.createDatabase("values_psql");
  const sql = spawnSync("gunzip", ["-c", archive], { maxBuffer: 512 * 1024 * 1024 });
  assert.equal(sql.status, 0);
  const psql = spawnSync(join(cluster.clientBin, "psql"), ["-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-d", "values_psql"], {
    input: sql.stdout,
    env: cluster.libpqEnv(),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  assert.equal(psql.status, 0, psql.stderr);
  assert.deepEqual(await dataFingerprint(cluster, "values_psql"), await dataFingerprint(cluster, "values"));
  assert.equal(schemaText(cluster, "values_psql"), schemaText(cluster, "values"));
});

test("the manifest's byte ranges cut the archive into gzip members that stand alone", async () => {
  const manifest = JSON.parse(readFileSync(archive.replace(/\.sql\.gz$/, ".manifest.json"), "utf8"));
  const bytes = readFileSync(archive);
  const { gunzipSync } = await import("node:zlib");
  const big = manifest.tables.find((t: { name: string }) => t.name === "big");
  const member = gunzipSync(bytes.subarray(big.range.start, big.range.end)).toString("latin1");
  assert.match(member, /^\n-- Data for "public"."big"\n\nCOPY "public"."big" \("id", "blob", "body"\) FROM stdin;\n/);
  assert.ok(member.endsWith("\\.\n\n"));
  assert.equal(big.bytes, Buffer.byteLength(member.slice(member.indexOf("FROM stdin;\n") + 12, -4), "latin1"));
  const ranges = [manifest.sections.pre_data, ...manifest.tables.map((t: { range: unknown }) => t.range), manifest.sections.sequences,
    manifest.sections.post_data];
  assert.equal(ranges[0].start, 0);
  for (let i = 1; i < ranges.length; i++) assert.equal(ranges[i].start, ranges[i - 1].end, "members are contiguous");
  assert.equal(ranges.at(-1).end, bytes.length);
});
