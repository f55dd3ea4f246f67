-- windmill-pg-backup 0.1.0 archive of database "golden" (PostgreSQL …)
-- Restore with psql into an empty database:
--   gunzip -c THIS_FILE.sql.gz | psql -X -1 -v ON_ERROR_STOP=1 -d TARGET

SET statement_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;
SET DateStyle = 'ISO, MDY';
SET IntervalStyle = 'postgres';
SET TimeZone = 'UTC';
SET extra_float_digits = 3;

CREATE SCHEMA IF NOT EXISTS "public";

CREATE SCHEMA IF NOT EXISTS "Ünï ""quoted""";

COMMENT ON SCHEMA "Ünï ""quoted""" IS 'odd name';

CREATE EXTENSION IF NOT EXISTS "citext" WITH SCHEMA "public";

CREATE EXTENSION IF NOT EXISTS "cube" WITH SCHEMA "public";

CREATE EXTENSION IF NOT EXISTS "hstore" WITH SCHEMA "Ünï ""quoted""";

CREATE EXTENSION IF NOT EXISTS "ltree" WITH SCHEMA "public";

CREATE COLLATION "public"."bytewise" (provider = 'libc', locale = 'C');

CREATE TYPE "public"."even ""range"" */
\.";

CREATE TYPE "public"."int4 ""alias"" */
\.";

CREATE TYPE "public"."lonely ""shell""";

CREATE TYPE "public"."floatrange" AS RANGE (
    subtype = double precision,
    multirange_type_name = "public"."floatmultirange",
    subtype_diff = float8mi
);

CREATE TYPE "public"."mood" AS ENUM (
    'sad',
    'meh',
    'ok',
    'happy'
);

CREATE TYPE "public"."pair" AS (
    "a" integer,
    "b" text COLLATE "pg_catalog"."C"
);

CREATE DOMAIN "public"."posint" AS integer
    DEFAULT 1
    NOT NULL
    CONSTRAINT "posint_positive" CHECK ((VALUE > 0));

CREATE OR REPLACE FUNCTION public.copy_handler()
 RETURNS language_handler
 LANGUAGE c
AS '$libdir/plpgsql', $function$plpgsql_call_handler$function$;

CREATE OR REPLACE FUNCTION public.copy_inline(internal)
 RETURNS void
 LANGUAGE c
 STRICT
AS '$libdir/plpgsql', $function$plpgsql_inline_handler$function$;

CREATE OR REPLACE FUNCTION public.copy_validator(oid)
 RETURNS void
 LANGUAGE c
 STRICT
AS '$libdir/plpgsql', $function$plpgsql_validator$function$;

CREATE TRUSTED PROCEDURAL LANGUAGE "pl ""copy""
*/ \." HANDLER public.copy_handler INLINE public.copy_inline VALIDATOR public.copy_validator;

COMMENT ON LANGUAGE "pl ""copy""
*/ \." IS 'plpgsql again';

CREATE OR REPLACE FUNCTION public.count_new()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$ BEGIN RETURN NULL; END $function$;

CREATE OR REPLACE FUNCTION public.even_canonical(public."even ""range"" */
\.")
 RETURNS public."even ""range"" */
\."
 LANGUAGE internal
 IMMUTABLE STRICT
AS $function$int4range_canonical$function$;

CREATE TYPE "public"."even ""range"" */
\." AS RANGE (
    subtype = integer,
    multirange_type_name = "public"."even ""multirange"" */
\.",
    canonical = public.even_canonical
);

CREATE OR REPLACE FUNCTION public.in_copy()
 RETURNS integer
 LANGUAGE "pl ""copy""
*/ \."
AS $function$ BEGIN RETURN 1; END $function$;

CREATE OR REPLACE FUNCTION public.int4_cmp_rev(integer, integer)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE STRICT
RETURN btint4cmp($2, $1);

CREATE OR REPLACE FUNCTION public.int4alias_in(cstring)
 RETURNS public."int4 ""alias"" */
\."
 LANGUAGE internal
 IMMUTABLE STRICT
AS $function$int4in$function$;

CREATE OR REPLACE FUNCTION public.int4alias_out(public."int4 ""alias"" */
\.")
 RETURNS cstring
 LANGUAGE internal
 IMMUTABLE STRICT
AS $function$int4out$function$;

CREATE TYPE "public"."int4 ""alias"" */
\." (
    INTERNALLENGTH = 4,
    INPUT = public.int4alias_in,
    OUTPUT = public.int4alias_out,
    CATEGORY = 'N',
    DEFAULT = '42',
    DELIMITER = ',',
    ALIGNMENT = int4,
    STORAGE = plain,
    PASSEDBYVALUE
);

