// Fault: PostgreSQL restarts (or the network drops the connection) in the middle of a backup. The
// job fails with a sentence that says the server closed the connection and during which table;
// nothing is kept (no archive, no manifest, no temp file); the next run works.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { startPgProxy, type PgProxy } from "./support/pg-proxy.ts";
import { SAMPLE_DATABASE, startSample, type Sample } from "./support/sample.ts";

let sample: Sample;
let proxy: PgProxy;

before(async () => {
  // About 40 MB of COPY text: more than the socket buffers between the server and the proxy hold, so
  // the server is surely still sending this table when it is stopped.
  sample = await startSample("fault-restart", {
    extraSql:
      "CREATE TABLE public.bulk_notes (id int PRIMARY KEY, body text); INSERT INTO public.bulk_notes SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 150000) g",
  });
  proxy = await startPgProxy(sample.cluster);
  sample.configure({}, { "f/admin/database": proxy.resource(SAMPLE_DATABASE) });
});

after(async () => {
  await proxy?.stop();
  await sample?.stop();
});

const files = () => (existsSync(sample.backupDir) ? readdirSync(sample.backupDir).sort() : []);

test("PostgreSQL restarting while a table is copied: the job says so, naming the table, and keeps nothing", async () => {
  const before = files();
  const running = backupDatabase("daily");
  running.catch(() => undefined);
  // The server has received the COPY of bulk_notes and is answering it; its answers are held.
  await proxy.holdAfter(`COPY "public"."bulk_notes"`);
  await sample.cluster.restart();
  proxy.release();
  await assert.rejects(running, (error: Error) => {
    assert.match(
      error.message,
      /^The daily backup stopped: PostgreSQL closed the connection while the backup was copying table public\.bulk_notes \(.+\)\. Nothing was kept \(no archive, no manifest\); earlier backups are untouched\./,
    );
    assert.match(error.message, /run the backup again/);
    return true;
  });
  assert.deepEqual(files(), before, "no archive, no manifest, no temp file");
  assert.equal(((await backupDatabase("daily")) as { status: string }).status, "success", "the next run works");
});

test("the connection lost while the schema is read: the job says so too", async () => {
  const before = files();
  const running = backupDatabase("daily");
  running.catch(() => undefined);
  await proxy.holdAfter("pg_catalog.pg_get_viewdef");
  await sample.cluster.restart();
  proxy.release();
  await assert.rejects(running, (error: Error) => {
    assert.match(error.message,
      /^The daily backup stopped: PostgreSQL closed the connection while the backup was reading the schema \(.+\)\. Nothing was kept/);
    return true;
  });
  assert.deepEqual(files(), before);
});
