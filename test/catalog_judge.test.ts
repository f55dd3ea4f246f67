// The catalog judge against real servers of every version this run covers: it describes a fixture
// with every object kind, sees no difference in a copy (CREATE DATABASE … TEMPLATE) nor, where
// pg_dump exists, in a pg_dump | psql restore, and finds each difference planted in a copy.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { catalogOf, compareCatalogs, type CatalogDescription } from "./support/catalog-judge.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { EVERY_KIND_ROLE, everyKind } from "./support/every-kind.ts";
import { serversUnderTest } from "./support/servers.ts";

/** A key of each kind the judge must report for the fixture. */
const EXPECTED_KEYS = [
  `schema "Ünï ""quoted"""`,
  "extension cube",
  "type public.mood",
  "type public.posint",
  "domain constraint public.posint.posint_positive",
  "type public.pair",
  "type public.floatrange",
  "collation public.bytewise",
  "table public.people",
  "column public.people.email",
  "constraint people_born_check on public.people",
  `constraint "tåble_during_excl" on "Ünï ""quoted"""."tåble"`,
  "index public.people_spot",
  "table public.events_2024_a",
  "table public.child",
  "table public.typed",
  "statistics public.people_stats",
  "view public.nested",
  "materialized view public.unfilled",
  "sequence public.codes",
  "sequence value public.codes",
  "sequence public.people_id_seq",
  "function public.label(p public.people)",
  "procedure public.tidy(IN keep integer)",
  "aggregate public.total(integer)",
  "trigger people_touch on public.people",
  "trigger parent_check on public.parent",
  "event trigger watch_ddl",
  "rule parent_no_delete on public.parent",
  "policy own_rows on public.parent",
  "publication everything_people",
  "text search configuration public.plain",
  "text search dictionary public.plain_dict",
  "cast (public.pair AS text)",
  "operator public.===(integer,integer)",
  "foreign-data wrapper dummy",
  "server elsewhere",
  "foreign table public.remote",
  "default privileges for postgres in public on r",
  "large object 4242",
  "comment on table public.people",
  "comment on table column public.people.email",
  "comment on table constraint people_born_check on public.people",
  `operator family "Ünï ""quoted"""."rev ""fam"" */\n\\." using btree`,
  "operator family public.int4_same_ops using hash",
  "access method btree_too",
  `conversion "Ünï ""quoted"""."latin ""to"" utf */\n\\."`,
  `language "pl ""copy""\n*/ \\."`,
  `transform for integer language "pl ""copy""\n*/ \\."`,
  `text search parser "Ünï ""quoted"""."parser ""x"" */\n\\."`,
  `text search template public."template ""x"" */\n\\."`,
  "table public.other_am",
];

/** Each change made to a copy, and the differences the judge must report for it. */
const PLANTED: Array<{ change: string; sql: string; expected: string[] }> = [
  { change: "a changed default", sql: "ALTER TABLE public.people ALTER COLUMN born SET DEFAULT '2001-01-01'",
    expected: ["differs: column public.people.born"] },
  { change: "a missing index", sql: "DROP INDEX public.people_lower", expected: ["only in source: index public.people_lower"] },
  { change: "a changed comment", sql: "COMMENT ON TABLE public.people IS 'persons'",
    expected: ["differs: comment on table public.people"] },
  { change: "a sequence value", sql: "SELECT setval('public.codes', 103, false)", expected: ["differs: sequence value public.codes"] },
  { change: "an identity's position", sql: "SELECT nextval('public.people_id_seq')",
    expected: ["differs: sequence value public.people_id_seq"] },
  { change: "an enum label order", sql: "ALTER TYPE public.mood ADD VALUE 'zen' BEFORE 'sad'", expected: ["differs: type public.mood"] },
  { change: "a re-enabled trigger", sql: "ALTER TABLE public.people ENABLE TRIGGER people_touch",
    expected: ["differs: trigger people_touch on public.people"] },
  { change: "a populated materialized view", sql: "REFRESH MATERIALIZED VIEW public.unfilled",
    expected: ["differs: materialized view public.unfilled"] },
  { change: "a validated constraint", sql: "ALTER TABLE public.people VALIDATE CONSTRAINT people_born_check",
    expected: ["differs: constraint people_born_check on public.people"] },
  { change: "a lost column grant", sql: "REVOKE SELECT (email) ON public.people FROM judge_reader",
    expected: ["differs: column public.people.email"] },
  { change: "a lost policy", sql: "DROP POLICY own_rows ON public.parent", expected: ["only in source: policy own_rows on public.parent"] },
  { change: "row security no longer forced", sql: "ALTER TABLE public.parent NO FORCE ROW LEVEL SECURITY",
    expected: ["differs: table public.parent"] },
  { change: "a changed large object", sql: "SELECT lo_put(4242, 0, '\\x01'::bytea)", expected: ["differs: large object 4242"] },
  { change: "a detached partition", sql: "ALTER TABLE public.shards DETACH PARTITION public.shards_1",
    expected: ["differs: column public.shards_1.id", "differs: table public.shards_1"] },
  { change: "a changed view",
    sql: "CREATE OR REPLACE VIEW public.nested AS SELECT * FROM public.labels WHERE id > 11 WITH LOCAL CHECK OPTION",
    expected: ["differs: view public.nested"] },
  { change: "a changed function body",
    sql: "CREATE OR REPLACE FUNCTION public.positive(n numeric) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN n >= 0",
    expected: ["differs: function public.positive(n numeric)"] },
  { change: "a lost publication member", sql: "ALTER PUBLICATION everything_people DROP TABLE public.parent",
    expected: ["differs: publication everything_people"] },
  { change: "a cleared storage setting", sql: "ALTER TABLE public.people ALTER COLUMN name SET STORAGE EXTENDED",
    expected: ["differs: column public.people.name"] },
];

