// Object kinds beyond the basics, end to end through the backup and restore operations, on every
// server this run covers: a fixture with data for every kind is backed up, restored into a new
// database, restored with plain `gunzip -c | psql`, and restored in place over a changed copy;
// pg_dump --schema-only (or, without it, the catalog judge) and the server's row digests must agree.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { createBackup, type BackupOutcome } from "../f/admin/lib/operations/backup.ts";
import { restoreBackup } from "../f/admin/lib/operations/restore.ts";
import { LocalStorage } from "../f/admin/lib/storage/local.ts";
import { BackupSettings, DatabaseResource } from "../f/admin/lib/settings.ts";
import { catalogOf, compareCatalogs } from "./support/catalog-judge.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { dataFingerprint, schemaText } from "./support/judge.ts";
import { serversUnderTest } from "./support/servers.ts";

const FIXTURE = String.raw`
CREATE SCHEMA kinds;
CREATE COLLATION kinds."c plain" (provider = libc, locale = 'C');
CREATE COLLATION kinds.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
COMMENT ON COLLATION kinds.ci IS 'case-insensitive';

CREATE FUNCTION kinds.is_even(n integer) RETURNS boolean LANGUAGE sql IMMUTABLE RETURN n % 2 = 0;
CREATE DOMAIN kinds.even AS integer NOT NULL DEFAULT 0 CONSTRAINT even_check CHECK (kinds.is_even(VALUE));
CREATE DOMAIN kinds.label AS text COLLATE kinds."c plain" CHECK (VALUE <> '') CHECK (length(VALUE) < 100);
ALTER DOMAIN kinds.label ADD CONSTRAINT label_no_tab CHECK (VALUE !~ E'\t') NOT VALID;
COMMENT ON DOMAIN kinds.even IS 'even numbers';
COMMENT ON CONSTRAINT even_check ON DOMAIN kinds.even IS 'checked by a function';

CREATE TYPE kinds.pair AS (a integer, b kinds.label, c text COLLATE kinds.ci);
COMMENT ON TYPE kinds.pair IS 'two things';
COMMENT ON COLUMN kinds.pair.a IS 'first';
CREATE TYPE kinds.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE FUNCTION kinds.time_diff(a time, b time) RETURNS float8 LANGUAGE sql IMMUTABLE STRICT RETURN EXTRACT(epoch FROM a - b);
CREATE TYPE kinds.timerange AS RANGE (subtype = time, subtype_diff = kinds.time_diff, multirange_type_name = kinds.time_multi);
CREATE TYPE kinds.textrange AS RANGE (subtype = text, collation = kinds."c plain");
COMMENT ON TYPE kinds.timerange IS 'opening hours';

CREATE TEXT SEARCH DICTIONARY kinds."plain dict" (TEMPLATE = simple, STOPWORDS = english, ACCEPT = false);
CREATE TEXT SEARCH DICTIONARY kinds.stems (TEMPLATE = snowball, language = 'english');
COMMENT ON TEXT SEARCH DICTIONARY kinds."plain dict" IS 'stop words, passed on';
CREATE TEXT SEARCH CONFIGURATION kinds.docs (COPY = english);
ALTER TEXT SEARCH CONFIGURATION kinds.docs ALTER MAPPING FOR asciiword, word WITH kinds."plain dict", kinds.stems;
ALTER TEXT SEARCH CONFIGURATION kinds.docs DROP MAPPING FOR email, url, int;
COMMENT ON TEXT SEARCH CONFIGURATION kinds.docs IS 'documents';
CREATE TEXT SEARCH CONFIGURATION kinds.bare (PARSER = default);

CREATE FUNCTION kinds.myabs(integer) RETURNS integer LANGUAGE internal IMMUTABLE STRICT AS 'int4abs';
CREATE FUNCTION kinds.lookup(t text) RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp SET work_mem = '8MB' AS $$ BEGIN RETURN t; END $$;
CREATE FUNCTION kinds.lookup(t integer) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN t::text;
CREATE FUNCTION kinds.running(integer) RETURNS bigint LANGUAGE internal WINDOW IMMUTABLE AS 'window_row_number';
CREATE PROCEDURE kinds.bump(INOUT n integer, step integer DEFAULT 1) LANGUAGE plpgsql AS $$ BEGIN n := n + step; END $$;
COMMENT ON PROCEDURE kinds.bump(integer, integer) IS 'adds';
CREATE FUNCTION kinds.concat_step(acc text, x text) RETURNS text LANGUAGE sql IMMUTABLE
  RETURN CASE WHEN acc IS NULL THEN x ELSE acc || ',' || x END;
CREATE AGGREGATE kinds.joined(text) (SFUNC = kinds.concat_step, STYPE = text);
CREATE AGGREGATE kinds.joined(integer) (SFUNC = int4pl, STYPE = integer, INITCOND = '0');
COMMENT ON AGGREGATE kinds.joined(text) IS 'comma list';
CREATE AGGREGATE kinds.fsum(float8) (SFUNC = float8pl, STYPE = float8, COMBINEFUNC = float8pl, INITCOND = '0',
  MSFUNC = float8pl, MINVFUNC = float8mi, MSTYPE = float8, MINITCOND = '0', PARALLEL = SAFE);
CREATE AGGREGATE kinds.cnt(*) (SFUNC = int8inc, STYPE = int8, INITCOND = '0');
CREATE AGGREGATE kinds.biggest(integer) (SFUNC = int4larger, STYPE = integer, SORTOP = >);
CREATE AGGREGATE kinds.pct(float8 ORDER BY anyelement) (SFUNC = ordered_set_transition, STYPE = internal,
  FINALFUNC = percentile_disc_final, FINALFUNC_EXTRA);
CREATE AGGREGATE kinds.hrank(VARIADIC "any" ORDER BY VARIADIC "any") (SFUNC = ordered_set_transition_multi,
  STYPE = internal, FINALFUNC = rank_final, FINALFUNC_EXTRA, HYPOTHETICAL);

CREATE TABLE kinds.measures (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  n kinds.even,
  lbl kinds.label,
  p kinds.pair,
  r kinds.floatrange,
  during kinds.timerange,
  name text COLLATE kinds.ci,
  big text,
  gone text,
  doubled integer GENERATED ALWAYS AS (n * 2) STORED,
  CONSTRAINT no_overlap EXCLUDE USING gist (r WITH &&) DEFERRABLE
) WITH (fillfactor = 70, toast.autovacuum_enabled = false);
ALTER TABLE kinds.measures DROP COLUMN gone;
ALTER TABLE kinds.measures ALTER COLUMN big SET STORAGE EXTERNAL, ALTER COLUMN big SET COMPRESSION pglz,
  ALTER COLUMN name SET STATISTICS 500, ALTER COLUMN lbl SET (n_distinct = 10);
CREATE INDEX measures_name_incl ON kinds.measures (id) INCLUDE (name, n);
CREATE INDEX measures_lbl ON kinds.measures (lbl COLLATE "C" text_pattern_ops DESC NULLS LAST) WITH (fillfactor = 50);
CLUSTER kinds.measures USING measures_lbl;
CREATE STATISTICS kinds.measures_deps (dependencies, ndistinct) ON n, lbl FROM kinds.measures;
CREATE STATISTICS kinds."measures all" ON n, name, lbl FROM kinds.measures;
ALTER STATISTICS kinds."measures all" SET STATISTICS 200;
CREATE STATISTICS kinds.measures_expr (mcv) ON (n * 2), lower(big) FROM kinds.measures;
COMMENT ON STATISTICS kinds.measures_deps IS 'n and lbl go together';
ALTER TABLE kinds.measures REPLICA IDENTITY USING INDEX measures_pkey;

CREATE TABLE kinds.events (id bigint NOT NULL, at date NOT NULL, kind text NOT NULL DEFAULT 'a', payload jsonb, CHECK (id > 0))
  PARTITION BY RANGE (at);
CREATE TABLE kinds.events_2024 PARTITION OF kinds.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE kinds.events_2025 PARTITION OF kinds.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01') PARTITION BY LIST (kind);
CREATE TABLE kinds.events_2025_ab PARTITION OF kinds.events_2025 FOR VALUES IN ('a', 'b');
CREATE TABLE kinds.events_2025_rest PARTITION OF kinds.events_2025 DEFAULT;
CREATE TABLE kinds.events_old (id bigint NOT NULL, extra integer, at date NOT NULL, kind text NOT NULL, payload jsonb,
  CHECK (id < 1000000), CONSTRAINT events_id_check CHECK (id > 0));
ALTER TABLE kinds.events_old DROP COLUMN extra;
ALTER TABLE kinds.events ATTACH PARTITION kinds.events_old DEFAULT;
ALTER TABLE kinds.events ADD PRIMARY KEY (id, at, kind);
CREATE INDEX events_kind ON kinds.events (kind);
COMMENT ON TABLE kinds.events IS 'partitioned by day';
CREATE TABLE kinds.event_notes (event_id bigint, event_at date, event_kind text, note text,
  FOREIGN KEY (event_id, event_at, event_kind) REFERENCES kinds.events);
CREATE TABLE kinds.buckets (id integer, v text) PARTITION BY HASH (id);
CREATE TABLE kinds.buckets_0 PARTITION OF kinds.buckets FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE kinds.buckets_1 PARTITION OF kinds.buckets FOR VALUES WITH (MODULUS 2, REMAINDER 1);

CREATE TABLE kinds.notes (body text, words tsvector GENERATED ALWAYS AS (to_tsvector('kinds.docs', body)) STORED);
CREATE INDEX notes_words ON kinds.notes USING gin (to_tsvector('kinds.docs'::regconfig, body));

CREATE TABLE kinds.pairs OF kinds.pair (PRIMARY KEY (a), b WITH OPTIONS DEFAULT 'x', c WITH OPTIONS NOT NULL, CHECK (a <> 13));
CREATE TABLE kinds.bare_pairs OF kinds.pair;
CREATE TABLE kinds.pairs_by_a OF kinds.pair (a WITH OPTIONS NOT NULL) PARTITION BY RANGE (a);
CREATE TABLE kinds.pairs_low PARTITION OF kinds.pairs_by_a FOR VALUES FROM (0) TO (100);
COMMENT ON COLUMN kinds.pairs.c IS 'from the type';

CREATE TABLE kinds.animals (id integer, name text NOT NULL, CHECK (id > 0));
CREATE TABLE kinds.dogs (breed text) INHERITS (kinds.animals);
ALTER TABLE kinds.dogs ALTER COLUMN name SET DEFAULT 'rex';

CREATE FUNCTION kinds.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE CONSTRAINT TRIGGER measures_late AFTER INSERT ON kinds.measures DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION kinds.noop();
CREATE TRIGGER events_fresh AFTER INSERT ON kinds.events REFERENCING NEW TABLE AS fresh
  FOR EACH STATEMENT EXECUTE FUNCTION kinds.noop();
CREATE TRIGGER events_row AFTER INSERT ON kinds.events FOR EACH ROW EXECUTE FUNCTION kinds.noop();
ALTER TABLE kinds.events_2024 DISABLE TRIGGER events_row;
CREATE TRIGGER dogs_quiet AFTER UPDATE ON kinds.dogs FOR EACH ROW EXECUTE FUNCTION kinds.noop();
ALTER TABLE kinds.dogs DISABLE TRIGGER dogs_quiet;

CREATE TABLE kinds.log (id serial PRIMARY KEY, msg text, owner name DEFAULT current_user);
CREATE RULE log_keep AS ON DELETE TO kinds.log DO INSTEAD NOTHING;
COMMENT ON RULE log_keep ON kinds.log IS 'append only';
ALTER TABLE kinds.log ENABLE ROW LEVEL SECURITY;
ALTER TABLE kinds.log FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON kinds.log FOR SELECT USING (owner = current_user);
CREATE POLICY "no empty" ON kinds.log AS RESTRICTIVE FOR INSERT TO postgres WITH CHECK (msg <> '');
COMMENT ON POLICY own_rows ON kinds.log IS 'mine';
CREATE VIEW kinds.log_view AS SELECT id, msg FROM kinds.log;
CREATE RULE log_view_insert AS ON INSERT TO kinds.log_view DO INSTEAD INSERT INTO kinds.log (msg) VALUES (NEW.msg);
CREATE PROCEDURE kinds.note(m text) LANGUAGE sql BEGIN ATOMIC INSERT INTO kinds.log (msg) VALUES (m); END;

INSERT INTO kinds.measures (n, lbl, p, r, during, name, big) VALUES
  (2, 'two', ROW(1, 'x', 'Ab'), '[1,2)', '[08:00,12:00)', 'Alpha', repeat('z', 5000)),
  (4, 'four', NULL, '[3,4)', NULL, 'beta', NULL);
INSERT INTO kinds.events VALUES (1, '2024-03-01', 'a', '{"x": 1}'), (2, '2025-02-01', 'a', NULL),
  (3, '2025-02-02', 'z', '[]'), (4, '2019-01-01', 'old', NULL), (5, '2024-04-01', 'a', NULL);
INSERT INTO kinds.event_notes VALUES (1, '2024-03-01', 'a', 'first');
INSERT INTO kinds.buckets SELECT g, 'v' || g FROM generate_series(1, 10) g;
INSERT INTO kinds.animals VALUES (1, 'cat');
INSERT INTO kinds.pairs (a, c) VALUES (1, 'one'), (2, 'Two');
INSERT INTO kinds.bare_pairs VALUES (NULL, NULL, NULL);
INSERT INTO kinds.pairs_by_a VALUES (5, 'five', 'x');
INSERT INTO kinds.notes VALUES ('The running dogs, and a cat 42');
INSERT INTO kinds.dogs VALUES (2, 'rex', 'collie'), (3, 'fido', NULL);
CALL kinds.note('hello');
CALL kinds.note('world');

CREATE MATERIALIZED VIEW kinds.event_counts AS SELECT kind, count(*) AS n FROM kinds.events GROUP BY kind;
CREATE UNIQUE INDEX event_counts_kind ON kinds.event_counts (kind);
CREATE STATISTICS kinds.event_counts_stats ON kind, n FROM kinds.event_counts;
CREATE MATERIALIZED VIEW kinds.busy_kinds AS SELECT kind FROM kinds.event_counts WHERE n > 1;
CREATE MATERIALIZED VIEW kinds.not_yet AS SELECT kinds.joined(msg) AS msgs FROM kinds.log WITH NO DATA;
COMMENT ON MATERIALIZED VIEW kinds.event_counts IS 'per kind';
COMMENT ON COLUMN kinds.event_counts.n IS 'how many';

SELECT lo_from_bytea(4242, convert_to('hello, large object', 'UTF8'));
SELECT lo_from_bytea(4243, decode(repeat('0a1b2c', 100000), 'hex'));
SELECT lo_create(4244);
COMMENT ON LARGE OBJECT 4242 IS 'greeting';

CREATE FUNCTION kinds.on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$;
CREATE EVENT TRIGGER kinds_ddl ON ddl_command_end WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE') EXECUTE FUNCTION kinds.on_ddl();
ALTER EVENT TRIGGER kinds_ddl DISABLE;
COMMENT ON EVENT TRIGGER kinds_ddl IS 'watches';
CREATE EVENT TRIGGER kinds_drop ON sql_drop EXECUTE FUNCTION kinds.on_ddl();

CREATE PUBLICATION pub_all FOR ALL TABLES WITH (publish = 'insert, update');

CREATE TYPE kinds.flag AS ENUM ('on', 'off');
CREATE CAST (money AS bigint) WITHOUT FUNCTION;
CREATE CAST (kinds.pair AS text) WITH INOUT AS ASSIGNMENT;
CREATE FUNCTION kinds.pair_first(kinds.pair) RETURNS integer LANGUAGE sql IMMUTABLE RETURN ($1).a;
CREATE CAST (kinds.pair AS integer) WITH FUNCTION kinds.pair_first(kinds.pair) AS IMPLICIT;
COMMENT ON CAST (kinds.pair AS integer) IS 'first field';
CREATE FUNCTION kinds.to_even(integer) RETURNS kinds.even LANGUAGE sql IMMUTABLE RETURN $1 * 2;
SET client_min_messages = error;
CREATE CAST (integer AS kinds.even) WITH FUNCTION kinds.to_even(integer);
RESET client_min_messages;

CREATE FOREIGN DATA WRAPPER kinds_fdw OPTIONS (debug 'true');
CREATE FOREIGN DATA WRAPPER "kinds checked" VALIDATOR postgresql_fdw_validator;
COMMENT ON FOREIGN DATA WRAPPER kinds_fdw IS 'no handler';
CREATE SERVER kinds_srv TYPE 'csv' VERSION '1.0' FOREIGN DATA WRAPPER kinds_fdw OPTIONS (host 'nowhere', "odd key" 'it''s');
CREATE SERVER kinds_pg FOREIGN DATA WRAPPER "kinds checked" OPTIONS (dbname 'far');
COMMENT ON SERVER kinds_srv IS 'elsewhere';
CREATE USER MAPPING FOR PUBLIC SERVER kinds_srv OPTIONS (user 'anyone', sslkey '/keys/anyone.key');
CREATE USER MAPPING FOR postgres SERVER kinds_pg OPTIONS (user 'me');
CREATE FOREIGN TABLE kinds.remote (
  id integer OPTIONS (column_name 'ident') NOT NULL,
  note text COLLATE kinds."c plain" DEFAULT 'x',
  CHECK (id > 0)
) SERVER kinds_srv OPTIONS (table_name 'far');
COMMENT ON FOREIGN TABLE kinds.remote IS 'rows live elsewhere';
COMMENT ON COLUMN kinds.remote.id IS 'remote id';
ALTER VIEW kinds.log_view ALTER COLUMN msg SET DEFAULT 'from the view';

CREATE OPERATOR kinds.=~= (LEFTARG = text, RIGHTARG = text, FUNCTION = texteq, COMMUTATOR = OPERATOR(kinds.=~=),
  NEGATOR = OPERATOR(kinds.!~=), RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR kinds.!~= (LEFTARG = text, RIGHTARG = text, FUNCTION = textne, NEGATOR = OPERATOR(kinds.=~=));
CREATE OPERATOR kinds.~- (RIGHTARG = integer, FUNCTION = int4um);
COMMENT ON OPERATOR kinds.=~= (text, text) IS 'text equality';
CREATE OPERATOR FAMILY kinds.text_fam USING hash;
CREATE OPERATOR CLASS kinds.text_same FOR TYPE text USING hash FAMILY kinds.text_fam AS OPERATOR 1 kinds.=~=, FUNCTION 1 hashtext(text);
ALTER OPERATOR FAMILY kinds.text_fam USING hash ADD FUNCTION 2 (text, text) hashtextextended(text, bigint);
COMMENT ON OPERATOR CLASS kinds.text_same USING hash IS 'hash by equality';
CREATE ACCESS METHOD kinds_heap TYPE TABLE HANDLER heap_tableam_handler;
COMMENT ON ACCESS METHOD kinds_heap IS 'heap by another name';
CREATE TABLE kinds.am_rows (x integer, note text) USING kinds_heap;
INSERT INTO kinds.am_rows VALUES (1, 'one'), (2, NULL);
CREATE INDEX am_rows_note_hash ON kinds.am_rows USING hash (note kinds.text_same);
CREATE INDEX am_rows_lower ON kinds.am_rows (lower(note), (x + 1));
ALTER INDEX kinds.am_rows_lower ALTER COLUMN 2 SET STATISTICS 3000;
CREATE CONVERSION kinds.latin_utf FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;
CREATE LANGUAGE kinds_pl HANDLER plpgsql_call_handler INLINE plpgsql_inline_handler VALIDATOR plpgsql_validator;
COMMENT ON LANGUAGE kinds_pl IS 'plpgsql by hand';
CREATE FUNCTION kinds.in_kinds_pl() RETURNS integer LANGUAGE kinds_pl AS $$ BEGIN RETURN 7; END $$;
CREATE TRANSFORM FOR integer LANGUAGE kinds_pl (FROM SQL WITH FUNCTION prsd_lextype(internal), TO SQL WITH FUNCTION int4recv(internal));
CREATE TEXT SEARCH PARSER kinds.prs (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype);
CREATE TEXT SEARCH TEMPLATE kinds.tmpl (LEXIZE = dsimple_lexize);
COMMENT ON TEXT SEARCH TEMPLATE kinds.tmpl IS 'simple';
CREATE TEXT SEARCH TEMPLATE kinds."tmpl ""odd"" */
\." (INIT = dsimple_init, LEXIZE = dsimple_lexize);
COMMENT ON TEXT SEARCH TEMPLATE kinds."tmpl ""odd"" */
\." IS 'a comment ''quoted'' */
\.';
CREATE OPERATOR FAMILY kinds."fam ""odd"" */
\." USING btree;
CREATE TYPE kinds."shell ""odd"" */
\.";
CREATE TEXT SEARCH DICTIONARY kinds.tmpl_dict (TEMPLATE = kinds.tmpl);
CREATE TEXT SEARCH CONFIGURATION kinds.prs_config (PARSER = kinds.prs);
ALTER TEXT SEARCH CONFIGURATION kinds.prs_config ADD MAPPING FOR word WITH kinds.tmpl_dict;
CREATE TYPE kinds.int4alias;
CREATE FUNCTION kinds.int4alias_in(cstring) RETURNS kinds.int4alias LANGUAGE internal IMMUTABLE STRICT AS 'int4in';
CREATE FUNCTION kinds.int4alias_out(kinds.int4alias) RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'int4out';
CREATE FUNCTION kinds.int4alias_recv(internal) RETURNS kinds.int4alias LANGUAGE internal IMMUTABLE STRICT AS 'int4recv';
CREATE FUNCTION kinds.int4alias_send(kinds.int4alias) RETURNS bytea LANGUAGE internal IMMUTABLE STRICT AS 'int4send';
CREATE TYPE kinds.int4alias (INPUT = kinds.int4alias_in, OUTPUT = kinds.int4alias_out, RECEIVE = kinds.int4alias_recv,
  SEND = kinds.int4alias_send, INTERNALLENGTH = 4, PASSEDBYVALUE, ALIGNMENT = int4, STORAGE = plain, CATEGORY = 'N', DEFAULT = '0');
COMMENT ON TYPE kinds.int4alias IS 'an integer, renamed';
CREATE TABLE kinds.aliased (v kinds.int4alias, vs kinds.int4alias[]);
INSERT INTO kinds.aliased VALUES ('5', '{1,2}'), (DEFAULT, NULL);
CREATE TYPE kinds.pending;
`;

