// Selective restores as a new user meets them: a partitioned table named by its own name, a child
// table whose parents stay, a preview that shows exactly what the same request would do (tables
// included, a changed row caught by its content digest), and a pg_dump file given without
// pg_dump_archive. Each against a real server.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { dataFingerprint, mockWindmill } from "./support/judge.ts";

const DB = "shop";
let cluster: Cluster;
let dir: string;

type Restored = Extract<Awaited<ReturnType<typeof restoreDatabase>>, { status: string }>;
type Preview = {
  render_all: [{ markdown: string }, { "table-row-object": [string[], ...Array<Record<string, unknown>>] }, {
    json: { scope: string; would_drop: unknown[]; would_refuse: string | null;
      sequences: Array<{ sequence: string; value_in_target: string | null; value_in_backup: string }>;
      tables: Array<{ table: string; content?: string | null; rows_in_target: number | null; rows_in_backup: number | null }> };
  }];
};
const restore = (name: string, a: { tables?: string[]; dryRun?: boolean; compareContent?: boolean; skipForeignKeyCheck?: boolean } = {}) =>
  restoreDatabase({ backup_filename: name, confirm_restore: true, create_pre_restore_backup: false, dry_run: a.dryRun ?? false,
    tables: a.tables ?? [], skip_foreign_key_check: a.skipForeignKeyCheck ?? false, compare_content: a.compareContent ?? false });
const backup = async () => ((await backupDatabase("manual", false, false, false)) as { filename: string }).filename;

before(async () => {
  cluster = await startCluster();
  await cluster.createDatabase(DB);
  await cluster.query(DB, `
    CREATE TABLE public.customers (id int PRIMARY KEY, name text);
    CREATE TABLE public.orders (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES public.customers (id), total numeric);
    CREATE TABLE public.events (id bigint GENERATED ALWAYS AS IDENTITY, at date NOT NULL, what text) PARTITION BY RANGE (at);
    CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE TABLE public.events_2025 PARTITION OF public.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    INSERT INTO public.customers SELECT i, 'c' || i FROM generate_series(1, 20) i;
    INSERT INTO public.orders (customer_id, total) SELECT 1 + i % 20, i * 1.5 FROM generate_series(1, 300) i;
    INSERT INTO public.events (at, what) SELECT DATE '2024-06-01' + i, 'e' || i FROM generate_series(1, 400) i;
  `);
  dir = mkdtempSync(join(tmpdir(), "wpb-selective-"));
  mockWindmill(dir, { "f/admin/database": cluster.resource(DB), "f/admin/backup_settings": { backup_dir: join(dir, "backups") } });
});

after(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("a partitioned table is restored by its own name (its partitions' rows), and its preview says so", async () => {
  const name = await backup();
  const original = await dataFingerprint(cluster, DB);
  await cluster.query(DB,
    "DELETE FROM public.events WHERE id % 3 = 0; INSERT INTO public.events (at, what) VALUES ('2025-03-01', 'after the backup')");
  const preview = (await restore(name, { tables: ["public.events"], dryRun: true })) as unknown as Preview;
  const json = preview.render_all[2].json;
  assert.equal(json.scope, "the rows of public.events_2024, public.events_2025");
  assert.deepEqual(json.sequences.map((s) => [s.sequence, s.value_in_backup]), [["public.events_id_seq", "400"]]);
  assert.deepEqual(json.sequences[0]!.value_in_target, "401");
  const result = (await restore(name, { tables: ["events"] })) as Restored;
  assert.deepEqual(result.verification.tables.map((t) => t.table), ["public.events_2024", "public.events_2025"]);
  assert.deepEqual(result.sequences_set, ["public.events_id_seq"]);
  assert.deepEqual(await dataFingerprint(cluster, DB), original);
});

test("a child table whose parents stay restores without a flag; a parent that others point at is refused, and the preview says it would be", async () => {
  const name = await backup();
  const original = await dataFingerprint(cluster, DB);
  await cluster.query(DB, "DELETE FROM public.orders WHERE id % 2 = 0");
  const result = (await restore(name, { tables: ["public.orders"] })) as Restored;
  assert.equal(result.verification.passed, true);
  assert.deepEqual(await dataFingerprint(cluster, DB), original);

  const preview = (await restore(name, { tables: ["public.customers"], dryRun: true })) as unknown as Preview;
  assert.match(String(preview.render_all[2].json.would_refuse),
    /foreign key\(s\) of tables left out point at their rows: public\.orders → public\.customers/);
  assert.match(preview.render_all[0].markdown, /The restore would refuse, changing nothing/);
  await assert.rejects(restore(name, { tables: ["public.customers"] }), /public\.orders → public\.customers/);
});

test("the preview of a selective restore shows that request, not a full restore; compare_content finds a changed row a count cannot", async () => {
  const name = await backup();
  await cluster.query(DB, "CREATE TABLE public.scratch (id int); UPDATE public.customers SET name = 'renamed' WHERE id = 7");
  try {
    const selective =
      (await restore(name, { tables: ["public.customers"], dryRun: true, compareContent: true,
        skipForeignKeyCheck: true })) as unknown as Preview;
    const json = selective.render_all[2].json;
    assert.deepEqual(json.would_drop, [], "a selective restore drops nothing");
    assert.doesNotMatch(selective.render_all[0].markdown, /Dropped for good/);
    assert.deepEqual(json.tables.map((t) => [t.table, t.rows_in_target, t.rows_in_backup, t.content]), [["public.customers", 20, 20,
      "differs"]]);
    assert.match(selective.render_all[0].markdown, /1 whose rows differ from the backup's \(content digest\): public\.customers/);
    assert.deepEqual(selective.render_all[1]["table-row-object"][0], ["table", "rows_in_target", "rows_in_backup", "difference", "content",
      "restore_will"]);

    const full = (await restore(name, { dryRun: true, compareContent: true })) as unknown as Preview;
    const content = Object.fromEntries(full.render_all[2].json.tables.map((t) => [t.table, t.content]));
    assert.deepEqual(content, { "public.customers": "differs", "public.events_2024": "same", "public.events_2025": "same",
      "public.orders": "same", "public.scratch": null });
    assert.match(full.render_all[0].markdown, /Dropped for good.*table public\.scratch/);
  } finally {
    await cluster.query(DB, "DROP TABLE public.scratch; UPDATE public.customers SET name = 'c7' WHERE id = 7");
  }
});

test("a pg_dump file given without pg_dump_archive is named as such, not as a missing backup", async () => {
  writeFileSync(join(dir, "backups", "nightly.sql.gz"), "--\n-- PostgreSQL database dump\n--\n");
  await assert.rejects(restore("nightly.sql.gz"),
    /nightly\.sql\.gz is in .*, but it is not a backup of this bundle .*If pg_dump made it, run again with pg_dump_archive: true/);
  await assert.rejects(restore("absent.sql.gz"), /No backup named "absent\.sql\.gz"/);
});