COMMENT ON TYPE "public"."int4 ""alias"" */
\." IS 'an integer by another name';

CREATE OR REPLACE FUNCTION public.on_ddl()
 RETURNS event_trigger
 LANGUAGE plpgsql
AS $function$ BEGIN END $function$;

CREATE OR REPLACE FUNCTION public.positive(n numeric)
 RETURNS boolean
 LANGUAGE sql
 IMMUTABLE
RETURN (n > (0)::numeric);

CREATE OR REPLACE PROCEDURE public.tidy(IN keep integer)
 LANGUAGE sql
AS $procedure$ DELETE FROM public.parent WHERE id > keep $procedure$;

CREATE AGGREGATE "public"."total"(integer) (
    SFUNC = int4pl,
    STYPE = integer,
    INITCOND = '0'
);

CREATE OR REPLACE FUNCTION public.touch()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'public'
AS $function$ BEGIN RETURN NEW; END $function$;

CREATE ACCESS METHOD "btree_too" TYPE INDEX HANDLER bthandler;

COMMENT ON ACCESS METHOD "btree_too" IS 'a second btree';

CREATE ACCESS METHOD "heap ""too""
*/ \." TYPE TABLE HANDLER heap_tableam_handler;

CREATE OPERATOR "public".!== (
    FUNCTION = int4ne,
    LEFTARG = integer,
    RIGHTARG = integer,
    NEGATOR = OPERATOR(public.===)
);

CREATE OPERATOR "public".=== (
    FUNCTION = int4eq,
    LEFTARG = integer,
    RIGHTARG = integer,
    COMMUTATOR = OPERATOR(public.===),
    NEGATOR = OPERATOR(public.!==),
    RESTRICT = eqsel,
    JOIN = eqjoinsel,
    HASHES,
    MERGES
);

COMMENT ON OPERATOR "public".=== (integer, integer) IS 'same ''value'' */ \.
twice';

CREATE OPERATOR "Ünï ""quoted""".-| (
    FUNCTION = int4um,
    RIGHTARG = integer
);

CREATE OPERATOR FAMILY "public"."int4_same_ops" USING "hash";

COMMENT ON OPERATOR FAMILY "public"."int4_same_ops" USING "hash" IS 'made by its class';

CREATE OPERATOR FAMILY "Ünï ""quoted"""."rev ""fam"" */
\." USING "btree";

ALTER OPERATOR FAMILY "Ünï ""quoted"""."rev ""fam"" */
\." USING "btree" ADD
    OPERATOR 1 pg_catalog.>(integer, bigint),
    FUNCTION 1 (integer, bigint) btint48cmp(integer,bigint);

CREATE OPERATOR CLASS "public"."int4_same_ops" FOR TYPE integer USING "hash" FAMILY public.int4_same_ops AS
    OPERATOR 1 public.===(integer, integer),
    FUNCTION 1 (integer, integer) hashint4(integer);

CREATE OPERATOR CLASS "Ünï ""quoted"""."rev ""ops"" */
\." FOR TYPE integer USING "btree" FAMILY "Ünï ""quoted"""."rev ""fam"" */
\." AS
    OPERATOR 1 pg_catalog.>(integer, integer),
    OPERATOR 2 pg_catalog.>=(integer, integer),
    OPERATOR 3 pg_catalog.=(integer, integer),
    OPERATOR 4 pg_catalog.<=(integer, integer),
    OPERATOR 5 pg_catalog.<(integer, integer),
    FUNCTION 1 (integer, integer) public.int4_cmp_rev(integer,integer);

COMMENT ON OPERATOR CLASS "Ünï ""quoted"""."rev ""ops"" */
\." USING "btree" IS 'backwards';

CREATE CONVERSION "Ünï ""quoted"""."latin ""to"" utf */
\." FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;

COMMENT ON CONVERSION "Ünï ""quoted"""."latin ""to"" utf */
\." IS 'by hand';

CREATE TEXT SEARCH PARSER "Ünï ""quoted"""."parser ""x"" */
\." (
    START = prsd_start,
    GETTOKEN = prsd_nexttoken,
    END = prsd_end,
    LEXTYPES = prsd_lextype,
    HEADLINE = prsd_headline
);

