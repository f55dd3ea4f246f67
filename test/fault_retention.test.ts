// Faults of what storage holds: two databases sharing one backup directory and prefix (retention is
// per database: another's backups are never touched), an archive left without its manifest by a
// run that died (listed as unfinished with its age, removed once a newer complete backup of its
// type exists), and a pin that is a symlink or a directory (refused, never reported as a pin).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { main as backupDatabase } from "../f/admin/backup_database.ts";
import { listBackups } from "./support/listing.ts";
import { main as pinBackup } from "../f/admin/pin_backup.ts";
import { resealManifest } from "./support/archive-edit.ts";
import { startSample, type Sample } from "./support/sample.ts";

let sample: Sample;

before(async () => {
  sample = await startSample("fault-retention");
  await sample.cluster.createDatabase("other_app");
  await sample.cluster.query("other_app",
    "CREATE TABLE public.notes (id int PRIMARY KEY, body text); INSERT INTO public.notes SELECT g, 'note ' || g FROM generate_series(1, 50) g");
});

after(async () => {
  await sample?.stop();
});

type Result = { status: string; filename: string; cleanup: { deleted: string[]; decisions: { name: string; reason: string }[] } };
const stem = (name: string) => name.replace(/\.sql\.gz$/, "");

/** Back up `dbname` into `dir` (settings and database resource pointed there), with retention. */
async function backup(dir: string, dbname: string, type: "daily" | "weekly" | "manual"): Promise<Result> {
  sample.configure({ backup_dir: dir }, { "f/admin/database": sample.cluster.resource(dbname) });
  return (await backupDatabase(type, false, true)) as unknown as Result;
}

/** Make a backup look `hours` old: its manifest's time (resealed, as the tool writes it) and the file times. */
function age(dir: string, name: string, hours: number): void {
  const at = new Date(Date.now() - hours * 3_600_000);
  const manifest = join(dir, `${stem(name)}.manifest.json`);
  if (existsSync(manifest)) {
    resealManifest(manifest, (m) => {
      m.created_at = at.toISOString();
    });
  }
  utimesSync(join(dir, name), at, at);
}

test("two databases sharing a directory and prefix: each one's retention leaves the other's backups alone", async () => {
  const dir = join(sample.dir, "shared");
  const theirs = (await backup(dir, "other_app", "daily")).filename;
  age(dir, theirs, 20 * 24);
  // Ours is newer: before, it took the "newest daily" protection from theirs, whose only daily was then deleted.
  const ours = await backup(dir, "family_brain", "daily");
  assert.deepEqual(ours.cleanup.deleted, []);
  assert.match(ours.cleanup.decisions.find((d) => d.name === theirs)!.reason,
    /^backup of database "other_app", not "family_brain": never touched/);
  assert.ok(existsSync(join(dir, theirs)) && existsSync(join(dir, `${stem(theirs)}.manifest.json`)), "their only daily backup is intact");

  // Their own next backup retires their old one, and leaves ours alone.
  const next = await backup(dir, "other_app", "daily");
  assert.deepEqual(next.cleanup.deleted, [theirs]);
  assert.ok(existsSync(join(dir, ours.filename)));
  const rows = (await listBackups()) as unknown as { name: string; database: string }[];
  assert.deepEqual(rows.map((r) => r.database).sort(), ["family_brain", "other_app"], "the list shows whose each backup is");
});

test("an archive without its manifest (a run killed at its last step) is listed as unfinished with its age, and removed once a newer complete backup of its type exists", async () => {
  const dir = join(sample.dir, "crashed");
  const killed = (await backup(dir, "family_brain", "daily")).filename;
  const theirs = (await backup(dir, "other_app", "daily")).filename;
  // What a kill between the archive and its manifest leaves: the whole archive, no manifest.
  for (const name of [killed, theirs]) {
    rmSync(join(dir, `${stem(name)}.manifest.json`));
    age(dir, name, 3);
  }
  sample.configure({ backup_dir: dir });
  const rows = (await listBackups()) as unknown as { name: string; status: string; database: string; warnings: string }[];
  const row = rows.find((r) => r.name === killed)!;
  assert.equal(row.status, "unfinished");
  assert.equal(row.database, "family_brain", "read from the archive's first line");
  assert.match(row.warnings,
    /^unfinished on local \(no manifest\), 3 h old: a run stopped before its last step; not restorable, removed by retention once a complete backup of the same type is newer$/);

  // A weekly backup does not supersede a daily one.
  const weekly = await backup(dir, "family_brain", "weekly");
  assert.deepEqual(weekly.cleanup.deleted, []);
  assert.match(weekly.cleanup.decisions.find((d) => d.name === killed)!.reason,
    /^unfinished daily backup \(no manifest\) for 3 h: kept until a complete daily backup is newer$/);
  const daily = await backup(dir, "family_brain", "daily");
  assert.deepEqual(daily.cleanup.deleted, [killed]);
  assert.match(daily.cleanup.decisions.find((d) => d.name === killed)!.reason,
    new RegExp(`superseded by the complete ${daily.filename.replaceAll(".", "\\.")}$`));
  assert.ok(!existsSync(join(dir, killed)));
  assert.ok(existsSync(join(dir, theirs)), "another database's unfinished archive is not ours to remove");
});

test("a symlink or a directory where a pin belongs is refused by pin_backup, and neither the list nor retention count it as a pin", async () => {
  const dir = join(sample.dir, "pins");
  const target = (await backup(dir, "family_brain", "daily")).filename;
  const decoy = join(sample.dir, "decoy.pin");
  writeFileSync(decoy, "{}");
  symlinkSync(decoy, join(dir, `${stem(target)}.pin`));
  sample.configure({ backup_dir: dir });
  await assert.rejects(pinBackup(target), (error: Error) => {
    assert.match(error.message, new RegExp(
      `Cannot pin ${target.replaceAll(".", "\\.")}: ${
        stem(target)
      }\\.pin already exists in .* but is not a regular file \\(a symlink or a directory\\?\\)`,
    ));
    assert.match(error.message, /Remove .*\.pin, then pin again\. Nothing was changed\.$/);
    return true;
  });
  const pinned = () =>
    ((listBackups() as unknown) as Promise<{ name: string; pinned: string }[]>).then((rows) => rows.find((r) => r.name === target)!.pinned);
  assert.equal(await pinned(), "no");

  rmSync(join(dir, `${stem(target)}.pin`));
  mkdirSync(join(dir, `${stem(target)}.pin`));
  await assert.rejects(pinBackup(target), /is not a regular file/);
  rmSync(join(dir, `${stem(target)}.pin`), { recursive: true });

  // A real pin is a regular file, and counts.
  assert.deepEqual(((await pinBackup(target)) as { changes: { result: string }[] }).changes.map((c) => c.result), ["pinned"]);
  assert.equal(await pinned(), "yes");
  assert.ok(readdirSync(dir).includes(`${stem(target)}.pin`));
});
