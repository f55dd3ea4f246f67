// The catalog judge against real servers of every version this run covers: it describes a fixture
// with every object kind, sees no difference in a copy (CREATE DATABASE … TEMPLATE) nor, where
// pg_dump exists, in a pg_dump | psql restore, and finds each difference planted in a copy.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { catalogOf, compareCatalogs, type CatalogDescription } from "./support/catalog-judge.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { serversUnderTest } from "./support/servers.ts";

/** At least one object of every kind the judge reads, in forms that work on PostgreSQL 14 to 18. */
const FIXTURE = String.raw`
CREATE EXTENSION cube;
CREATE EXTENSION citext;
CREATE SCHEMA "Ünï ""quoted""";
CREATE EXTENSION hstore WITH SCHEMA "Ünï ""quoted""";
CREATE EXTENSION ltree;
COMMENT ON SCHEMA "Ünï ""quoted""" IS 'odd name';

CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
ALTER TYPE public.mood ADD VALUE 'meh' BEFORE 'ok';
CREATE DOMAIN public.posint AS integer DEFAULT 1 NOT NULL CONSTRAINT posint_positive CHECK (VALUE > 0);
CREATE TYPE public.pair AS (a integer, b text COLLATE "C");
CREATE TYPE public.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE COLLATION public.bytewise (provider = libc, locale = 'C');

CREATE SEQUENCE public.codes AS integer START 100 INCREMENT 3 MAXVALUE 100000 CACHE 2 CYCLE;
SELECT nextval('public.codes'), nextval('public.codes');

CREATE TABLE public.people (
  id integer GENERATED ALWAYS AS IDENTITY (START WITH 10) PRIMARY KEY,
  doomed text,
  email public.citext NOT NULL UNIQUE,
  name text COLLATE public.bytewise NOT NULL CHECK (name <> ''),
  mood public.mood DEFAULT 'ok',
  size public.posint,
  attrs "Ünï ""quoted""".hstore,
  path public.ltree,
  spot public.cube,
  name_upper text GENERATED ALWAYS AS (upper(name)) STORED,
  born date DEFAULT '2000-01-01',
  manager integer REFERENCES public.people (id) DEFERRABLE
) WITH (fillfactor = 80);
ALTER TABLE public.people DROP COLUMN doomed;
ALTER TABLE public.people ALTER COLUMN name SET STORAGE EXTERNAL;
ALTER TABLE public.people ALTER COLUMN name SET COMPRESSION pglz;
ALTER TABLE public.people ALTER COLUMN born SET STATISTICS 300;
ALTER TABLE public.people ADD CONSTRAINT people_born_check CHECK (born > '1900-01-01') NOT VALID;
INSERT INTO public.people (email, name, path, spot) VALUES ('a@x', 'Ann', 'top.a', '(1,2)'), ('b@x', 'Bob', 'top.b', '(3,4)');
CREATE INDEX people_spot ON public.people USING gist (spot);
CREATE INDEX people_recent ON public.people (born DESC) INCLUDE (name) WHERE manager IS NOT NULL;
CREATE INDEX people_lower ON public.people (lower(email::text));
CLUSTER public.people USING people_lower;
COMMENT ON TABLE public.people IS 'people';
COMMENT ON COLUMN public.people.email IS 'unique';
COMMENT ON CONSTRAINT people_born_check ON public.people IS 'not validated';

CREATE UNLOGGED TABLE "Ünï ""quoted"""."tåble" ("çol" text, during public.floatrange,
  EXCLUDE USING gist (during WITH &&));
CREATE TABLE public.events (id bigint, at date NOT NULL, kind text) PARTITION BY RANGE (at);
CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (kind);
CREATE TABLE public.events_2024_a PARTITION OF public.events_2024 FOR VALUES IN ('a');
CREATE TABLE public.events_other PARTITION OF public.events DEFAULT;
CREATE INDEX events_at ON public.events (at);
CREATE TABLE public.shards (id integer) PARTITION BY HASH (id);
CREATE TABLE public.shards_0 PARTITION OF public.shards FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE public.shards_1 PARTITION OF public.shards FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE public.parent (id integer, note text);
CREATE TABLE public.child (extra text) INHERITS (public.parent);
CREATE TABLE public.typed OF public.pair;
CREATE STATISTICS public.people_stats (dependencies) ON born, mood FROM public.people;

CREATE FUNCTION public.label(p public.people) RETURNS text LANGUAGE sql STABLE AS $$ SELECT p.name || '!' $$;
CREATE FUNCTION public.positive(n numeric) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN n > 0;
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION public.count_new() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE PROCEDURE public.tidy(keep integer) LANGUAGE sql AS $$ DELETE FROM public.parent WHERE id > keep $$;
CREATE AGGREGATE public.total(integer) (sfunc = int4pl, stype = integer, initcond = '0');
CREATE FUNCTION public.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER watch_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE') EXECUTE FUNCTION public.on_ddl();
COMMENT ON FUNCTION public.label(public.people) IS 'a label';

CREATE TRIGGER people_touch BEFORE UPDATE ON public.people FOR EACH ROW EXECUTE FUNCTION public.touch();
ALTER TABLE public.people DISABLE TRIGGER people_touch;
CREATE CONSTRAINT TRIGGER parent_check AFTER INSERT ON public.parent DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.touch();
CREATE TRIGGER parent_batch AFTER INSERT ON public.parent REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION public.count_new();
CREATE RULE parent_no_delete AS ON DELETE TO public.parent DO INSTEAD NOTHING;

CREATE VIEW public.labels WITH (security_barrier = true) AS SELECT p.id, public.label(p) AS label FROM public.people p;
CREATE VIEW public.nested AS SELECT * FROM public.labels WHERE id > 10 WITH LOCAL CHECK OPTION;
CREATE MATERIALIZED VIEW public.moods AS SELECT mood, count(*) AS n FROM public.people GROUP BY mood;
CREATE MATERIALIZED VIEW public.unfilled AS SELECT 1 AS x WITH NO DATA;
CREATE UNIQUE INDEX moods_mood ON public.moods (mood);

ALTER TABLE public.parent ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.parent FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON public.parent AS RESTRICTIVE FOR SELECT TO judge_reader USING (note = current_user);
CREATE PUBLICATION everything_people FOR TABLE public.people, public.parent WITH (publish = 'insert');

CREATE TEXT SEARCH CONFIGURATION public.plain (COPY = simple);
CREATE TEXT SEARCH DICTIONARY public.plain_dict (TEMPLATE = simple, STOPWORDS = english);
CREATE CAST (public.pair AS text) WITH INOUT;
CREATE OPERATOR public.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = int4eq, COMMUTATOR = OPERATOR(public.===));
CREATE FOREIGN DATA WRAPPER dummy;
CREATE SERVER elsewhere FOREIGN DATA WRAPPER dummy OPTIONS (host 'nowhere');
CREATE FOREIGN TABLE public.remote (id integer OPTIONS (column_name 'ident')) SERVER elsewhere OPTIONS (table_name 'far');

GRANT SELECT (name, email) ON public.people TO judge_reader;
GRANT USAGE ON SCHEMA "Ünï ""quoted""" TO judge_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO judge_reader;
SELECT lo_from_bytea(4242, '\x00ff00'::bytea);
`;

