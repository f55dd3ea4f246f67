// Faults of a live database: writes and DDL committed while a backup runs. The backup is one
// snapshot: rows written in related tables during the dump never come out half (the archive is the
// database as it was at one instant, foreign keys and all); DDL either waits for the backup (it needs
// a lock the backup holds), lands outside the snapshot (then the archive is the state before it), or
// commits while the schema is read (then the backup starts over, and gives up cleanly if the schema
// never holds still). Never an archive that does not restore. Every step is ordered by a proxy that
// holds the server's answers at a chosen statement, not by timing.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type pg from "pg";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import type { DatabaseTarget } from "../f/admin/lib/engine/connection.ts";
import { createBackup } from "../f/admin/lib/operations/backup.ts";
import { LocalStorage } from "../f/admin/lib/storage/local.ts";
import { BackupSettings } from "../f/admin/lib/settings.ts";
import { dataFingerprint, schemaText } from "./support/judge.ts";
import { startPgProxy, type PgProxy } from "./support/pg-proxy.ts";
import { SAMPLE_DATABASE, startSample, type Sample } from "./support/sample.ts";

let sample: Sample;
let proxy: PgProxy;
let copies = 0;

before(async () => {
  sample = await startSample("fault-concurrent", {
    extraSql: `CREATE FUNCTION public.helper() RETURNS int LANGUAGE sql AS 'SELECT 1';
      CREATE INDEX users_name_idx ON public.users (display_name);
      CREATE TABLE public.bulk_notes (id int PRIMARY KEY, body text);
      INSERT INTO public.bulk_notes SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 150000) g`,
  });
  proxy = await startPgProxy(sample.cluster);
});

after(async () => {
  await proxy?.stop();
  await sample?.stop();
});

/** A fresh copy of the sample database (CREATE DATABASE … TEMPLATE), for a test that changes it. */
async function freshCopy(): Promise<string> {
  const name = `copy_${++copies}`;
  await sample.cluster.query("postgres", `CREATE DATABASE ${name} TEMPLATE ${SAMPLE_DATABASE}`);
  return name;
}

/** Start a backup of `dbname` through the proxy; the promise is observed so a failure is never unhandled. */
function startBackup(dbname: string): Promise<{ status: string; filename: string }> {
  sample.configure({ backup_dir: join(sample.dir, dbname) }, { "f/admin/database": proxy.resource(dbname) });
  const running = backupDatabase("manual", false, false) as Promise<{ status: string; filename: string }>;
  running.catch(() => undefined);
  return running;
}

/** Restore an archive into a new database with psql (the independent judge) when present, else with restore_database. */
async function restoreCopy(dbname: string, filename: string): Promise<string> {
  const target = `${dbname}_restored`;
  const archive = join(sample.dir, dbname, filename);
  if (sample.cluster.clientBin) {
    await sample.cluster.createDatabase(target);
    const out = spawnSync("bash", ["-o", "pipefail", "-c",
      `gunzip -c '${archive}' | '${join(sample.cluster.clientBin, "psql")}' -X -q -1 -v ON_ERROR_STOP=1 -d ${target}`], {
      env: sample.cluster.libpqEnv(),
      encoding: "utf8",
    });
    assert.equal(out.status, 0, `the archive restores with psql: ${out.stderr}`);
  } else {
    sample.configure({ backup_dir: join(sample.dir, dbname) }, { "f/admin/database": sample.cluster.resource(dbname) });
    await restoreDatabase({ backup_filename: filename, confirm_restore: true, create_pre_restore_backup: false, target_database: target });
  }
  return target;
}

