// Rows users add to an extension's configuration tables (PostGIS's custom SRIDs in spatial_ref_sys)
// are theirs: the backup holds those matching the extension's condition, as pg_dump does, and a
// restore puts exactly those back, into a new database or in place over changed ones.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { run as restoreDatabase } from "../f/admin/restore_database.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { dataFingerprint, mockWindmill, schemaText } from "./support/judge.ts";

let cluster: Cluster;
let dir: string;
let unavailable: string | undefined;

before(async () => {
  cluster = await startCluster();
  const available = await cluster.query("postgres", "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'");
  if (available.rows.length === 0) {
    unavailable = "PostGIS is not installed for this server (apt-get install postgresql-15-postgis-3)";
    return;
  }
  await cluster.createDatabase("gis");
  await cluster.query("gis", String.raw`
    CREATE EXTENSION postgis;
    INSERT INTO public.spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text)
      VALUES (900914, 'custom', 900914, 'LOCAL_CS["grid"]', '+proj=longlat +ellps=WGS84 +no_defs');
    CREATE TABLE public.places (id integer PRIMARY KEY, at public.geometry(Point, 900914));
    INSERT INTO public.places VALUES (1, public.ST_SetSRID(public.ST_MakePoint(1, 2), 900914));`);
  dir = mkdtempSync(join(tmpdir(), "wpb-extconfig-"));
  mockWindmill(dir, { "f/admin/database": cluster.resource("gis"), "f/admin/backup_settings": { backup_dir: join(dir, "backups") } });
});

after(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const customSrids = async (db: string) =>
  (await cluster.query(db, "SELECT srid, auth_name, srtext FROM public.spatial_ref_sys WHERE srid >= 900000 ORDER BY srid")).rows;

test("PostGIS custom SRIDs: backed up by the extension's condition, restored into a new database and in place", async (t) => {
  if (unavailable) return t.skip(unavailable);
  const original = { data: await dataFingerprint(cluster, "gis"), srids: await customSrids("gis") };
  const backup = (await backupDatabase("manual", false, false, false)) as { filename: string; table_details: Record<string, number> };
  assert.equal(backup.table_details.spatial_ref_sys, 1, "only the user's row, not the thousands PostGIS ships");

  const copy = await restoreDatabase({ backup_filename: backup.filename, confirm_restore: true, create_pre_restore_backup: false,
    target_database: "gis_copy" });
  assert.equal(copy.verification.passed, true);
  assert.deepEqual(await customSrids("gis_copy"), original.srids);
  assert.deepEqual(await dataFingerprint(cluster, "gis_copy"), original.data);
  const schema = schemaText(cluster, "gis");
  if (schema !== undefined) assert.equal(schemaText(cluster, "gis_copy"), schema);

  // In place: the target's own custom rows are replaced by the backup's, PostGIS's own are untouched.
  await cluster.query("gis", `UPDATE public.spatial_ref_sys SET srtext = 'changed' WHERE srid = 900914;
    INSERT INTO public.spatial_ref_sys (srid, auth_name, auth_srid, srtext) VALUES (900915, 'later', 900915, 'LOCAL_CS["later"]')`);
  const inPlace = await restoreDatabase({ backup_filename: backup.filename, confirm_restore: true, create_pre_restore_backup: false });
  assert.equal(inPlace.verification.passed, true);
  assert.deepEqual(await customSrids("gis"), original.srids);
  assert.deepEqual(await dataFingerprint(cluster, "gis"), original.data);
});
