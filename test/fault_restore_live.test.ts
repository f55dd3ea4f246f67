// Faults of restoring into a live server: a selective restore with skip_foreign_key_check whose rows
// break a foreign key of a table left out (rolled back, the database exactly as it was, sequences and
// audit rows included); terminate_sessions ending the target database's sessions and no other
// database's; a restore killed (SIGKILL, as Windmill cancels) under Bun in the middle of loading
// rows: PostgreSQL rolls it back, the lock goes with the process, the next restore works.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { databaseState } from "./support/judge.ts";
import { startPgProxy, type PgProxy } from "./support/pg-proxy.ts";
import { childrenOf, until } from "./support/processes.ts";
import { SAMPLE_DATABASE, startSample, type Sample } from "./support/sample.ts";

let sample: Sample;
let proxy: PgProxy;

before(async () => {
  sample = await startSample("fault-restore-live", {
    // A plain (immediate, NO ACTION) foreign key from a table a selective restore leaves out.
    extraSql: `CREATE TABLE public.shelves (id serial PRIMARY KEY, label text NOT NULL);
      CREATE TABLE public.books (id serial PRIMARY KEY, shelf_id int NOT NULL REFERENCES public.shelves (id), title text);
      INSERT INTO public.shelves (label) SELECT 'shelf ' || g FROM generate_series(1, 5) g;
      INSERT INTO public.books (shelf_id, title) SELECT 1 + g % 5, 'book ' || g FROM generate_series(1, 40) g`,
  });
  proxy = await startPgProxy(sample.cluster);
  await sample.cluster.createDatabase("neighbour");
});

after(async () => {
  await proxy?.stop();
  await sample?.stop();
});

test("skip_foreign_key_check, and a row of a table left out that points at a shelf the backup lacks: rolled back, nothing changed", async () => {
  sample.configure();
  const backup = (await backupDatabase("manual", false, false)) as { filename: string };
  // Since the backup: a sixth shelf, and a book on it; the backup's shelves do not include it.
  await sample.cluster.query(SAMPLE_DATABASE,
    "INSERT INTO public.shelves (label) VALUES ('new shelf'); INSERT INTO public.books (shelf_id, title) VALUES (6, 'on the new shelf')");
  const before = await databaseState(sample.cluster, SAMPLE_DATABASE);
  await assert.rejects(
    restoreDatabase({ backup_filename: backup.filename, confirm_restore: true, create_pre_restore_backup: false, tables: ["public.shelves"],
      skip_foreign_key_check: true }),
    /books_shelf_id_fkey/,
  );
  assert.deepEqual(await databaseState(sample.cluster, SAMPLE_DATABASE), before,
    "rows, sequences (shelves_id_seq at 6) and audit rows as they were");
});

test("terminate_sessions ends the target database's other sessions, and leaves another database's sessions alone", async () => {
  sample.configure();
  const backup = (await backupDatabase("manual", false, false)) as { filename: string };
  const here = await sample.cluster.connect(SAMPLE_DATABASE);
  const there = await sample.cluster.connect("neighbour");
  here.on("error", () => undefined);
  try {
    // Same application name on both: only the database tells them apart.
    for (const session of [here, there]) await session.query("SET application_name = 'family-app'");
    const herePid = Number((await here.query("SELECT pg_backend_pid() AS pid")).rows[0].pid);
    const result = await restoreDatabase({ backup_filename: backup.filename, confirm_restore: true, create_pre_restore_backup: false,
      terminate_sessions: true });
    assert.deepEqual(result.terminated_sessions.map((s) => s.pid), [herePid]);
    await assert.rejects(here.query("SELECT 1"), "the target database's session was ended");
    assert.deepEqual((await there.query("SELECT 1 AS alive")).rows, [{ alive: 1 }], "the other database's session lives on");
  } finally {
    await here.end().catch(() => undefined);
    await there.end();
  }
});

test("bun: a restore killed (SIGKILL) while it loads rows is rolled back by PostgreSQL; the next restore gets the lock at once", async () => {
  sample.configure();
  const backup = (await backupDatabase("manual", false, false)) as { filename: string };
  await sample.cluster.query(SAMPLE_DATABASE,
    "DELETE FROM public.chat_messages WHERE id % 3 = 0; INSERT INTO public.shelves (label) VALUES ('after the backup')");
  const before = await databaseState(sample.cluster, SAMPLE_DATABASE);
  const mock = sample.configure({ lock_wait_seconds: 0 }, { "f/admin/database": proxy.resource(SAMPLE_DATABASE) });
  const job = spawn(process.execPath, ["--import", "tsx", "tools/wm.ts", "--runtime", "bun", "f/admin/restore_database",
    JSON.stringify({ backup_filename: backup.filename, confirm_restore: true, create_pre_restore_backup: false })], {
    env: { ...process.env, WM_MOCKED_API_FILE: mock },
    stdio: ["ignore", "ignore", "ignore"],
  });
  const exited = new Promise<void>((resolve) => job.once("exit", () => resolve()));
  // The restore has emptied the database inside its transaction and started loading a table.
  await proxy.holdAfter(" FROM stdin");
  // The worker is the runtime the runner started: kill it as Windmill does, no handler runs.
  const [worker] = childrenOf(job.pid!);
  process.kill(worker!, "SIGKILL");
  await exited;
  proxy.release();
  // PostgreSQL notices the closed connection and rolls back; wait for that session to be gone.
  await until("the killed restore's sessions gone",
    async () =>
      (await sample.cluster.query(SAMPLE_DATABASE,
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'windmill-pg-backup:%'")).rows[0].n === 0);
  assert.deepEqual(await databaseState(sample.cluster, SAMPLE_DATABASE), before, "exactly as it was");

  sample.configure({ lock_wait_seconds: 0 });
  const next = await restoreDatabase({ backup_filename: backup.filename, confirm_restore: true, create_pre_restore_backup: false });
  assert.equal(next.verification.passed, true);
});