/** Run `sql` on its own connection; resolves once it has either finished or is waiting for a lock. */
async function startStatement(dbname: string, sql: string): Promise<{ done: Promise<unknown>; client: pg.Client }> {
  const client = await sample.cluster.connect(dbname);
  const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  let finished = false;
  const done = client.query(sql).finally(() => {
    finished = true;
  });
  done.catch(() => undefined);
  for (;;) {
    if (finished) break;
    const waiting = await sample.cluster.query(dbname, "SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted", [rows[0]!.pid]);
    if (waiting.rows.length > 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  return { done, client };
}

describe("writes while the backup runs", () => {
  test("rows inserted and deleted in related tables between two tables' COPY come out as they were at the snapshot, foreign keys whole", async () => {
    const db = await freshCopy();
    const before = await dataFingerprint(sample.cluster, db);
    const running = startBackup(db);
    // The dump has copied some tables and is about to copy chat_messages; sessions, users and the
    // rest come after or before: writes touching all of them commit now.
    await proxy.holdAfter(`COPY "public"."chat_messages"`);
    await sample.cluster.query(db, `BEGIN;
      DELETE FROM public.chat_sessions WHERE id = (SELECT id FROM public.chat_sessions ORDER BY id LIMIT 1);
      WITH s AS (
        INSERT INTO public.chat_sessions (tenant_id, user_id, title, started_at)
        SELECT tenant_id, user_id, 'written during the backup', now() FROM public.chat_sessions ORDER BY id LIMIT 1 RETURNING id
      )
      INSERT INTO public.chat_messages (session_id, role, content, created_at) SELECT id, 'user', 'during the backup', now() FROM s;
      UPDATE public.users SET display_name = display_name || ' (renamed during the backup)';
      DELETE FROM public.ai_usage WHERE id % 2 = 0;
      COMMIT`);
    proxy.release();
    const backup = await running;
    assert.equal(backup.status, "success");
    assert.notDeepEqual(await dataFingerprint(sample.cluster, db), before, "the writes did commit");
    const restored = await restoreCopy(db, backup.filename);
    assert.deepEqual(await dataFingerprint(sample.cluster, restored), before, "the archive is the database at the snapshot");
  });
});

describe("DDL while the backup runs", () => {
  const racing: [string, string][] = [
    ["DROP INDEX public.users_name_idx", "an index dropped (its definition would read as null)"],
    ["DROP FUNCTION public.helper()", "a function dropped (its definition would be missing)"],
    ["TRUNCATE public.ai_usage", "a table truncated before the backup locks it (the snapshot would see it empty, its siblings not)"],
    ["ALTER TABLE public.users ADD COLUMN nickname text DEFAULT 'none'", "a column added"],
    ["ALTER TABLE public.family_members DROP COLUMN notes", "a column dropped"],
    ["ALTER TABLE public.bulk_notes RENAME TO bulk_lines", "a table renamed"],
  ];
  for (const [ddl, what] of racing) {
    test(`${what} while the schema is read: the backup starts over, and its archive restores to the schema and rows after it`, async () => {
      const db = await freshCopy();
      const running = startBackup(db);
      // The snapshot has just been taken (the first query in it); no table is locked yet.
      await proxy.holdAfter("pg_catalog.pg_encoding_to_char(d.encoding)");
      await sample.cluster.query(db, ddl);
      proxy.release();
      const backup = await running;
      assert.equal(backup.status, "success");
      const restored = await restoreCopy(db, backup.filename);
      assert.deepEqual(await dataFingerprint(sample.cluster, restored), await dataFingerprint(sample.cluster, db));
      const schema = schemaText(sample.cluster, db);
      if (schema !== undefined) assert.equal(schemaText(sample.cluster, restored), schema);
    });
  }

  test("temporary tables and large objects an app creates meanwhile are not schema changes: one attempt is enough", async () => {
    const db = await freshCopy();
    const messages: string[] = [];
    const app = await sample.cluster.connect(db);
    try {
      const running = createBackup({
        database: proxy.resource(db) as DatabaseTarget,
        settings: BackupSettings.parse({ backup_dir: join(sample.dir, db) }),
        storage: new LocalStorage(join(sample.dir, db), { access: "write", create: true }),
        type: "manual",
        onProgress: (message) => messages.push(message),
      });
      running.catch(() => undefined);
      await proxy.holdAfter("pg_catalog.pg_encoding_to_char(d.encoding)");
      await app.query(
        "CREATE TEMP TABLE scratch (id int PRIMARY KEY, note text); INSERT INTO scratch VALUES (1, 'x'); SELECT lo_create(0)",
      );
      proxy.release();
      const backup = await running;
      assert.ok(backup.name.endsWith(".sql.gz"));
      assert.deepEqual(messages.filter((m) => m.includes("starting over")), []);
    } finally {
      await app.end();
    }
  });

  test("a schema that never holds still: after three attempts the backup gives up, saying why, and keeps nothing", async () => {
    const db = await freshCopy();
    const running = startBackup(db);
    for (let attempt = 1; attempt <= 3; attempt++) {
      await proxy.holdAfter("pg_catalog.pg_encoding_to_char(d.encoding)");
      await sample.cluster.query(db, `CREATE TABLE public.migration_step_${attempt} (id int)`);
      proxy.release();
    }
    await assert.rejects(running, (error: Error) => {
      assert.match(error.message,
        /^The manual backup gave up: the schema of database "copy_\d+" changed while the backup read it, 3 times in a row \(a migration running\?\)/);
      assert.match(error.message,
        /Nothing was kept; earlier backups are untouched\. Run the backup again once the schema changes are done\.$/);
      return true;
    });
    const dir = join(sample.dir, db);
    assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], []);
  });

  test("an ALTER TABLE started during the COPY waits for the backup, whose archive is the state before it", async () => {
    const db = await freshCopy();
    const before = { data: await dataFingerprint(sample.cluster, db), schema: schemaText(sample.cluster, db) };
    const running = startBackup(db);
    await proxy.holdAfter(`COPY "public"."bulk_notes"`);
    const alter = await startStatement(db, "ALTER TABLE public.users ADD COLUMN nickname text DEFAULT 'none'");
    proxy.release();
    const backup = await running;
    await alter.done;
    await alter.client.end();
    assert.equal(backup.status, "success");
    const restored = await restoreCopy(db, backup.filename);
    assert.deepEqual(await dataFingerprint(sample.cluster, restored), before.data);
    if (before.schema !== undefined) assert.equal(schemaText(sample.cluster, restored), before.schema);
  });

  test("a CREATE INDEX committed during the COPY (its lock does not conflict) stays out of the archive, which is the snapshot's", async () => {
    const db = await freshCopy();
    const before = schemaText(sample.cluster, db);
    const running = startBackup(db);
    await proxy.holdAfter(`COPY "public"."bulk_notes"`);
    await sample.cluster.query(db, "CREATE INDEX bulk_notes_body_idx ON public.bulk_notes (body)");
    proxy.release();
    const backup = await running;
    const restored = await restoreCopy(db, backup.filename);
    if (before !== undefined) assert.equal(schemaText(sample.cluster, restored), before);
    assert.deepEqual((await sample.cluster.query(restored, "SELECT 1 FROM pg_indexes WHERE indexname = 'bulk_notes_body_idx'")).rows, []);
  });
});