const PUBLICATIONS_15 = String.raw`
CREATE PUBLICATION pub_some FOR TABLE kinds.measures, kinds.log (id, msg) WHERE (id > 0);
CREATE PUBLICATION pub_schema FOR TABLES IN SCHEMA kinds WITH (publish_via_partition_root = true);
COMMENT ON PUBLICATION pub_some IS 'a few';
`;
/** PostgreSQL 14 has neither row filters, column lists nor schemas in publications. */
const PUBLICATIONS_14 = String.raw`
CREATE PUBLICATION pub_some FOR TABLE kinds.measures, kinds.log WITH (publish_via_partition_root = true);
COMMENT ON PUBLICATION pub_some IS 'a few';
`;

/** What pg_dump's schema-only text and the data digests do not show. */
async function extraState(cluster: Cluster, db: string) {
  const client = await cluster.connect(db);
  try {
    const matviews = await client.query(
      `SELECT matviewname, ispopulated, CASE WHEN ispopulated THEN (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM kinds.%I', matviewname), false, false, '')))[1]::text END AS rows
         FROM pg_matviews ORDER BY 1`,
    );
    const sequences = await client.query("SELECT schemaname, sequencename, last_value::text FROM pg_sequences ORDER BY 1, 2");
    const eventTriggers = await client.query("SELECT evtname, evtevent, evtenabled, evttags FROM pg_event_trigger ORDER BY 1");
    const publications = await client.query(
      "SELECT pubname, puballtables, pubinsert, pubupdate, pubdelete, pubviaroot, (SELECT array_agg(tablename::text ORDER BY tablename) FROM pg_publication_tables t WHERE t.pubname = p.pubname) AS tables FROM pg_publication p ORDER BY 1",
    );
    const largeObjects = await client.query(
      "SELECT oid::text, md5(lo_get(oid)) AS content, obj_description(oid, 'pg_largeobject') AS comment FROM pg_largeobject_metadata ORDER BY oid",
    );
    return {
      matviews: matviews.rows,
      sequences: sequences.rows,
      eventTriggers: eventTriggers.rows,
      publications: publications.rows,
      largeObjects: largeObjects.rows,
    };
  } finally {
    await client.end();
  }
}

