// Fault: another session holds ACCESS EXCLUSIVE on a table (a migration, a long ALTER). Every
// statement of a backup, from its first (the size query of the free-space check) to the last, and of
// a restore's pre-restore backup, waits at most lock_timeout_seconds, then fails naming the holder;
// nothing is written and the database is exactly as it was (its own audit row of the failure apart).
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { after, before, test } from "node:test";
import type pg from "pg";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { auditRows, databaseState } from "./support/judge.ts";
import { until } from "./support/processes.ts";
import { SAMPLE_DATABASE, startSample, type Sample } from "./support/sample.ts";

let sample: Sample;

before(async () => {
  sample = await startSample("fault-locks");
});

after(async () => {
  await sample?.stop();
});

const files = () => (existsSync(sample.backupDir) ? readdirSync(sample.backupDir).sort() : []);

/** A session of another application holding ACCESS EXCLUSIVE on public.users until released. */
async function holdLock(): Promise<{ pid: number; release: () => Promise<void> }> {
  const holder: pg.Client = await sample.cluster.connect(SAMPLE_DATABASE);
  await holder.query("SET application_name = 'schema-migration'");
  await holder.query("BEGIN");
  await holder.query("LOCK TABLE public.users IN ACCESS EXCLUSIVE MODE");
  const { rows } = await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  return { pid: rows[0]!.pid, release: async () => {
    await holder.query("ROLLBACK");
    await holder.end();
  } };
}

const namesHolder = (pid: number) => (error: Error) => {
  assert.match(error.message, /gave up after waiting 1 s for a lock on database "family_brain"/);
  assert.match(error.message, new RegExp(`held by pid ${pid} \\(application_name "schema-migration"`));
  assert.match(error.message, /holds public\.users \(AccessExclusiveLock\)/);
  assert.match(error.message, /Nothing was written; earlier backups are untouched/);
  return true;
};

for (const ratio of [0.5, 0]) {
  test(`a backup behind a migration's lock gives up after lock_timeout_seconds, naming it (free-space check ${ratio ? "on: the size query waits first" : "off"})`, async () => {
    sample.configure({ lock_timeout_seconds: 1, archive_size_ratio: ratio });
    const before = { files: files(), state: await databaseState(sample.cluster, SAMPLE_DATABASE, { exceptAudit: true }) };
    const auditBefore = await withClient((c) => auditRows(c));
    const lock = await holdLock();
    try {
      await assert.rejects(backupDatabase("daily"), namesHolder(lock.pid));
    } finally {
      await lock.release();
    }
    assert.deepEqual(files(), before.files, "no archive, manifest or temp file");
    assert.deepEqual(await databaseState(sample.cluster, SAMPLE_DATABASE, { exceptAudit: true }), before.state);
    const audit = (await withClient((c) => auditRows(c))).filter((row) => !auditBefore.includes(row));
    assert.equal(audit.length, 1, "one audit row records the failure");
    assert.match(audit[0]!, /gave up after waiting 1 s/);
    // The lock gone, the same settings back up at once.
    assert.equal(((await backupDatabase("daily")) as { status: string }).status, "success");
  });
}

test("a migration queued for ACCESS EXCLUSIVE (behind the app's open transaction) blocks the backup too, and is named as queued", async () => {
  sample.configure({ lock_timeout_seconds: 1, archive_size_ratio: 0 });
  const app = await sample.cluster.connect(SAMPLE_DATABASE);
  const migration = await sample.cluster.connect(SAMPLE_DATABASE);
  try {
    await app.query("BEGIN");
    await app.query("SELECT count(*) FROM public.users");
    await migration.query("SET application_name = 'schema-migration'");
    const pid = Number((await migration.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
    await migration.query("BEGIN");
    const alter = migration.query("ALTER TABLE public.users ADD COLUMN nickname text");
    alter.catch(() => undefined);
    await until("the migration queued", async () =>
      (await sample.cluster.query(SAMPLE_DATABASE, "SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted", [pid])).rows.length > 0);
    await assert.rejects(backupDatabase("daily"), (error: Error) => {
      assert.match(error.message,
        new RegExp(`held by pid ${pid} \\(application_name "schema-migration".*holds public\\.users \\(AccessExclusiveLock, queued\\)`));
      return true;
    });
    await app.query("ROLLBACK");
    await alter;
    await migration.query("ROLLBACK");
  } finally {
    await app.end();
    await migration.end();
  }
});

test("a restore behind a migration's lock gives up too, in its checks or its pre-restore backup: the database is unchanged", async () => {
  sample.configure({ lock_timeout_seconds: 1 });
  const backup = (await backupDatabase("manual")) as { filename: string };
  await sample.cluster.query(SAMPLE_DATABASE, "DELETE FROM public.chat_messages WHERE id % 2 = 0");
  const before = { files: files(), state: await databaseState(sample.cluster, SAMPLE_DATABASE) };
  const lock = await holdLock();
  try {
    // The checks made before anything is written (what a restore would drop) wait a bounded time.
    await assert.rejects(restoreDatabase({ backup_filename: backup.filename, confirm_restore: true }), (error: Error) => {
      assert.match(error.message,
        /^The restore gave up before changing anything: a check of database "family_brain" waited 1 s for a lock/);
      assert.match(error.message, new RegExp(`held by pid ${lock.pid} \\(application_name "schema-migration"`));
      assert.match(error.message, /Nothing was changed\./);
      return true;
    });
    // Past those checks, the pre-restore backup does.
    const restore = restoreDatabase({ backup_filename: backup.filename, confirm_restore: true, allow_unrecoverable_drops: true });
    await assert.rejects(restore, (error: Error) => {
      assert.match(error.message, /^The pre-restore backup \(so the restore did not start: the database is unchanged\) gave up/);
      return namesHolder(lock.pid)(error);
    });
  } finally {
    await lock.release();
  }
  assert.deepEqual(files(), before.files);
  assert.deepEqual(await databaseState(sample.cluster, SAMPLE_DATABASE), before.state, "rows, sequences and audit rows as they were");
});

async function withClient<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await sample.cluster.connect(SAMPLE_DATABASE);
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