/** A key of each kind the judge must report for the fixture. */
const EXPECTED_KEYS = [
  `schema "Ünï ""quoted"""`, "extension cube", "type public.mood", "type public.posint", "domain constraint public.posint.posint_positive",
  "type public.pair", "type public.floatrange", "collation public.bytewise", "table public.people", "column public.people.email",
  "constraint people_born_check on public.people", `constraint "tåble_during_excl" on "Ünï ""quoted"""."tåble"`, "index public.people_spot",
  "table public.events_2024_a", "table public.child", "table public.typed", "statistics public.people_stats", "view public.nested",
  "materialized view public.unfilled", "sequence public.codes", "sequence value public.codes", "sequence public.people_id_seq",
  "function public.label(p public.people)", "procedure public.tidy(IN keep integer)", "aggregate public.total(integer)",
  "trigger people_touch on public.people", "trigger parent_check on public.parent", "event trigger watch_ddl",
  "rule parent_no_delete on public.parent", "policy own_rows on public.parent", "publication everything_people",
  "text search configuration public.plain", "text search dictionary public.plain_dict", "cast (public.pair AS text)",
  "operator public.===(integer,integer)", "foreign-data wrapper dummy", "server elsewhere", "foreign table public.remote",
  "default privileges for postgres in public on r", "large object 4242", "comment on table public.people",
  "comment on table column public.people.email", "comment on table constraint people_born_check on public.people",
];

