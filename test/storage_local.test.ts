import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync,
  writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { after, before, describe, test } from "node:test";
import { BackupError } from "../f/admin/lib/errors.ts";
import { freeBytes, LocalStorage } from "../f/admin/lib/storage/local.ts";

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), "storage-local-"));
});
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function freshStorage(): LocalStorage {
  return new LocalStorage(join(root, `backups-${++counter}`), { access: "write", create: true });
}

const numbered = (base: string) => (attempt: number) => (attempt === 0 ? `${base}.sql.gz` : `${base}_${attempt + 1}.sql.gz`);

/** A body that yields its chunks with a pause between them, so concurrent writers interleave. */
function slowBody(chunks: string[]): Readable {
  return Readable.from(
    (async function*() {
      for (const chunk of chunks) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        yield Buffer.from(chunk);
      }
    })(),
  );
}

const allEntries = (storage: LocalStorage): string[] => readdirSync(storage.location).sort();

describe("LocalStorage.create", () => {
  test("writes the whole body under the first free name, mode 0600", async () => {
    const storage = freshStorage();
    const body = randomBytes(300_000);
    const file = await storage.create(numbered("fb_manual_20251208_023807"),
      Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]));
    assert.equal(file.name, "fb_manual_20251208_023807.sql.gz");
    assert.equal(file.size, body.length);
    const path = join(storage.location, file.name);
    assert.deepEqual(readFileSync(path), body);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(allEntries(storage), [file.name], "no temp file is left beside it");
  });

  test("never overwrites: the second create with the same first name gets nameFor(1)", async () => {
    const storage = freshStorage();
    const first = await storage.create(numbered("fb_daily"), Readable.from([Buffer.from("first")]));
    const second = await storage.create(numbered("fb_daily"), Readable.from([Buffer.from("second")]));
    assert.equal(first.name, "fb_daily.sql.gz");
    assert.equal(second.name, "fb_daily_2.sql.gz");
    assert.equal(readFileSync(join(storage.location, first.name), "utf8"), "first");
    assert.equal(readFileSync(join(storage.location, second.name), "utf8"), "second");
  });

  test("concurrent creates racing for the same name both succeed with distinct names", async () => {
    const storage = freshStorage();
    const bodies = Array.from({ length: 8 }, (_, i) => [`writer ${i} `, "part two ", "end"]);
    const files = await Promise.all(bodies.map((chunks) => storage.create(numbered("fb_manual"), slowBody(chunks))));
    const names = files.map((f) => f.name);
    assert.equal(new Set(names).size, names.length, `names must be distinct: ${names.join(", ")}`);
    assert.ok(names.includes("fb_manual.sql.gz"));
    for (const [i, file] of files.entries()) {
      assert.equal(readFileSync(join(storage.location, file.name), "utf8"), `writer ${i} part two end`);
    }
    assert.deepEqual(allEntries(storage), [...names].sort());
  });

  test("a body that errors halfway leaves no file at all, and the error reaches the caller", async () => {
    const storage = freshStorage();
    const body = Readable.from(
      (async function*() {
        yield Buffer.alloc(64 * 1024, 1);
        throw new Error("connection lost mid-COPY");
      })(),
    );
    await assert.rejects(storage.create(numbered("fb_manual"), body), /connection lost mid-COPY/);
    assert.deepEqual(allEntries(storage), []);
  });

  test("a body destroyed with an error by its producer leaves no file", async () => {
    const storage = freshStorage();
    const body = new Readable({ read() {} });
    body.push(Buffer.from("partial dump"));
    setTimeout(() => body.destroy(new Error("pg_backend terminated")), 10);
    await assert.rejects(storage.create(numbered("fb_manual"), body), /pg_backend terminated/);
    assert.deepEqual(allEntries(storage), []);
  });

  test("gives up after 100 taken names with a clear error, leaving nothing new", async () => {
    const storage = freshStorage();
    writeFileSync(join(storage.location, "taken.sql.gz"), "existing");
    await assert.rejects(
      storage.create(() => "taken.sql.gz", Readable.from([Buffer.from("new")])),
      (error: unknown) => error instanceof BackupError && /after 100 attempts/.test(error.message),
    );
    assert.deepEqual(allEntries(storage), ["taken.sql.gz"]);
    assert.equal(readFileSync(join(storage.location, "taken.sql.gz"), "utf8"), "existing");
  });

  test("a name that is not a plain file name is refused and nothing is written", async () => {
    const storage = freshStorage();
    await assert.rejects(storage.create(() => "../escaped.sql.gz", Readable.from([Buffer.from("x")])), BackupError);
    writeFileSync(join(storage.location, "a.sql.gz"), "existing");
    // The first name is free of doubt but taken; the next one tries to escape.
    await assert.rejects(
      storage.create((attempt) => (attempt === 0 ? "a.sql.gz" : "../b.sql.gz"), Readable.from([Buffer.from("x")])),
      BackupError,
    );
    assert.deepEqual(allEntries(storage), ["a.sql.gz"]);
    assert.deepEqual(readdirSync(root).filter((name) => name.endsWith(".sql.gz")), []);
  });
});

