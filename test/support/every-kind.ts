// A database with at least one object of every kind the catalog judge reads, in forms that work on
// PostgreSQL 14 to 18 with contrib only (cube, citext, hstore, ltree), plus what only newer servers
// have (everyKind): the judge's own test and the fidelity matrix use it. Its policy and grants name
// the role EVERY_KIND_ROLE, which the cluster must have. The names of the kinds that only a superuser
// makes (operator classes, languages, base types…) hold quotes, newlines, `*/` and `\.`, which the
// archive must keep inside their quotes.
export const EVERY_KIND_ROLE = "judge_reader";

export const EVERY_KIND = String.raw`
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
CREATE TABLE public.typed OF public.pair (a WITH OPTIONS NOT NULL DEFAULT 7, CHECK (a > 0));
INSERT INTO public.typed (b) VALUES ('x');
CREATE STATISTICS public.people_stats (dependencies) ON born, mood FROM public.people;
CREATE STATISTICS public.people_expr ON lower(name), (born + 1) FROM public.people;
ALTER STATISTICS public.people_expr SET STATISTICS 50;

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
CREATE POLICY own_rows ON public.parent AS RESTRICTIVE FOR SELECT TO ${EVERY_KIND_ROLE} USING (note = current_user);
CREATE PUBLICATION everything_people FOR TABLE public.people, public.parent WITH (publish = 'insert');

CREATE TEXT SEARCH CONFIGURATION public.plain (COPY = simple);
CREATE TEXT SEARCH DICTIONARY public.plain_dict (TEMPLATE = simple, STOPWORDS = english);
ALTER TEXT SEARCH CONFIGURATION public.plain ALTER MAPPING FOR asciiword WITH public.plain_dict, simple;
COMMENT ON TEXT SEARCH DICTIONARY public.plain_dict IS 'english stop words';
CREATE CAST (public.pair AS text) WITH INOUT;
CREATE OPERATOR public.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = int4eq, COMMUTATOR = OPERATOR(public.===),
  NEGATOR = OPERATOR(public.!==), RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR public.!== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = int4ne, NEGATOR = OPERATOR(public.===));
CREATE OPERATOR "Ünï ""quoted""".-| (RIGHTARG = integer, FUNCTION = int4um);
COMMENT ON OPERATOR public.=== (integer, integer) IS 'same ''value'' */ \.
twice';
CREATE FUNCTION public.int4_cmp_rev(integer, integer) RETURNS integer LANGUAGE sql IMMUTABLE STRICT RETURN btint4cmp($2, $1);
CREATE OPERATOR FAMILY "Ünï ""quoted"""."rev ""fam"" */
\." USING btree;
CREATE OPERATOR CLASS "Ünï ""quoted"""."rev ""ops"" */
\." FOR TYPE integer USING btree FAMILY "Ünï ""quoted"""."rev ""fam"" */
\." AS OPERATOR 1 >, OPERATOR 2 >=, OPERATOR 3 =, OPERATOR 4 <=, OPERATOR 5 <, FUNCTION 1 public.int4_cmp_rev(integer, integer);
ALTER OPERATOR FAMILY "Ünï ""quoted"""."rev ""fam"" */
\." USING btree ADD OPERATOR 1 > (integer, bigint), FUNCTION 1 (integer, bigint) btint48cmp(integer, bigint);
CREATE OPERATOR CLASS public.int4_same_ops FOR TYPE integer USING hash AS OPERATOR 1 public.===, FUNCTION 1 hashint4(integer);
COMMENT ON OPERATOR CLASS "Ünï ""quoted"""."rev ""ops"" */
\." USING btree IS 'backwards';
COMMENT ON OPERATOR FAMILY public.int4_same_ops USING hash IS 'made by its class';
CREATE INDEX people_id_rev ON public.people (id "Ünï ""quoted"""."rev ""ops"" */
\.");
CREATE INDEX people_id_same ON public.people USING hash (id public.int4_same_ops);
ALTER INDEX public.people_lower ALTER COLUMN 1 SET STATISTICS 3000;

CREATE ACCESS METHOD "heap ""too""
*/ \." TYPE TABLE HANDLER heap_tableam_handler;
CREATE ACCESS METHOD btree_too TYPE INDEX HANDLER bthandler;
COMMENT ON ACCESS METHOD btree_too IS 'a second btree';
CREATE TABLE public.other_am (x integer) USING "heap ""too""
*/ \.";
INSERT INTO public.other_am VALUES (1), (2);
CREATE MATERIALIZED VIEW public.other_am_view USING "heap ""too""
*/ \." AS SELECT x FROM public.other_am;

CREATE CONVERSION "Ünï ""quoted"""."latin ""to"" utf */
\." FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;
COMMENT ON CONVERSION "Ünï ""quoted"""."latin ""to"" utf */
\." IS 'by hand';
-- Handlers of its own (plpgsql's code): pg_dump writes a language whose handlers are pg_catalog's as a bare CREATE LANGUAGE.
CREATE FUNCTION public.copy_handler() RETURNS language_handler LANGUAGE c AS '$libdir/plpgsql', 'plpgsql_call_handler';
CREATE FUNCTION public.copy_inline(internal) RETURNS void LANGUAGE c STRICT AS '$libdir/plpgsql', 'plpgsql_inline_handler';
CREATE FUNCTION public.copy_validator(oid) RETURNS void LANGUAGE c STRICT AS '$libdir/plpgsql', 'plpgsql_validator';
CREATE TRUSTED LANGUAGE "pl ""copy""
*/ \." HANDLER public.copy_handler INLINE public.copy_inline VALIDATOR public.copy_validator;
COMMENT ON LANGUAGE "pl ""copy""
*/ \." IS 'plpgsql again';
CREATE FUNCTION public.in_copy() RETURNS integer LANGUAGE "pl ""copy""
*/ \." AS $$ BEGIN RETURN 1; END $$;
CREATE TRANSFORM FOR integer LANGUAGE "pl ""copy""
*/ \." (FROM SQL WITH FUNCTION prsd_lextype(internal), TO SQL WITH FUNCTION int4recv(internal));
COMMENT ON TRANSFORM FOR integer LANGUAGE "pl ""copy""
*/ \." IS 'never used';
CREATE TEXT SEARCH PARSER "Ünï ""quoted"""."parser ""x"" */
\." (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype, HEADLINE = prsd_headline);
CREATE TEXT SEARCH TEMPLATE public."template ""x"" */
\." (INIT = dsimple_init, LEXIZE = dsimple_lexize);
COMMENT ON TEXT SEARCH PARSER "Ünï ""quoted"""."parser ""x"" */
\." IS 'the default one, again';
COMMENT ON TEXT SEARCH TEMPLATE public."template ""x"" */
\." IS 'simple, again';
CREATE TEXT SEARCH DICTIONARY public.own_dict (TEMPLATE = public."template ""x"" */
\.", STOPWORDS = english);
CREATE TEXT SEARCH CONFIGURATION public.own_config (PARSER = "Ünï ""quoted"""."parser ""x"" */
\.");
ALTER TEXT SEARCH CONFIGURATION public.own_config ADD MAPPING FOR word, asciiword WITH public.own_dict;

CREATE TYPE public."int4 ""alias"" */
\.";
CREATE FUNCTION public.int4alias_in(cstring) RETURNS public."int4 ""alias"" */
\." LANGUAGE internal IMMUTABLE STRICT AS 'int4in';
CREATE FUNCTION public.int4alias_out(public."int4 ""alias"" */
\.") RETURNS cstring LANGUAGE internal IMMUTABLE STRICT AS 'int4out';
CREATE TYPE public."int4 ""alias"" */
\." (INPUT = public.int4alias_in, OUTPUT = public.int4alias_out, LIKE = integer, DEFAULT = '42', CATEGORY = 'N');
COMMENT ON TYPE public."int4 ""alias"" */
\." IS 'an integer by another name';
CREATE TABLE public.aliased (v public."int4 ""alias"" */
\.");
INSERT INTO public.aliased VALUES ('7'), (DEFAULT);
CREATE TYPE public."lonely ""shell""";
CREATE TYPE public."even ""range"" */
\.";
CREATE FUNCTION public.even_canonical(public."even ""range"" */
\.") RETURNS public."even ""range"" */
\." LANGUAGE internal IMMUTABLE STRICT AS 'int4range_canonical';
CREATE TYPE public."even ""range"" */
\." AS RANGE (subtype = integer, canonical = public.even_canonical);
CREATE TABLE public.spans (during public."even ""range"" */
\.");
INSERT INTO public.spans VALUES ('[1,3]'), ('(4,9)'), (NULL);
CREATE FOREIGN DATA WRAPPER dummy;
CREATE SERVER elsewhere FOREIGN DATA WRAPPER dummy OPTIONS (host 'nowhere');
CREATE FOREIGN TABLE public.remote (id integer OPTIONS (column_name 'ident')) SERVER elsewhere OPTIONS (table_name 'far');
CREATE USER MAPPING FOR PUBLIC SERVER elsewhere OPTIONS (user 'guest');
ALTER VIEW public.labels ALTER COLUMN label SET DEFAULT 'none';

GRANT SELECT (name, email) ON public.people TO ${EVERY_KIND_ROLE};
GRANT USAGE ON SCHEMA "Ünï ""quoted""" TO ${EVERY_KIND_ROLE};
GRANT USAGE ON LANGUAGE "pl ""copy""
*/ \." TO ${EVERY_KIND_ROLE};
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${EVERY_KIND_ROLE};
SELECT lo_from_bytea(4242, '\x00ff00'::bytea);
`;