/** Each change made to a copy, and the differences the judge must report for it. */
const PLANTED: Array<{ change: string; sql: string; expected: string[] }> = [
  { change: "a changed default", sql: "ALTER TABLE public.people ALTER COLUMN born SET DEFAULT '2001-01-01'", expected: ["differs: column public.people.born"] },
  { change: "a missing index", sql: "DROP INDEX public.people_lower", expected: ["only in source: index public.people_lower"] },
  { change: "a changed comment", sql: "COMMENT ON TABLE public.people IS 'persons'", expected: ["differs: comment on table public.people"] },
  { change: "a sequence value", sql: "SELECT setval('public.codes', 103, false)", expected: ["differs: sequence value public.codes"] },
  { change: "an identity's position", sql: "SELECT nextval('public.people_id_seq')", expected: ["differs: sequence value public.people_id_seq"] },
  { change: "an enum label order", sql: "ALTER TYPE public.mood ADD VALUE 'zen' BEFORE 'sad'", expected: ["differs: type public.mood"] },
  { change: "a re-enabled trigger", sql: "ALTER TABLE public.people ENABLE TRIGGER people_touch", expected: ["differs: trigger people_touch on public.people"] },
  { change: "a populated materialized view", sql: "REFRESH MATERIALIZED VIEW public.unfilled", expected: ["differs: materialized view public.unfilled"] },
  { change: "a validated constraint", sql: "ALTER TABLE public.people VALIDATE CONSTRAINT people_born_check", expected: ["differs: constraint people_born_check on public.people"] },
  { change: "a lost column grant", sql: "REVOKE SELECT (email) ON public.people FROM judge_reader", expected: ["differs: column public.people.email"] },
  { change: "a lost policy", sql: "DROP POLICY own_rows ON public.parent", expected: ["only in source: policy own_rows on public.parent"] },
  { change: "row security no longer forced", sql: "ALTER TABLE public.parent NO FORCE ROW LEVEL SECURITY", expected: ["differs: table public.parent"] },
  { change: "a changed large object", sql: "SELECT lo_put(4242, 0, '\\x01'::bytea)", expected: ["differs: large object 4242"] },
  { change: "a detached partition", sql: "ALTER TABLE public.shards DETACH PARTITION public.shards_1", expected: ["differs: column public.shards_1.id", "differs: table public.shards_1"] },
  { change: "a changed view", sql: "CREATE OR REPLACE VIEW public.nested AS SELECT * FROM public.labels WHERE id > 11 WITH LOCAL CHECK OPTION", expected: ["differs: view public.nested"] },
  { change: "a changed function body", sql: "CREATE OR REPLACE FUNCTION public.positive(n numeric) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN n >= 0", expected: ["differs: function public.positive(n numeric)"] },
  { change: "a lost publication member", sql: "ALTER PUBLICATION everything_people DROP TABLE public.parent", expected: ["differs: publication everything_people"] },
  { change: "a cleared storage setting", sql: "ALTER TABLE public.people ALTER COLUMN name SET STORAGE EXTENDED", expected: ["differs: column public.people.name"] },
];

for (const planned of serversUnderTest()) {
  describe(`catalog judge on PostgreSQL ${planned.major}`, () => {
    let cluster: Cluster | undefined;
    let source: CatalogDescription;

    before(async () => {
      if (!("server" in planned)) return;
      cluster = await startCluster({ bin: planned.server.bin });
      await cluster.query("postgres", "CREATE ROLE judge_reader");
      await cluster.createDatabase("fixture");
      await cluster.query("fixture", FIXTURE);
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
      const extensionMembers = [...source.keys()].filter((key) => /cube_|hstore|citext|ltree(?!'| )|lquery/.test(key) && !/^(comment on )?extension /.test(key));
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
      const dump = spawnSync(join(cluster.clientBin, "pg_dump"), ["-d", "fixture"], { env: cluster.libpqEnv(), encoding: "utf8", maxBuffer: 64 << 20 });
      assert.equal(dump.status, 0, dump.stderr);
      const load = spawnSync(join(cluster.clientBin, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "dumped"], {
        env: cluster.libpqEnv(), encoding: "utf8", input: dump.stdout,
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