describe("LocalStorage.read", () => {
  const content = Buffer.from("0123456789abcdefghij");
  const storageWithFile = async () => {
    const storage = freshStorage();
    await storage.create(() => "f.sql.gz", Readable.from([content]));
    return storage;
  };

  test("streams the whole file", async () => {
    const storage = await storageWithFile();
    assert.equal(await text(storage.read("f.sql.gz")), content.toString());
  });

  const ranges: { start: number; end: number; expected: string }[] = [
    { start: 0, end: 1, expected: "0" },
    { start: 3, end: 7, expected: "3456" },
    { start: 10, end: 20, expected: "abcdefghij" },
    { start: 5, end: 5, expected: "" },
    { start: 18, end: 30, expected: "ij" },
  ];
  for (const r of ranges) {
    test(`range [${r.start}, ${r.end}) is end-exclusive`, async () => {
      const storage = await storageWithFile();
      assert.equal(await text(storage.read("f.sql.gz", { start: r.start, end: r.end })), r.expected);
    });
  }

  test("an inverted or negative range is refused", async () => {
    const storage = await storageWithFile();
    assert.throws(() => storage.read("f.sql.gz", { start: 5, end: 4 }), BackupError);
    assert.throws(() => storage.read("f.sql.gz", { start: -1, end: 4 }), BackupError);
  });

  test("a missing file makes the stream fail", async () => {
    const storage = freshStorage();
    await assert.rejects(text(storage.read("missing.sql.gz")), /ENOENT/);
  });
});

describe("file names from users", () => {
  const bad = ["../secret.sql.gz", "..", ".", "a/b.sql.gz", "/etc/passwd", "a\\b.sql.gz", ".hidden.sql.gz", "", "nul\0.sql.gz",
    "x".repeat(256)];
  for (const name of bad) {
    test(`refuses ${JSON.stringify(name.length > 40 ? `${name.slice(0, 10)}… (${name.length} chars)` : name)} in read, stat and remove`, async () => {
      const storage = freshStorage();
      const check = (error: unknown) => error instanceof BackupError && /Invalid backup file name/.test(error.message);
      assert.throws(() => storage.read(name), check);
      await assert.rejects(storage.stat(name), check);
      await assert.rejects(storage.remove(name), check);
    });
  }

  test("a traversal cannot read a file outside the directory", async () => {
    const storage = freshStorage();
    writeFileSync(join(root, "outside.sql.gz"), "secret");
    assert.throws(() => storage.read("../outside.sql.gz"), BackupError);
  });
});

describe("LocalStorage.list, stat, remove", () => {
  test("lists regular visible files only: no temp files, no hidden files, no subdirectories", async () => {
    const storage = freshStorage();
    await storage.create(() => "b.sql.gz", Readable.from([Buffer.from("bb")]));
    writeFileSync(join(storage.location, "a.manifest.json"), "{}");
    writeFileSync(join(storage.location, `.c.sql.gz.tmp-${hostname()}-${process.pid}-0123456789ab`), "partial");
    writeFileSync(join(storage.location, ".DS_Store"), "");
    mkdirSync(join(storage.location, "old"));
    const listing = await storage.list();
    assert.equal(listing.complete, true);
    assert.deepEqual(
      listing.files.map((f) => [f.name, f.size]).sort(),
      [
        ["a.manifest.json", 2],
        ["b.sql.gz", 2],
      ],
    );
    assert.ok(listing.files.every((f) => f.modifiedAt instanceof Date && !Number.isNaN(f.modifiedAt.getTime())));
  });

  test("stat: size of a file, undefined when missing or a directory", async () => {
    const storage = freshStorage();
    await storage.create(() => "s.sql.gz", Readable.from([Buffer.from("12345")]));
    mkdirSync(join(storage.location, "dir.sql.gz"));
    assert.equal((await storage.stat("s.sql.gz"))?.size, 5);
    assert.equal(await storage.stat("missing.sql.gz"), undefined);
    assert.equal(await storage.stat("dir.sql.gz"), undefined);
  });

  test("remove deletes the file and nothing else; a missing file is already removed", async () => {
    const storage = freshStorage();
    await storage.create(() => "r.sql.gz", Readable.from([Buffer.from("x")]));
    await storage.remove("r.sql.gz");
    assert.deepEqual(allEntries(storage), []);
    await storage.remove("r.sql.gz");
  });
});