/** What only newer servers have, by the first major version that has it. */
const NEWER: Array<[since: number, sql: string]> = [
  [17, String.raw`
CREATE TABLE public.parted_am (x integer) PARTITION BY LIST (x) USING heap;
CREATE TABLE public.parted_am_1 PARTITION OF public.parted_am FOR VALUES IN (1);
`],
  // A NOT NULL added NOT VALID over rows that break it: written after the data, still NOT VALID, the
  // rows kept; a child that validated its inherited copy keeps it validated, a partition's stays not.
  [18, String.raw`
CREATE TABLE public.late_nn (id integer, note text);
CREATE TABLE public.late_nn_child (extra text) INHERITS (public.late_nn);
CREATE TABLE public.late_nn_parted (id integer, note text) PARTITION BY LIST (id);
CREATE TABLE public.late_nn_part PARTITION OF public.late_nn_parted FOR VALUES IN (1, 2);
INSERT INTO public.late_nn VALUES (1, NULL), (2, 'x');
INSERT INTO public.late_nn_child VALUES (3, 'y', NULL);
INSERT INTO public.late_nn_parted VALUES (1, NULL);
ALTER TABLE public.late_nn ADD CONSTRAINT "late ""nn"" */" NOT NULL note NOT VALID;
ALTER TABLE public.late_nn_child VALIDATE CONSTRAINT "late ""nn"" */";
ALTER TABLE public.late_nn_parted ADD CONSTRAINT late_parted_nn NOT NULL note NOT VALID;
COMMENT ON CONSTRAINT late_parted_nn ON public.late_nn_parted IS 'rows before it';
`],
];

/** The every-kind database for one major version: EVERY_KIND and what that version adds. */
export function everyKind(major: number): string {
  return [EVERY_KIND, ...NEWER.filter(([since]) => major >= since).map(([, sql]) => sql)].join("\n");
}