for (const planned of serversUnderTest()) {
  describe(`catalog judge on PostgreSQL ${planned.major}`, () => {
    let cluster: Cluster | undefined;
    let source: CatalogDescription;

    before(async () => {
      if (!("server" in planned)) return;
      cluster = await startCluster({ bin: planned.server.bin });
      await cluster.query("postgres", `CREATE ROLE ${EVERY_KIND_ROLE}`);
      await cluster.createDatabase("fixture");
      await cluster.query("fixture", everyKind(planned.major));
      source = await catalogOf(cluster, "fixture");
    });

    after(async () => {
      await cluster?.stop();
    });

    /** A byte-for-byte copy of the fixture, the closest thing to a perfect restore. */
    async function copyOfFixture(name: string): Promise<Cluster> {
      assert.ok(cluster);
      await cluster.query("postgres", `CREATE DATABASE ${name} TEMPLATE fixture`);
      return cluster;
    }

    test("describes every object kind of the fixture, and nothing of the extensions' own", (t) => {
      if (!cluster) return t.skip("missing" in planned ? planned.missing : "");
      const missing = EXPECTED_KEYS.filter((key) => !source.has(key));
      assert.deepEqual(missing, [], `not described:\n${missing.join("\n")}\nkeys:\n${[...source.keys()].join("\n")}`);
      const extensionMembers = [...source.keys()].filter((key) =>
        /cube_|hstore|citext|ltree(?!'| )|lquery/.test(key) && !/^(comment on )?extension /.test(key)
      );
      assert.deepEqual(extensionMembers, []);
      assert.match(source.get("type public.mood")!, /\{sad,meh,ok,happy\}/);
      assert.match(source.get("column public.people.born")!, /^#10 date default '2000-01-01'::date .*statistics 300/);
      assert.match(source.get("sequence value public.codes")!, /^last_value 103 is_called t$/);
    });

    test("sees no difference in a copy made with CREATE DATABASE … TEMPLATE", async (t) => {
      if (!cluster) return t.skip("missing" in planned ? planned.missing : "");
      const copy = await copyOfFixture("exact_copy");
      assert.deepEqual(compareCatalogs(source, await catalogOf(copy, "exact_copy")), []);
    });

    test("sees no difference in a pg_dump | psql restore (it agrees with pg_dump on what a faithful restore is)", async (t) => {
      if (!cluster) return t.skip("missing" in planned ? planned.missing : "");
      if (!cluster.clientBin) return t.skip(`no pg_dump ${planned.major} on this machine (Debian ships only 15's client tools)`);
      await cluster.createDatabase("dumped");
      const dump = spawnSync(join(cluster.clientBin, "pg_dump"), ["-d", "fixture"], { env: cluster.libpqEnv(), encoding: "utf8",
        maxBuffer: 64 << 20 });
      assert.equal(dump.status, 0, dump.stderr);
      const load = spawnSync(join(cluster.clientBin, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "dumped"], {
        env: cluster.libpqEnv(),
        encoding: "utf8",
        input: dump.stdout,
      });
      assert.equal(load.status, 0, load.stderr);
      assert.deepEqual(compareCatalogs(source, await catalogOf(cluster, "dumped")), []);
    });

    for (const [i, plant] of PLANTED.entries()) {
      test(`finds ${plant.change}`, async (t) => {
        if (!cluster) return t.skip("missing" in planned ? planned.missing : "");
        const name = `planted_${i}`;
        const copy = await copyOfFixture(name);
        await copy.query(name, plant.sql);
        const differences = compareCatalogs(source, await catalogOf(copy, name));
        assert.deepEqual(differences.map((d) => d.split("\n")[0]), plant.expected, differences.join("\n"));
      });
    }
  });
}