describe("LocalStorage constructor", () => {
  test("a missing directory is refused, read or write, and nothing is created: a volume that is not mounted must not pass for one", () => {
    const path = join(root, "not-mounted", "backups");
    for (const access of ["read", "write"] as const) {
      assert.throws(
        () => new LocalStorage(path, { access }),
        (error: unknown) =>
          error instanceof BackupError && error.message.startsWith(`The backup directory ${path} does not exist.`) &&
          /mount the backup volume at this path on every worker/.test(error.message) && /create_backup_dir: true/.test(error.message),
      );
      assert.throws(() => new LocalStorage(path, { access: "read", create: true }), /does not exist/, "a read never creates");
    }
    assert.equal(existsSync(join(root, "not-mounted")), false);
  });

  test("with create (create_backup_dir), a missing directory is made, with parents, mode 0700", () => {
    const path = join(root, "new-parent", "backups");
    const storage = new LocalStorage(path, { access: "write", create: true });
    assert.equal(storage.location, path);
    assert.equal(statSync(path).mode & 0o777, 0o700);
  });

  test("a file where the directory should be, or under it, is a clear error naming the path and the setting", () => {
    const file = join(root, "a-file");
    writeFileSync(file, "");
    assert.throws(() => new LocalStorage(file, { access: "read" }),
      /The backup directory .*a-file is not a directory\. Set backup_dir in f\/admin\/backup_settings/);
    assert.throws(
      () => new LocalStorage(join(file, "backups"), { access: "write", create: true }),
      (error: unknown) =>
        error instanceof BackupError && error.message.includes(join(file, "backups")) && /f\/admin\/backup_settings/.test(error.message),
    );
  });

  test("a read-only directory is refused up front", { skip: process.getuid?.() === 0 ? "root can write anywhere" : false }, () => {
    const path = join(root, "read-only");
    mkdirSync(path, { mode: 0o500 });
    try {
      assert.throws(() => new LocalStorage(path), BackupError);
    } finally {
      chmodSync(path, 0o700);
    }
  });
});

describe("LocalStorage.sweepStaleTemps", () => {
  const host = hostname().replace(/[^A-Za-z0-9.-]/g, "_") || "localhost";
  const deadPid = (): number => {
    const child = spawnSync(process.execPath, ["-e", ""]);
    assert.ok(child.pid);
    return child.pid;
  };
  const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3_600_000);

  test("removes temps of dead processes of this host and old temps of any host; keeps the rest", async () => {
    const storage = freshStorage();
    const temps = {
      dead: `.fb_a.sql.gz.tmp-${host}-${deadPid()}-aaaaaaaaaaaa`,
      live: `.fb_b.sql.gz.tmp-${host}-${process.pid}-bbbbbbbbbbbb`,
      otherHostRecent: `.fb_c.sql.gz.tmp-other-host-1-cccccccccccc`,
      otherHostOld: `.fb_d.sql.gz.tmp-other-host-1-dddddddddddd`,
      liveButOld: `.fb_e.sql.gz.tmp-${host}-${process.pid}-eeeeeeeeeeee`,
    };
    for (const name of Object.values(temps)) writeFileSync(join(storage.location, name), "partial");
    utimesSync(join(storage.location, temps.otherHostOld), hoursAgo(7), hoursAgo(7));
    utimesSync(join(storage.location, temps.liveButOld), hoursAgo(7), hoursAgo(7));
    // Old files that are not our temps are never touched by the sweep.
    const bystanders = ["fb_old.sql.gz", ".fb_old.sql.gz.tmp", "notes.tmp-x-1-ffffffffffff"];
    for (const name of bystanders) {
      writeFileSync(join(storage.location, name), "keep me");
      utimesSync(join(storage.location, name), hoursAgo(100), hoursAgo(100));
    }

    const removed = await storage.sweepStaleTemps();
    assert.deepEqual(removed.sort(), [temps.dead, temps.otherHostOld, temps.liveButOld].sort());
    assert.deepEqual(allEntries(storage), [...bystanders, temps.live, temps.otherHostRecent].sort());
  });

  test("the age threshold is configurable", async () => {
    const storage = freshStorage();
    const name = `.fb.sql.gz.tmp-other-host-1-abcdefabcdef`;
    writeFileSync(join(storage.location, name), "partial");
    utimesSync(join(storage.location, name), hoursAgo(2), hoursAgo(2));
    assert.deepEqual(await storage.sweepStaleTemps(), []);
    assert.deepEqual(await storage.sweepStaleTemps({ olderThanMs: 3_600_000 }), [name]);
  });

  test("the temp file of a create in progress survives a sweep", async () => {
    const storage = freshStorage();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const body = Readable.from(
      (async function*() {
        yield Buffer.from("first half ");
        await gate;
        yield Buffer.from("second half");
      })(),
    );
    const creating = storage.create(() => "inflight.sql.gz", body);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(allEntries(storage).length, 1, "the temp file exists while writing");
    assert.deepEqual(await storage.sweepStaleTemps(), []);
    release();
    const file = await creating;
    assert.equal(readFileSync(join(storage.location, file.name), "utf8"), "first half second half");
  });
});

test("freeBytes reports a positive amount no larger than the file system", async () => {
  const free = await freeBytes(root);
  assert.ok(free > 0);
  const size = spawnSync("df", ["-k", "--output=size", root], { encoding: "utf8" });
  const totalKb = Number(size.stdout.trim().split("\n").at(-1));
  if (Number.isFinite(totalKb) && totalKb > 0) assert.ok(free <= totalKb * 1024);
});