COMMENT ON TEXT SEARCH PARSER "Ünï ""quoted"""."parser ""x"" */
\." IS 'the default one, again';

CREATE TEXT SEARCH TEMPLATE "public"."template ""x"" */
\." (
    INIT = dsimple_init,
    LEXIZE = dsimple_lexize
);

COMMENT ON TEXT SEARCH TEMPLATE "public"."template ""x"" */
\." IS 'simple, again';

CREATE TRANSFORM FOR integer LANGUAGE "pl ""copy""
*/ \." (
    FROM SQL WITH FUNCTION prsd_lextype(internal),
    TO SQL WITH FUNCTION int4recv(internal)
);

COMMENT ON TRANSFORM FOR integer LANGUAGE "pl ""copy""
*/ \." IS 'never used';

CREATE TEXT SEARCH DICTIONARY "public"."own_dict" (
    TEMPLATE = public."template ""x"" */
\.", stopwords = 'english'
);

CREATE TEXT SEARCH DICTIONARY "public"."plain_dict" (
    TEMPLATE = pg_catalog.simple, stopwords = 'english'
);

COMMENT ON TEXT SEARCH DICTIONARY "public"."plain_dict" IS 'english stop words';

CREATE TEXT SEARCH CONFIGURATION "public"."own_config" (
    PARSER = "Ünï ""quoted"""."parser ""x"" */
\."
);

ALTER TEXT SEARCH CONFIGURATION "public"."own_config"
    ADD MAPPING FOR "asciiword" WITH public.own_dict;

ALTER TEXT SEARCH CONFIGURATION "public"."own_config"
    ADD MAPPING FOR "word" WITH public.own_dict;

CREATE TEXT SEARCH CONFIGURATION "public"."plain" (
    PARSER = pg_catalog."default"
);

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "asciiword" WITH public.plain_dict, pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "word" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "numword" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "email" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "url" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "host" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "sfloat" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "version" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "hword_numpart" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "hword_part" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "hword_asciipart" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "numhword" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "asciihword" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "hword" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "url_path" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "file" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "float" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "int" WITH pg_catalog.simple;

ALTER TEXT SEARCH CONFIGURATION "public"."plain"
    ADD MAPPING FOR "uint" WITH pg_catalog.simple;

CREATE CAST (public.pair AS text) WITH INOUT;

CREATE FOREIGN DATA WRAPPER "dummy";

CREATE SERVER "elsewhere" FOREIGN DATA WRAPPER "dummy" OPTIONS ("host" 'nowhere');

CREATE USER MAPPING FOR PUBLIC SERVER "elsewhere" OPTIONS ("user" 'guest');

CREATE SEQUENCE "public"."codes" AS integer START WITH 100 INCREMENT BY 3 MINVALUE 1 MAXVALUE 100000 CACHE 2 CYCLE;

CREATE TABLE "public"."aliased" (
    "v" public."int4 ""alias"" */
\."
);

CREATE TABLE "public"."events" (
    "id" bigint,
    "at" date NOT NULL,
    "kind" text
)
PARTITION BY RANGE (at);

CREATE TABLE "public"."events_2024" (
    "id" bigint,
    "at" date NOT NULL,
    "kind" text
)
PARTITION BY LIST (kind);

CREATE TABLE "public"."events_2024_a" (
    "id" bigint,
    "at" date NOT NULL,
    "kind" text
);

CREATE TABLE "public"."events_other" (
    "id" bigint,
    "at" date NOT NULL,
    "kind" text
);

CREATE TABLE "public"."other_am" (
    "x" integer
)
USING "heap ""too""
*/ \.";

CREATE TABLE "public"."parent" (
    "id" integer,
    "note" text
);

CREATE TABLE "public"."child" (
    "extra" text
)
INHERITS ("public"."parent");

CREATE TABLE "public"."people" (
    "id" integer GENERATED ALWAYS AS IDENTITY (SEQUENCE NAME "public"."people_id_seq" START WITH 10 INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 CACHE 1 NO CYCLE) NOT NULL,
    "email" public.citext NOT NULL,
    "name" text COLLATE "public"."bytewise" NOT NULL,
    "mood" public.mood DEFAULT 'ok'::public.mood,
    "size" public.posint,
    "attrs" "Ünï ""quoted""".hstore,
    "path" public.ltree,
    "spot" public.cube,
    "name_upper" text GENERATED ALWAYS AS (upper(name)) STORED,
    "born" date DEFAULT '2000-01-01'::date,
    "manager" integer,
    CONSTRAINT "people_name_check" CHECK ((name <> ''::text))
) WITH (fillfactor='80');