for (const planned of serversUnderTest()) {
  describe(`PostgreSQL ${planned.major}`, { skip: "missing" in planned ? planned.missing : false }, () => {
    let cluster: Cluster;
    let dir: string;
    let storage: LocalStorage;
    let settings: BackupSettings;
    let backup: BackupOutcome;

    before(async () => {
      if ("missing" in planned) return;
      cluster = await startCluster({ bin: planned.server.bin });
      await cluster.createDatabase("kinds");
      await cluster.query("kinds", FIXTURE + (planned.major >= 15 ? PUBLICATIONS_15 : PUBLICATIONS_14));
      dir = mkdtempSync(join(tmpdir(), "wpb-kinds-"));
      settings = BackupSettings.parse({ backup_dir: dir });
      storage = new LocalStorage(dir);
      backup = await createBackup({ database: database(cluster, "kinds"), settings, storage, type: "manual" });
    });

    after(async () => {
      await cluster?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const restore = (target: string, createPreRestoreBackup = false) =>
      restoreBackup({
        database: database(cluster, "kinds"),
        settings,
        storage,
        backupName: backup.name,
        confirm: true,
        createPreRestoreBackup,
        targetDatabase: target,
      });

    /** pg_dump --schema-only where this machine has it for the server's version, else the catalog judge. */
    async function sameAsSource(db: string): Promise<void> {
      assert.deepEqual(await dataFingerprint(cluster, db), await dataFingerprint(cluster, "kinds"));
      assert.deepEqual(await extraState(cluster, db), await extraState(cluster, "kinds"));
      const source = schemaText(cluster, "kinds");
      if (source !== undefined) assert.equal(schemaText(cluster, db), source);
      else assert.deepEqual(compareCatalogs(await catalogOf(cluster, "kinds"), await catalogOf(cluster, db)), []);
    }

    test("the fixture is backed up without refusing any of its kinds, leaf partitions holding the rows", () => {
      const tables = backup.manifest.tables.filter((t) => !t.name.startsWith("buckets_")).map((t) => `${t.name}:${t.rows}`).sort();
      assert.deepEqual(tables, [
        "aliased:2",
        "am_rows:2",
        "animals:1",
        "bare_pairs:1",
        "dogs:2",
        "event_notes:1",
        "events_2024:2",
        "events_2025_ab:1",
        "events_2025_rest:1",
        "events_old:1",
        "log:2",
        "measures:2",
        "notes:1",
        "pairs:2",
        "pairs_low:1",
      ]);
      const buckets = backup.manifest.tables.filter((t) => t.name.startsWith("buckets_"));
      assert.equal(buckets.length, 2);
      assert.equal(buckets.reduce((sum, t) => sum + t.rows, 0), 10);
      assert.deepEqual(
        { count: backup.manifest.sections.large_objects?.count, bytes: backup.manifest.sections.large_objects?.bytes },
        { count: 3, bytes: 19 + 300000 },
      );
      const kinds = new Set<string>(backup.manifest.objects.map((o) => o.kind));
      for (const kind of [
        "collation",
        "domain",
        "type",
        "aggregate",
        "procedure",
        "materialized view",
        "policy",
        "rule",
        "event trigger",
        "publication",
        "large object",
        "cast",
        "foreign-data wrapper",
        "foreign server",
        "user mapping",
        "foreign table",
        "text search dictionary",
        "text search configuration",
        "statistics object",
        "operator",
        "operator class",
        "operator family",
        "access method",
        "conversion",
        "language",
        "transform",
        "text search parser",
        "text search template",
      ]) {
        assert.ok(kinds.has(kind), `manifest objects list ${kind}`);
      }
    });

    test("credentials in wrapper, server and user mapping options never reach the archive; the result names each one left out", async () => {
      await cluster.createDatabase("secrets");
      await cluster.query("secrets", String.raw`
        CREATE FOREIGN DATA WRAPPER w OPTIONS (mode 'x', secret_key 'wrapper-secret-1');
        CREATE SERVER s FOREIGN DATA WRAPPER w OPTIONS (host 'h', api_token 'server-secret-2');
        CREATE USER MAPPING FOR postgres SERVER s OPTIONS (user 'me', password 'mapping-secret-3', passfile '/home/me/.pgpass');
      `);
      const secret = await createBackup({ database: database(cluster, "secrets"), settings, storage, type: "manual" });
      const text = gunzipSync(readFileSync(join(dir, secret.name))).toString("utf8");
      for (const leaked of ["secret-1", "secret-2", "secret-3", ".pgpass"]) {
        assert.ok(!text.includes(leaked), `${leaked} is in the archive`);
      }
      assert.deepEqual(secret.manifest.skipped?.map((s) => s.replace(/ \(.*/, "")), [
        `option secret_key of foreign-data wrapper w`,
        `option api_token of foreign server s`,
        `option password of user mapping for postgres server s`,
        `option passfile of user mapping for postgres server s`,
      ]);
      await restoreBackup({
        database: database(cluster, "secrets"),
        settings,
        storage,
        backupName: secret.name,
        confirm: true,
        createPreRestoreBackup: false,
        targetDatabase: "secrets_restored",
      });
      const options = await cluster.query(
        "secrets_restored",
        `SELECT (SELECT fdwoptions FROM pg_foreign_data_wrapper WHERE fdwname = 'w') AS wrapper, (SELECT srvoptions FROM pg_foreign_server) AS server,
                (SELECT umoptions FROM pg_user_mappings) AS mapping`,
      );
      assert.deepEqual(options.rows[0], { wrapper: ["mode=x"], server: ["host=h"], mapping: ["user=me"] });
    });

    test("a database the restore creates gets the backed-up database's owner and GRANT … ON DATABASE (privileges option)", async () => {
      await cluster.createDatabase("owned_db");
      await cluster.query("postgres", `CREATE ROLE "db ""owner"""; CREATE ROLE db_guest;
        ALTER DATABASE owned_db OWNER TO "db ""owner"""; REVOKE ALL ON DATABASE owned_db FROM PUBLIC;
        GRANT CONNECT ON DATABASE owned_db TO db_guest; GRANT TEMPORARY ON DATABASE owned_db TO db_guest WITH GRANT OPTION`);
      const withPrivileges = BackupSettings.parse({ backup_dir: dir, dump: { privileges: true } });
      const owned = await createBackup({ database: database(cluster, "owned_db"), settings: withPrivileges, storage, type: "manual" });
      await restoreBackup({
        database: database(cluster, "owned_db"),
        settings: withPrivileges,
        storage,
        backupName: owned.name,
        confirm: true,
        createPreRestoreBackup: false,
        targetDatabase: "owned_db_restored",
      });
      const access = `SELECT pg_get_userbyid(datdba) AS owner, datacl::text AS acl FROM pg_database WHERE datname = $1`;
      const [source, restored] = [await cluster.query("postgres", access, ["owned_db"]),
        await cluster.query("postgres", access, ["owned_db_restored"])];
      assert.equal(source.rows[0].owner, `db "owner"`);
      assert.deepEqual(restored.rows[0], { ...source.rows[0], acl: String(source.rows[0].acl).replace(/owned_db/g, "owned_db_restored") });
    });

    test("restored into a new database: same schema, rows, matviews, sequences, event triggers, publications", async () => {
      const result = await restore("kinds_new");
      assert.equal(result.verification.passed, true);
      await sameAsSource("kinds_new");
    });

    test("the archive restores the same with plain gunzip -c | psql -v ON_ERROR_STOP=1", async (t) => {
      if (!cluster.clientBin) return t.skip("no psql of the server's major version on this machine");
      await cluster.createDatabase("kinds_psql");
      const sql = spawnSync("gunzip", ["-c", join(dir, backup.name)], { maxBuffer: 64 * 1024 * 1024 });
      assert.equal(sql.status, 0);
      const psql = spawnSync(join(cluster.clientBin, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "kinds_psql"], {
        input: sql.stdout,
        env: cluster.libpqEnv(),
        encoding: "utf8",
      });
      assert.equal(psql.status, 0, psql.stderr);
      await sameAsSource("kinds_psql");
    });

    test("an in-place restore over a changed copy drops every kind and reports only what the archive lacks", async () => {
      await restore("kinds_inplace");
      await cluster.query("kinds_inplace", String.raw`
        CREATE COLLATION kinds.extra_coll (provider = libc, locale = 'C');
        CREATE DOMAIN kinds.extra_domain AS integer;
        CREATE TYPE kinds.extra_range AS RANGE (subtype = integer, multirange_type_name = kinds.extra_multi);
        CREATE AGGREGATE kinds.extra_agg(integer) (SFUNC = int4pl, STYPE = integer);
        CREATE PROCEDURE kinds.extra_proc() LANGUAGE sql AS 'SELECT 1';
        CREATE MATERIALIZED VIEW kinds.extra_mv AS SELECT 1 AS x;
        CREATE TABLE kinds.events_2026 PARTITION OF kinds.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
        CREATE PUBLICATION extra_pub FOR TABLE kinds.animals;
        CREATE EVENT TRIGGER extra_evt ON ddl_command_start EXECUTE FUNCTION kinds.on_ddl();
        CREATE CAST (kinds.flag AS text) WITH INOUT;
        CREATE FOREIGN DATA WRAPPER extra_fdw;
        CREATE SERVER extra_srv FOREIGN DATA WRAPPER kinds_fdw;
        CREATE USER MAPPING FOR postgres SERVER kinds_srv;
        CREATE FOREIGN TABLE kinds.extra_remote (x integer) SERVER kinds_srv;
        DROP SERVER kinds_pg CASCADE;
        DROP CAST (kinds.pair AS integer);
        INSERT INTO kinds.dogs VALUES (9, 'extra', NULL);
        SELECT lo_create(9999);
        SELECT lo_put(4243, 10, 'changed');
        DROP MATERIALIZED VIEW kinds.busy_kinds;
        DROP AGGREGATE kinds.joined(integer);
        DROP COLLATION kinds.ci CASCADE;
        CREATE TEXT SEARCH DICTIONARY kinds.extra_dict (TEMPLATE = simple);
        CREATE STATISTICS kinds.extra_stats ON id, n FROM kinds.measures;
        CREATE TABLE kinds.extra_pairs OF kinds.pair;
        ALTER TABLE kinds.pairs NOT OF;
        ALTER STATISTICS kinds.measures_deps SET STATISTICS 5;
        CREATE TEXT SEARCH CONFIGURATION kinds.extra_ts (COPY = kinds.docs);
        ALTER TEXT SEARCH CONFIGURATION kinds.docs DROP MAPPING FOR word;
        ALTER TEXT SEARCH DICTIONARY kinds.stems (language = 'dutch');
        CREATE OPERATOR kinds.### (LEFTARG = integer, RIGHTARG = integer, FUNCTION = int4pl);
        CREATE OPERATOR FAMILY kinds.extra_fam USING btree;
        CREATE OPERATOR CLASS kinds.extra_ops FOR TYPE integer USING hash AS OPERATOR 1 =, FUNCTION 1 hashint4(integer);
        ALTER OPERATOR FAMILY kinds.text_fam USING hash DROP FUNCTION 2 (text, text);
        CREATE ACCESS METHOD extra_am TYPE INDEX HANDLER bthandler;
        CREATE CONVERSION kinds.extra_conv FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;
        CREATE LANGUAGE extra_pl HANDLER plpgsql_call_handler;
        CREATE TRANSFORM FOR bigint LANGUAGE kinds_pl (FROM SQL WITH FUNCTION prsd_lextype(internal));
        CREATE TEXT SEARCH PARSER kinds.extra_prs (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype);
        CREATE TEXT SEARCH TEMPLATE kinds.extra_tmpl (LEXIZE = dsimple_lexize);
        CREATE TYPE kinds.extra_shell;
        DROP TYPE kinds.pending;
        DROP OPERATOR kinds.~- (NONE, integer);
        INSERT INTO kinds.aliased VALUES ('99', NULL);
      `);
      const result = await restore("kinds_inplace", true);
      assert.equal(result.verification.passed, true);
      assert.deepEqual(result.dropped_objects.map((o) => `${o.kind} ${o.schema ? `${o.schema}.` : ""}${o.name}`).sort(), [
        "access method extra_am",
        "aggregate kinds.extra_agg(integer)",
        "cast (kinds.flag AS text)",
        "collation kinds.extra_coll",
        "conversion kinds.extra_conv",
        "domain kinds.extra_domain",
        "event trigger extra_evt",
        "foreign server extra_srv",
        "foreign table kinds.extra_remote",
        "foreign-data wrapper extra_fdw",
        "language extra_pl",
        "large object 9999",
        "materialized view kinds.extra_mv",
        "operator class kinds.extra_ops USING hash",
        "operator family kinds.extra_fam USING btree",
        "operator family kinds.extra_ops USING hash",
        "operator kinds.###(integer, integer)",
        "procedure kinds.extra_proc()",
        "publication extra_pub",
        "statistics object kinds.extra_stats",
        "table kinds.events_2026",
        "table kinds.extra_pairs",
        "text search configuration kinds.extra_ts",
        "text search dictionary kinds.extra_dict",
        "text search parser kinds.extra_prs",
        "text search template kinds.extra_tmpl",
        `transform FOR bigint LANGUAGE "kinds_pl"`,
        "type kinds.extra_multi",
        "type kinds.extra_range",
        "type kinds.extra_shell",
        "user mapping for postgres server kinds_srv",
      ]);
      await sameAsSource("kinds_inplace");
    });
  });
}

function database(cluster: Cluster, dbname: string) {
  return DatabaseResource.parse(cluster.resource(dbname));
}
