// The sample database through the scripts' `main` on every server this run covers (CI: 15 and the
// newest; PG_VERSIONS=all: 14 to 18), judged by the catalog judge (and pg_dump where this machine
// has it) and by every table's rows; and a backup made on 15 restored into the newest server, as a
// user upgrading by backup and restore would.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { UnsupportedObjectsError } from "../f/admin/lib/errors.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { EVERY_KIND_ROLE, everyKind } from "./support/every-kind.ts";
import { createFamilyBrainDatabase } from "./support/family-brain.ts";
import { assertNoDifferences, dataDifferences, schemaDifferences } from "./support/fidelity.ts";
import { mockWindmill } from "./support/judge.ts";
import { NEWEST, serversUnderTest } from "./support/servers.ts";

const SOURCE = "family_brain";
const planned = serversUnderTest();
const clusters = new Map<number, Cluster>();
/** The backup each server's test made of the sample database. */
const backups = new Map<number, string>();
/** What each server's backup of the every-kind database refused (empty when it round-tripped). */
const refusedEveryKind = new Map<number, readonly string[]>();
let dir: string;

const resourceOf = (major: number) => `matrix/pg${major}`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "wpb-matrix-"));
  for (const plan of planned) {
    if ("server" in plan) clusters.set(plan.major, await startCluster({ bin: plan.server.bin }));
  }
  mockWindmill(dir, {
    // Owners and privileges are part of the bar: the roles exist on the same server.
    "f/admin/backup_settings": { backup_dir: join(dir, "backups"), dump: { privileges: true } },
    ...Object.fromEntries([...clusters].map(([major, cluster]) => [resourceOf(major), cluster.resource(SOURCE)])),
    ...Object.fromEntries(
      [...clusters].flatMap(([major, cluster]) =>
        ["every_kind", "every_supported_kind", ...KNOWN_BUGS.map((_, i) => `known_bug_${i}`)]
          .map((dbname) => [`${resourceOf(major)}/${dbname}`, cluster.resource(dbname)])
      ),
    ),
  });
});