ALTER TABLE ONLY "public"."people" ALTER COLUMN "name" SET STORAGE EXTERNAL;

ALTER TABLE ONLY "public"."people" ALTER COLUMN "name" SET COMPRESSION pglz;

ALTER TABLE ONLY "public"."people" ALTER COLUMN "born" SET STATISTICS 300;

COMMENT ON TABLE "public"."people" IS 'people';

COMMENT ON COLUMN "public"."people"."email" IS 'unique';

CREATE OR REPLACE FUNCTION public.label(p public.people)
 RETURNS text
 LANGUAGE sql
 STABLE
AS $function$ SELECT p.name || '!' $function$;

COMMENT ON FUNCTION "public"."label"(p public.people) IS 'a label';

CREATE FOREIGN TABLE "public"."remote" (
    "id" integer OPTIONS ("column_name" 'ident')
)
SERVER "elsewhere" OPTIONS ("table_name" 'far');

CREATE TABLE "public"."shards" (
    "id" integer
)
PARTITION BY HASH (id);

CREATE TABLE "public"."shards_0" (
    "id" integer
);

CREATE TABLE "public"."shards_1" (
    "id" integer
);

CREATE TABLE "public"."typed" OF public.pair (
    "a" WITH OPTIONS DEFAULT 7 NOT NULL,
    CONSTRAINT "typed_a_check" CHECK ((a > 0))
);

CREATE UNLOGGED TABLE "Ünï ""quoted"""."tåble" (
    "çol" text,
    "during" public.floatrange
);

CREATE VIEW "public"."labels" WITH (security_barrier='true') AS
SELECT p.id,
    public.label(p.*) AS label
   FROM public.people p;

ALTER VIEW "public"."labels" ALTER COLUMN "label" SET DEFAULT 'none'::text;

CREATE MATERIALIZED VIEW "public"."moods" AS
SELECT people.mood,
    count(*) AS n
   FROM public.people
  GROUP BY people.mood
  WITH NO DATA;

CREATE VIEW "public"."nested" WITH (check_option='local') AS
SELECT labels.id,
    labels.label
   FROM public.labels
  WHERE (labels.id > 10);

CREATE MATERIALIZED VIEW "public"."other_am_view" USING "heap ""too""
*/ \." AS
SELECT other_am.x
   FROM public.other_am
  WITH NO DATA;

CREATE MATERIALIZED VIEW "public"."unfilled" AS
SELECT 1 AS x
  WITH NO DATA;

ALTER TABLE ONLY "public"."events" ATTACH PARTITION "public"."events_2024" FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');

ALTER TABLE ONLY "public"."events_2024" ATTACH PARTITION "public"."events_2024_a" FOR VALUES IN ('a');

ALTER TABLE ONLY "public"."events" ATTACH PARTITION "public"."events_other" DEFAULT;

ALTER TABLE ONLY "public"."shards" ATTACH PARTITION "public"."shards_0" FOR VALUES WITH (modulus 2, remainder 0);

ALTER TABLE ONLY "public"."shards" ATTACH PARTITION "public"."shards_1" FOR VALUES WITH (modulus 2, remainder 1);


-- Data for "public"."aliased"

COPY "public"."aliased" ("v") FROM stdin;
7
42
\.


-- Data for "public"."child"

COPY "public"."child" ("id", "note", "extra") FROM stdin;
\.


-- Data for "public"."events_other"

COPY "public"."events_other" ("id", "at", "kind") FROM stdin;
\.


-- Data for "public"."other_am"

COPY "public"."other_am" ("x") FROM stdin;
1
2
\.


-- Data for "public"."parent"

COPY "public"."parent" ("id", "note") FROM stdin;
\.


-- Data for "public"."shards_0"

COPY "public"."shards_0" ("id") FROM stdin;
\.


-- Data for "public"."shards_1"

COPY "public"."shards_1" ("id") FROM stdin;
\.


-- Data for "public"."typed"

COPY "public"."typed" ("a", "b") FROM stdin;
7	x
\.


-- Data for "Ünï ""quoted"""."tåble"

COPY "Ünï ""quoted"""."tåble" ("çol", "during") FROM stdin;
\.


-- Large objects