after(async () => {
  for (const cluster of clusters.values()) await cluster.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

for (const plan of planned) {
  test(`PostgreSQL ${plan.major}: the sample database round-trips with zero difference`, async (t) => {
    const cluster = clusters.get(plan.major);
    if (!cluster) return t.skip("missing" in plan ? plan.missing : `PostgreSQL ${plan.major} did not start`);
    assert.equal(cluster.majorVersion, plan.major);
    await cluster.createDatabase(SOURCE);
    const client = await cluster.connect(SOURCE);
    try {
      await createFamilyBrainDatabase(client);
    } finally {
      await client.end();
    }

    const backup = await backupDatabase("manual", false, false, false, resourceOf(plan.major));
    assert.equal(backup.status, "success");
    const filename = (backup as { filename: string }).filename;
    backups.set(plan.major, filename);
    const restore = await restoreDatabase({ backup_filename: filename, confirm_restore: true, create_pre_restore_backup: false,
      target_database: "restored", database_resource: resourceOf(plan.major) });
    assert.equal(restore.verification.passed, true);

    const [source, restored] = [{ cluster, name: SOURCE }, { cluster, name: "restored" }];
    assertNoDifferences([...(await schemaDifferences(t, source, restored)), ...(await dataDifferences(source, restored))],
      `the sample database and its restore on PostgreSQL ${plan.major}`);
  });
}

/**
 * The objects of the every-kind database the engine may refuse today, and how to drop them so that
 * the rest is judged too. As the engine learns a kind, its entry may go: a backup that succeeds must
 * round-trip exactly whatever this list says, and only what a run's backup refused is dropped.
 */
const REFUSED_TODAY: Array<{ object: string; drop: string }> = [];

/**
 * Engine bugs the judges found: backups that restore into something different. Each runs as its
 * own TODO test (reported, not failing the suite, until fixed), and `strip` takes it out of the
 * every-kind database so that everything else there is still held to zero difference.
 */
// Engine bugs the judges found and that are not fixed yet, each with the setup that shows it and
// the statements that take its objects out of the every-kind database. None is open now: the
// non-ASCII COPY line and the lost privileges (now `dump.privileges`) are fixed and judged above.
const KNOWN_BUGS: Array<{ bug: string; setup: string; strip: string }> = [];

/** Backs up one database of the cluster and restores it beside itself through the scripts; the refusal, if any. */
async function roundTrip(major: number, dbname: string): Promise<{ refused: readonly string[] } | undefined> {
  const resource = `${resourceOf(major)}/${dbname}`;
  let filename: string;
  try {
    filename = ((await backupDatabase("manual", false, false, false, resource)) as { filename: string }).filename;
  } catch (error) {
    if (error instanceof UnsupportedObjectsError) return { refused: error.objects };
    throw error;
  }
  const restore = await restoreDatabase({ backup_filename: filename, confirm_restore: true, create_pre_restore_backup: false,
    target_database: `${dbname}_restored`, database_resource: resource });
  assert.equal(restore.verification.passed, true);
  return undefined;
}

async function assertRoundTrips(t: TestContext, cluster: Cluster, dbname: string): Promise<void> {
  const outcome = await roundTrip(cluster.majorVersion, dbname);
  assert.equal(outcome, undefined, `${dbname} was refused: ${outcome?.refused.join("; ")}`);
  const [source, restored] = [{ cluster, name: dbname }, { cluster, name: `${dbname}_restored` }];
  assertNoDifferences(
    [...(await schemaDifferences(t, source, restored)), ...(await dataDifferences(source, restored))],
    `${dbname} and its restore on PostgreSQL ${cluster.majorVersion}`,
  );
}

for (const plan of planned) {
  const skip = (t: TestContext) => t.skip("missing" in plan ? plan.missing : `PostgreSQL ${plan.major} did not start`);

  test(`PostgreSQL ${plan.major}: a database with every object kind round-trips, or is refused naming only kinds the engine lacks`, async (t) => {
    const cluster = clusters.get(plan.major);
    if (!cluster) return skip(t);
    await cluster.query("postgres", `CREATE ROLE ${EVERY_KIND_ROLE}`);
    await cluster.createDatabase("every_kind");
    await cluster.query("every_kind", everyKind(plan.major));
    const outcome = await roundTrip(plan.major, "every_kind");
    if (outcome) {
      assert.ok(outcome.refused.length > 0);
      const unexpected = outcome.refused.filter((object) => !REFUSED_TODAY.some((r) => r.object === object));
      assert.deepEqual(unexpected, [], "refused objects beyond REFUSED_TODAY");
      t.diagnostic(`refused: ${outcome.refused.join("; ")}`);
      refusedEveryKind.set(plan.major, outcome.refused);
      return;
    }
    refusedEveryKind.set(plan.major, []);
    await assertRoundTrips(t, cluster, "every_kind");
  });

  test(`PostgreSQL ${plan.major}: every object kind the engine reproduces round-trips with zero difference`, async (t) => {
    const cluster = clusters.get(plan.major);
    if (!cluster) return skip(t);
    const refused = refusedEveryKind.get(plan.major);
    if (!refused) return t.skip("the every-kind backup gave no verdict (see the test above)");
    await cluster.createDatabase("every_supported_kind");
    await cluster.query("every_supported_kind", everyKind(plan.major));
    const drops = REFUSED_TODAY.filter((r) => refused.includes(r.object)).map((r) => r.drop);
    await cluster.query("every_supported_kind", [...drops, ...KNOWN_BUGS.map((known) => known.strip)].join(";\n"));
    await assertRoundTrips(t, cluster, "every_supported_kind");
  });

  for (const [i, known] of KNOWN_BUGS.entries()) {
    test(`PostgreSQL ${plan.major}: known engine bug ${i + 1}`, { todo: known.bug }, async (t) => {
      const cluster = clusters.get(plan.major);
      if (!cluster) return skip(t);
      await cluster.createDatabase(`known_bug_${i}`);
      await cluster.query(`known_bug_${i}`, known.setup);
      await assertRoundTrips(t, cluster, `known_bug_${i}`);
      t.diagnostic("fixed: take it out of KNOWN_BUGS so that it is held to zero difference");
    });
  }
}

test(`a backup made on PostgreSQL 15 restores into ${NEWEST} as if the sample database had been created there`, async (t) => {
  const [old, newest] = [clusters.get(15), clusters.get(NEWEST)];
  if (!old || !newest) return t.skip(`this run does not cover both PostgreSQL 15 and ${NEWEST} (PG_VERSIONS)`);
  const filename = backups.get(15);
  if (!filename || !backups.has(NEWEST)) return t.skip("the sample database did not round-trip on both servers (see their tests)");

  const restore = await restoreDatabase({ backup_filename: filename, confirm_restore: true, create_pre_restore_backup: false,
    target_database: "upgraded", database_resource: resourceOf(NEWEST) });
  assert.equal(restore.verification.passed, true);
  const upgraded = { cluster: newest, name: "upgraded" };
  assertNoDifferences(
    [...(await schemaDifferences(t, { cluster: newest, name: SOURCE }, upgraded)),
      ...(await dataDifferences({ cluster: old, name: SOURCE }, upgraded))],
    `the sample database created on ${NEWEST} and upgraded from 15`,
  );
});