SELECT pg_catalog.lo_create('4242');
SELECT pg_catalog.lo_put('4242', 0, '\x00ff00');


-- Sequence values

SELECT pg_catalog.setval('"public"."codes"', 103, true);
SELECT pg_catalog.setval('"public"."people_id_seq"', 11, true);

-- Indexes, constraints, triggers

ALTER TABLE ONLY "public"."people" ADD CONSTRAINT "people_email_key" UNIQUE (email);

ALTER TABLE ONLY "public"."people" ADD CONSTRAINT "people_pkey" PRIMARY KEY (id);

ALTER TABLE ONLY "Ünï ""quoted"""."tåble" ADD CONSTRAINT "tåble_during_excl" EXCLUDE USING gist (during WITH &&);

CREATE INDEX events_2024_a_at_idx ON public.events_2024_a USING btree (at);

CREATE INDEX events_2024_at_idx ON ONLY public.events_2024 USING btree (at);

CREATE INDEX events_at ON ONLY public.events USING btree (at);

CREATE INDEX events_other_at_idx ON public.events_other USING btree (at);

CREATE UNIQUE INDEX moods_mood ON public.moods USING btree (mood);

CREATE INDEX people_id_rev ON public.people USING btree (id "Ünï ""quoted"""."rev ""ops"" */
\.");

CREATE INDEX people_id_same ON public.people USING hash (id public.int4_same_ops);

CREATE INDEX people_lower ON public.people USING btree (lower((email)::text));

ALTER INDEX "public"."people_lower" ALTER COLUMN 1 SET STATISTICS 3000;

ALTER TABLE "public"."people" CLUSTER ON "people_lower";

CREATE INDEX people_recent ON public.people USING btree (born DESC) INCLUDE (name) WHERE (manager IS NOT NULL);

CREATE INDEX people_spot ON public.people USING gist (spot);

ALTER INDEX "public"."events_2024_at_idx" ATTACH PARTITION "public"."events_2024_a_at_idx";

ALTER INDEX "public"."events_at" ATTACH PARTITION "public"."events_2024_at_idx";

ALTER INDEX "public"."events_at" ATTACH PARTITION "public"."events_other_at_idx";

CREATE STATISTICS public.people_expr ON lower(name), (born + 1) FROM public.people;

ALTER STATISTICS "public"."people_expr" SET STATISTICS 50;

CREATE STATISTICS public.people_stats (dependencies) ON mood, born FROM public.people;

CREATE RULE parent_no_delete AS
    ON DELETE TO public.parent DO INSTEAD NOTHING;

CREATE TRIGGER parent_batch AFTER INSERT ON public.parent REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION public.count_new();

CREATE CONSTRAINT TRIGGER parent_check AFTER INSERT ON public.parent DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.touch();

CREATE TRIGGER people_touch BEFORE UPDATE ON public.people FOR EACH ROW EXECUTE FUNCTION public.touch();

ALTER TABLE "public"."people" DISABLE TRIGGER "people_touch";

ALTER TABLE ONLY "public"."people" ADD CONSTRAINT "people_born_check" CHECK ((born > '1900-01-01'::date)) NOT VALID;

COMMENT ON CONSTRAINT "people_born_check" ON "public"."people" IS 'not validated';

ALTER TABLE ONLY "public"."people" ADD CONSTRAINT "people_manager_fkey" FOREIGN KEY (manager) REFERENCES public.people(id) DEFERRABLE;

ALTER TABLE "public"."parent" ENABLE ROW LEVEL SECURITY;

ALTER TABLE ONLY "public"."parent" FORCE ROW LEVEL SECURITY;

CREATE POLICY "own_rows" ON "public"."parent" AS RESTRICTIVE FOR SELECT TO judge_reader USING ((note = CURRENT_USER));

CREATE PUBLICATION "everything_people" WITH (publish = 'insert');

ALTER PUBLICATION "everything_people" ADD TABLE ONLY public.child;

ALTER PUBLICATION "everything_people" ADD TABLE ONLY public.parent;

ALTER PUBLICATION "everything_people" ADD TABLE ONLY public.people;

REFRESH MATERIALIZED VIEW "public"."moods";

REFRESH MATERIALIZED VIEW "public"."other_am_view";

CREATE EVENT TRIGGER "watch_ddl" ON "ddl_command_end"
    WHEN TAG IN ('CREATE TABLE')
    EXECUTE FUNCTION public.on_ddl();

-- End of archive: every section above was written.
