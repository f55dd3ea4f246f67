// An independent judge of "the same schema" for servers without a pg_dump of their version: every
// object of a database described by PostgreSQL's own pg_get_*def functions and catalog columns,
// keyed by kind and name (never OIDs or column numbers), so that two databases compare as sets.
// It shares no code with the engine (f/admin/lib/engine/): it is what the engine is judged by.
// Like the pg_dump judge (--no-owner) it leaves out owners; privileges are compared. Objects that
// belong to an extension are left out (CREATE EXTENSION makes them), as are database-level settings.
import type pg from "pg";
import type { Cluster } from "./cluster.ts";

/** "kind identity" → normalised definition. */
export type CatalogDescription = Map<string, string>;

const USER_SCHEMA = `(n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)')`;

/** True when the object does not belong to an extension. */
const notInExtension = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = 'pg_catalog.${catalog}'::regclass AND e.objid = ${oid} AND e.deptype = 'e')`;

/** Objects made by CREATE statements (OIDs below FirstNormalObjectId belong to initdb). */
const userMade = (oid: string) => `${oid} >= 16384`;

const relationName = `pg_catalog.format('%I.%I', n.nspname, c.relname)`;

/** Privileges, or nothing when they are exactly the owner's defaults (pg_dump writes no GRANT for those either). */
/** An ACL as a sorted list: the order of its items records the order of the GRANTs, not a privilege. */
const sortedAcl = (expression: string) =>
  `(SELECT pg_catalog.array_agg(item::text ORDER BY item::text) FROM pg_catalog.unnest(${expression}) AS item)::text`;
const acl = (column: string, kind: string, owner: string) =>
  `'acl ' || NULLIF(${sortedAcl(column)}, ${sortedAcl(`pg_catalog.acldefault('${kind}', ${owner})`)})`;

/** The values of `item` over `rows` (FROM … WHERE …) as one sorted text array, so that catalog order never shows. */
const sortedList = (item: string, rows: string) =>
  `(SELECT pg_catalog.array_agg(x ORDER BY x COLLATE "C")::text FROM (SELECT ${item} AS x ${rows}) s)`;

/** Each query returns rows of (key, definition). */
const QUERIES: Array<{ kind: string; sql: (version: number) => string }> = [
  {
    kind: "schema",
    sql: () => `
      SELECT 'schema ' || pg_catalog.quote_ident(n.nspname), pg_catalog.concat_ws(' ', ${acl("n.nspacl", "n", "n.nspowner")})
        FROM pg_catalog.pg_namespace n WHERE ${USER_SCHEMA} AND ${notInExtension("pg_namespace", "n.oid")}`,
  },
  {
    kind: "extension",
    sql: () => `
      SELECT 'extension ' || pg_catalog.quote_ident(x.extname),
             pg_catalog.format('version %s schema %I config %s where %s', x.extversion, n.nspname,
               ${sortedList("t::regclass::text", "FROM pg_catalog.unnest(x.extconfig) t")}, x.extcondition)
        FROM pg_catalog.pg_extension x JOIN pg_catalog.pg_namespace n ON n.oid = x.extnamespace`,
  },
  {
    kind: "type",
    // Array types, table row types and multiranges come with their table or range; composite types are described with their attributes.
    sql: () => `
      SELECT pg_catalog.format('type %s', t.oid::regtype),
             pg_catalog.concat_ws(' ', 'kind', t.typtype,
               CASE t.typtype
                 WHEN 'e' THEN (SELECT pg_catalog.array_agg(e.enumlabel ORDER BY e.enumsortorder)::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid)
                 WHEN 'd' THEN pg_catalog.concat_ws(' ', 'over', pg_catalog.format_type(t.typbasetype, t.typtypmod),
                                 CASE WHEN t.typnotnull THEN 'not null' END,
                                 'default ' || pg_catalog.pg_get_expr(t.typdefaultbin, 0),
                                 'collate ' || (SELECT pg_catalog.format('%I.%I', cn.nspname, co.collname) FROM pg_catalog.pg_collation co
                                   JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
                                   WHERE co.oid = t.typcollation AND t.typcollation <> (SELECT b.typcollation FROM pg_catalog.pg_type b WHERE b.oid = t.typbasetype)))
                 WHEN 'c' THEN (SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', pg_catalog.quote_ident(a.attname), pg_catalog.format_type(a.atttypid, a.atttypmod),
                                   'collate ' || (SELECT pg_catalog.format('%I.%I', cn.nspname, co.collname) FROM pg_catalog.pg_collation co
                                     JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
                                     WHERE co.oid = a.attcollation AND a.attcollation <> (SELECT b.typcollation FROM pg_catalog.pg_type b WHERE b.oid = a.atttypid))), ', ' ORDER BY a.attnum)
                                 FROM pg_catalog.pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
                 WHEN 'r' THEN (SELECT pg_catalog.concat_ws(' ', 'subtype', pg_catalog.format_type(r.rngsubtype, NULL),
                                   'opclass', (SELECT pg_catalog.format('%I.%I', on_.nspname, oc.opcname) FROM pg_catalog.pg_opclass oc
                                     JOIN pg_catalog.pg_namespace on_ ON on_.oid = oc.opcnamespace WHERE oc.oid = r.rngsubopc),
                                   'collation', r.rngcollation::regcollation::text,
                                   'canonical', r.rngcanonical::regproc::text, 'subdiff', r.rngsubdiff::regproc::text,
                                   'multirange', r.rngmultitypid::regtype::text)
                                 FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid)
                 ELSE pg_catalog.concat_ws(' ', 'input', t.typinput::regproc::text, 'output', t.typoutput::regproc::text,
                        'receive', t.typreceive::regproc::text, 'send', t.typsend::regproc::text,
                        'typmod in', t.typmodin::regproc::text, 'typmod out', t.typmodout::regproc::text, 'analyze', t.typanalyze::regproc::text,
                        'length', t.typlen, 'byval', t.typbyval, 'align', t.typalign, 'storage', t.typstorage,
                        'category', t.typcategory, 'preferred', t.typispreferred, 'delimiter', t.typdelim,
                        'element', NULLIF(t.typelem, 0)::regtype::text, 'defined', t.typisdefined)
               END,
               ${acl("t.typacl", "T", "t.typowner")})
        FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_type", "t.oid")} AND t.typtype <> 'm'
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.typarray = t.oid)
         AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid) = 'c')`,
  },
  {
    kind: "domain constraint",
    sql: () => `
      SELECT pg_catalog.format('domain constraint %s.%I', t.oid::regtype, k.conname), pg_catalog.pg_get_constraintdef(k.oid)
        FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_type t ON t.oid = k.contypid JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_type", "t.oid")}`,
  },
  {
    kind: "collation",
    // Whole catalog rows (minus identities and the provider library's version): the columns differ between major versions.
    sql: () => `
      SELECT pg_catalog.format('collation %I.%I', n.nspname, co.collname),
             (pg_catalog.to_jsonb(co) - '{oid,collname,collnamespace,collowner,collversion}'::text[])::text
        FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_collation", "co.oid")}`,
  },
  {
    kind: "relation",
    sql: () => `
      SELECT pg_catalog.format('%s %s', CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'f' THEN 'foreign table'
               WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' END, ${relationName}),
             pg_catalog.concat_ws(' ', 'kind', c.relkind, 'persistence', c.relpersistence,
               'using ' || (SELECT a.amname FROM pg_catalog.pg_am a WHERE a.oid = c.relam),
               'tablespace ' || (SELECT s.spcname FROM pg_catalog.pg_tablespace s WHERE s.oid = c.reltablespace),
               'with ' || ${sortedList("o", "FROM pg_catalog.unnest(c.reloptions) o")},
               'of ' || NULLIF(c.reloftype, 0)::regtype::text,
               'partition by ' || pg_catalog.pg_get_partkeydef(c.oid),
               'partition of ' || (SELECT i.inhparent::regclass::text FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition)
                 || ' ' || pg_catalog.pg_get_expr(c.relpartbound, c.oid),
               'inherits ' || (SELECT pg_catalog.array_agg(i.inhparent::regclass::text ORDER BY i.inhseqno)::text FROM pg_catalog.pg_inherits i
                 WHERE i.inhrelid = c.oid AND NOT c.relispartition),
               'replica identity ' || c.relreplident::text,
               CASE WHEN c.relrowsecurity THEN 'row security' END, CASE WHEN c.relforcerowsecurity THEN 'forced' END,
               'populated ' || CASE WHEN c.relkind = 'm' THEN c.relispopulated::text END,
               'server ' || (SELECT pg_catalog.quote_ident(s.srvname) || ' ' || COALESCE(f.ftoptions::text, '') FROM pg_catalog.pg_foreign_table f
                 JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver WHERE f.ftrelid = c.oid),
               'as ' || CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END,
               ${acl("c.relacl", "r", "c.relowner")})
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND ${USER_SCHEMA} AND ${notInExtension("pg_class", "c.oid")}`,
  },
  {
    kind: "column",
    // Positions count the live columns only: a restore compacts the ones dropped in the source.
    // Debian's 15.20 keeps a server-managed pg_attver entry in every column's options, different in
    // every database; users cannot set or reset it and pg_dump leaves it out, so the judge does too.
    sql: () => `
      SELECT pg_catalog.format('column %s.%I', ${relationName}, a.attname),
             pg_catalog.concat_ws(' ', '#' || pg_catalog.row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
               pg_catalog.format_type(a.atttypid, a.atttypmod),
               CASE WHEN a.attnotnull THEN 'not null' END,
               'default ' || CASE WHEN a.attgenerated = '' THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
               'generated ' || NULLIF(a.attgenerated, '')::text || ' ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid),
               'identity ' || NULLIF(a.attidentity, '')::text || ' ' || pg_catalog.pg_get_serial_sequence(c.oid::regclass::text, a.attname),
               'collate ' || (SELECT pg_catalog.format('%I.%I', cn.nspname, co.collname) FROM pg_catalog.pg_collation co
                 JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
                 WHERE co.oid = a.attcollation AND a.attcollation <> (SELECT t.typcollation FROM pg_catalog.pg_type t WHERE t.oid = a.atttypid)),
               'storage ' || a.attstorage::text, 'compression ' || NULLIF(a.attcompression, '')::text,
               'statistics ' || NULLIF(a.attstattarget, -1),
               'options ' || ${sortedList("o", "FROM pg_catalog.unnest(a.attoptions) o WHERE o NOT LIKE 'pg\\_attver=%'")},
               'fdw options ' || a.attfdwoptions::text,
               CASE WHEN NOT a.attislocal THEN 'inherited' END, 'inherited from ' || NULLIF(a.attinhcount, 0),
               ${acl("a.attacl", "c", "c.relowner")})
        FROM pg_catalog.pg_attribute a
        JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
         AND ${USER_SCHEMA} AND ${notInExtension("pg_class", "c.oid")}`,
  },
  {
    kind: "constraint",
    sql: () => `
      SELECT pg_catalog.format('constraint %I on %s', k.conname, ${relationName}),
             pg_catalog.concat_ws(' ', pg_catalog.pg_get_constraintdef(k.oid),
               CASE WHEN NOT k.conislocal THEN 'inherited' END, 'inherited from ' || NULLIF(k.coninhcount, 0),
               'index ' || (SELECT i.relname FROM pg_catalog.pg_class i WHERE i.oid = k.conindid),
               'parent ' || (SELECT p.conname FROM pg_catalog.pg_constraint p WHERE p.oid = k.conparentid))
        FROM pg_catalog.pg_constraint k
        JOIN pg_catalog.pg_class c ON c.oid = k.conrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_class", "c.oid")}`,
  },
  {
    kind: "index",
    sql: () => `
      SELECT pg_catalog.format('index %s', ${relationName}),
             pg_catalog.concat_ws(' ', pg_catalog.pg_get_indexdef(c.oid),
               CASE WHEN x.indisclustered THEN 'clustered' END, CASE WHEN x.indisreplident THEN 'replica identity' END,
               CASE WHEN NOT x.indisvalid THEN 'invalid' END,
               'tablespace ' || (SELECT s.spcname FROM pg_catalog.pg_tablespace s WHERE s.oid = c.reltablespace),
               'partition of ' || (SELECT i.inhparent::regclass::text FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid),
               'statistics ' || (SELECT pg_catalog.string_agg(a.attnum || '=' || a.attstattarget, ',' ORDER BY a.attnum)
                 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attstattarget > 0))
        FROM pg_catalog.pg_index x
        JOIN pg_catalog.pg_class c ON c.oid = x.indexrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_class", "c.oid")}
         AND ${notInExtension("pg_class", "x.indrelid")}`,
  },
  {
    kind: "sequence",
    sql: () => `
      SELECT pg_catalog.format('sequence %s', ${relationName}),
             pg_catalog.concat_ws(' ', pg_catalog.format_type(s.seqtypid, NULL), 'persistence', c.relpersistence,
               'start', s.seqstart, 'increment', s.seqincrement, 'min', s.seqmin, 'max', s.seqmax, 'cache', s.seqcache,
               CASE WHEN s.seqcycle THEN 'cycle' END,
               'owned by ' || (SELECT pg_catalog.format('%s.%I (%s)', d.refobjid::regclass, a.attname, d.deptype)
                 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                 WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass
                   AND d.deptype IN ('a', 'i')),
               ${acl("c.relacl", "s", "c.relowner")})
        FROM pg_catalog.pg_sequence s
        JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_class", "c.oid")}`,
  },
  {
    kind: "function",
    // Aggregates have no pg_get_functiondef: their pg_aggregate row, with functions and types by name.
    sql: () => `
      SELECT pg_catalog.format('%s %I.%I(%s)', CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
               n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
             pg_catalog.concat_ws(' ',
               CASE WHEN p.prokind = 'a' THEN
                 (SELECT pg_catalog.concat_ws(' ', 'returns', pg_catalog.format_type(p.prorettype, NULL), 'kind', g.aggkind,
                    'direct args', g.aggnumdirectargs, 'sfunc', g.aggtransfn::regproc::text, 'stype', pg_catalog.format_type(g.aggtranstype, NULL),
                    'sspace', g.aggtransspace, 'finalfunc', NULLIF(g.aggfinalfn, 0)::regproc::text, 'final extra', g.aggfinalextra,
                    'final modify', g.aggfinalmodify, 'combinefunc', NULLIF(g.aggcombinefn, 0)::regproc::text,
                    'serialfunc', NULLIF(g.aggserialfn, 0)::regproc::text, 'deserialfunc', NULLIF(g.aggdeserialfn, 0)::regproc::text,
                    'msfunc', NULLIF(g.aggmtransfn, 0)::regproc::text, 'minvfunc', NULLIF(g.aggminvtransfn, 0)::regproc::text,
                    'mstype', NULLIF(g.aggmtranstype, 0)::regtype::text, 'msspace', g.aggmtransspace,
                    'mfinalfunc', NULLIF(g.aggmfinalfn, 0)::regproc::text, 'mfinal extra', g.aggmfinalextra, 'mfinal modify', g.aggmfinalmodify,
                    'sortop', NULLIF(g.aggsortop, 0)::regoperator::text, 'initcond', pg_catalog.quote_literal(g.agginitval),
                    'minitcond', pg_catalog.quote_literal(g.aggminitval), 'parallel', p.proparallel)
                  FROM pg_catalog.pg_aggregate g WHERE g.aggfnoid = p.oid)
               ELSE pg_catalog.pg_get_functiondef(p.oid) END,
               ${acl("p.proacl", "f", "p.proowner")})
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_proc", "p.oid")}`,
  },
  {
    kind: "trigger",
    sql: () => `
      SELECT pg_catalog.format('trigger %I on %s', t.tgname, ${relationName}),
             pg_catalog.concat_ws(' ', pg_catalog.pg_get_triggerdef(t.oid), 'enabled', t.tgenabled)
        FROM pg_catalog.pg_trigger t
        JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE NOT t.tgisinternal AND ${USER_SCHEMA} AND ${notInExtension("pg_class", "c.oid")}`,
  },
  {
    kind: "event trigger",
    sql: () => `
      SELECT 'event trigger ' || pg_catalog.quote_ident(t.evtname),
             pg_catalog.concat_ws(' ', 'on', t.evtevent, 'execute', t.evtfoid::regproc::text, 'enabled', t.evtenabled, 'tags', t.evttags::text)
        FROM pg_catalog.pg_event_trigger t WHERE ${notInExtension("pg_event_trigger", "t.oid")}`,
  },
  {
    kind: "rule",
    sql: () => `
      SELECT pg_catalog.format('rule %I on %s', r.rulename, ${relationName}),
             pg_catalog.concat_ws(' ', pg_catalog.pg_get_ruledef(r.oid), 'enabled', r.ev_enabled)
        FROM pg_catalog.pg_rewrite r
        JOIN pg_catalog.pg_class c ON c.oid = r.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE NOT (r.rulename = '_RETURN' AND c.relkind IN ('v', 'm')) AND ${USER_SCHEMA} AND ${notInExtension("pg_class", "c.oid")}`,
  },
  {
    kind: "policy",
    sql: () => `
      SELECT pg_catalog.format('policy %I on %s', p.polname, ${relationName}),
             pg_catalog.concat_ws(' ', 'for', p.polcmd, CASE WHEN p.polpermissive THEN 'permissive' ELSE 'restrictive' END,
               'to', ${sortedList("CASE WHEN r = 0 THEN 'public' ELSE r::regrole::text END", "FROM pg_catalog.unnest(p.polroles) r")},
               'using ' || pg_catalog.pg_get_expr(p.polqual, p.polrelid), 'check ' || pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid))
        FROM pg_catalog.pg_policy p
        JOIN pg_catalog.pg_class c ON c.oid = p.polrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_class", "c.oid")}`,
  },
  {
    kind: "statistics",
    sql: () => `
      SELECT pg_catalog.format('statistics %I.%I', n.nspname, s.stxname),
             pg_catalog.concat_ws(' ', pg_catalog.pg_get_statisticsobjdef(s.oid), 'target ' || s.stxstattarget)
        FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_statistic_ext", "s.oid")}`,
  },
  {
    kind: "publication",
    sql: (version) => `
      SELECT 'publication ' || pg_catalog.quote_ident(p.pubname),
             pg_catalog.concat_ws(' ', (pg_catalog.to_jsonb(p) - '{oid,pubname,pubowner}'::text[])::text,
               'tables', ${
      sortedList(
        `pg_catalog.concat_ws(' ', r.prrelid::regclass::text${
          version >= 150000 ?
            `, 'where ' || pg_catalog.pg_get_expr(r.prqual, r.prrelid),
                   'columns ' || ${
              sortedList("a.attname::text", "FROM pg_catalog.pg_attribute a WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs)")
            }` :
            ""
        })`,
        "FROM pg_catalog.pg_publication_rel r WHERE r.prpubid = p.oid",
      )
    }
               ${
      version >= 150000
        ? `, 'schemas', ${
          sortedList("s.pnnspid::regnamespace::text", "FROM pg_catalog.pg_publication_namespace s WHERE s.pnpubid = p.oid")
        }`
        : ""
    })
        FROM pg_catalog.pg_publication p`,
  },
  {
    kind: "cast",
    sql: () => `
      SELECT pg_catalog.format('cast (%s AS %s)', pg_catalog.format_type(k.castsource, NULL), pg_catalog.format_type(k.casttarget, NULL)),
             pg_catalog.concat_ws(' ', 'function ' || NULLIF(k.castfunc, 0)::regprocedure::text, 'context', k.castcontext, 'method', k.castmethod)
        FROM pg_catalog.pg_cast k WHERE ${userMade("k.oid")} AND ${notInExtension("pg_cast", "k.oid")}`,
  },
  {
    kind: "operator",
    sql: () => `
      SELECT pg_catalog.format('operator %s', o.oid::regoperator),
             pg_catalog.concat_ws(' ', 'function', o.oprcode::regproc::text, 'commutator ' || NULLIF(o.oprcom, 0)::regoperator::text,
               'negator ' || NULLIF(o.oprnegate, 0)::regoperator::text, 'restrict ' || NULLIF(o.oprrest, 0)::regproc::text,
               'join ' || NULLIF(o.oprjoin, 0)::regproc::text, 'merges ' || o.oprcanmerge, 'hashes ' || o.oprcanhash)
        FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_operator", "o.oid")}`,
  },
  {
    kind: "operator family",
    sql: () => `
      SELECT pg_catalog.format('operator family %I.%I using %I', n.nspname, f.opfname, a.amname),
             pg_catalog.concat_ws(' ',
               'operators', ${
      sortedList(
        `pg_catalog.format('%s %s %s %s', o.amopstrategy, o.amopopr::regoperator, o.amoppurpose,
                   (SELECT sf.opfname FROM pg_catalog.pg_opfamily sf WHERE sf.oid = o.amopsortfamily))`,
        "FROM pg_catalog.pg_amop o WHERE o.amopfamily = f.oid",
      )
    },
               'functions', ${
      sortedList(
        `pg_catalog.format('%s %s (%s, %s)', p.amprocnum, p.amproc::regprocedure,
                   pg_catalog.format_type(p.amproclefttype, NULL), pg_catalog.format_type(p.amprocrighttype, NULL))`,
        "FROM pg_catalog.pg_amproc p WHERE p.amprocfamily = f.oid",
      )
    },
               'classes', ${
      sortedList(
        `pg_catalog.format('%I.%I for %s%s%s', cn.nspname, c.opcname, pg_catalog.format_type(c.opcintype, NULL),
                   CASE WHEN c.opcdefault THEN ' default' END, ' storage ' || NULLIF(c.opckeytype, 0)::regtype)`,
        "FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_namespace cn ON cn.oid = c.opcnamespace WHERE c.opcfamily = f.oid",
      )
    })
        FROM pg_catalog.pg_opfamily f JOIN pg_catalog.pg_namespace n ON n.oid = f.opfnamespace JOIN pg_catalog.pg_am a ON a.oid = f.opfmethod
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_opfamily", "f.oid")}`,
  },
  {
    kind: "text search",
    sql: () => `
      SELECT pg_catalog.format('text search configuration %I.%I', n.nspname, c.cfgname),
             pg_catalog.concat_ws(' ', 'parser', (SELECT pg_catalog.format('%I.%I', pn.nspname, p.prsname) FROM pg_catalog.pg_ts_parser p
                 JOIN pg_catalog.pg_namespace pn ON pn.oid = p.prsnamespace WHERE p.oid = c.cfgparser),
               'mappings', (SELECT pg_catalog.array_agg(m.maptokentype || ':' || m.mapseqno || ':' || m.mapdict::regdictionary::text ORDER BY m.maptokentype, m.mapseqno)
                 FROM pg_catalog.pg_ts_config_map m WHERE m.mapcfg = c.oid)::text)
        FROM pg_catalog.pg_ts_config c JOIN pg_catalog.pg_namespace n ON n.oid = c.cfgnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_ts_config", "c.oid")}
      UNION ALL
      SELECT pg_catalog.format('text search dictionary %I.%I', n.nspname, d.dictname),
             pg_catalog.concat_ws(' ', 'template', (SELECT pg_catalog.format('%I.%I', tn.nspname, t.tmplname) FROM pg_catalog.pg_ts_template t
               JOIN pg_catalog.pg_namespace tn ON tn.oid = t.tmplnamespace WHERE t.oid = d.dicttemplate), 'options ' || d.dictinitoption)
        FROM pg_catalog.pg_ts_dict d JOIN pg_catalog.pg_namespace n ON n.oid = d.dictnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_ts_dict", "d.oid")}
      UNION ALL
      SELECT pg_catalog.format('text search template %I.%I', n.nspname, t.tmplname),
             pg_catalog.concat_ws(' ', 'init ' || NULLIF(t.tmplinit, 0)::regproc::text, 'lexize', t.tmpllexize::regproc::text)
        FROM pg_catalog.pg_ts_template t JOIN pg_catalog.pg_namespace n ON n.oid = t.tmplnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_ts_template", "t.oid")}
      UNION ALL
      SELECT pg_catalog.format('text search parser %I.%I', n.nspname, p.prsname),
             pg_catalog.concat_ws(' ', p.prsstart::regproc::text, p.prstoken::regproc::text, p.prsend::regproc::text,
               NULLIF(p.prsheadline, 0)::regproc::text, p.prslextype::regproc::text)
        FROM pg_catalog.pg_ts_parser p JOIN pg_catalog.pg_namespace n ON n.oid = p.prsnamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_ts_parser", "p.oid")}`,
  },
  {
    kind: "conversion",
    sql: () => `
      SELECT pg_catalog.format('conversion %I.%I', n.nspname, v.conname),
             pg_catalog.concat_ws(' ', pg_catalog.pg_encoding_to_char(v.conforencoding), 'to', pg_catalog.pg_encoding_to_char(v.contoencoding),
               'by', v.conproc::regproc::text, CASE WHEN v.condefault THEN 'default' END)
        FROM pg_catalog.pg_conversion v JOIN pg_catalog.pg_namespace n ON n.oid = v.connamespace
       WHERE ${USER_SCHEMA} AND ${notInExtension("pg_conversion", "v.oid")}`,
  },
  {
    kind: "access method",
    sql: () => `
      SELECT 'access method ' || pg_catalog.quote_ident(a.amname), pg_catalog.concat_ws(' ', 'type', a.amtype, 'handler', a.amhandler::regproc::text)
        FROM pg_catalog.pg_am a WHERE ${userMade("a.oid")} AND ${notInExtension("pg_am", "a.oid")}`,
  },
  {
    kind: "transform",
    sql: () => `
      SELECT pg_catalog.format('transform for %s language %I', pg_catalog.format_type(t.trftype, NULL), l.lanname),
             pg_catalog.concat_ws(' ', 'from sql ' || NULLIF(t.trffromsql, 0)::regprocedure::text, 'to sql ' || NULLIF(t.trftosql, 0)::regprocedure::text)
        FROM pg_catalog.pg_transform t JOIN pg_catalog.pg_language l ON l.oid = t.trflang
       WHERE ${userMade("t.oid")} AND ${notInExtension("pg_transform", "t.oid")}`,
  },
  {
    kind: "language",
    sql: () => `
      SELECT 'language ' || pg_catalog.quote_ident(l.lanname),
             pg_catalog.concat_ws(' ', CASE WHEN l.lanpltrusted THEN 'trusted' END, 'handler', l.lanplcallfoid::regproc::text,
               'inline ' || NULLIF(l.laninline, 0)::regproc::text, 'validator ' || NULLIF(l.lanvalidator, 0)::regproc::text, ${
      acl("l.lanacl", "l", "l.lanowner")
    })
        FROM pg_catalog.pg_language l WHERE ${userMade("l.oid")} AND ${notInExtension("pg_language", "l.oid")}`,
  },
  {
    kind: "foreign data",
    sql: () => `
      SELECT 'foreign-data wrapper ' || pg_catalog.quote_ident(w.fdwname),
             pg_catalog.concat_ws(' ', 'handler ' || NULLIF(w.fdwhandler, 0)::regproc::text, 'validator ' || NULLIF(w.fdwvalidator, 0)::regproc::text,
               'options ' || w.fdwoptions::text, ${acl("w.fdwacl", "F", "w.fdwowner")})
        FROM pg_catalog.pg_foreign_data_wrapper w WHERE ${notInExtension("pg_foreign_data_wrapper", "w.oid")}
      UNION ALL
      SELECT 'server ' || pg_catalog.quote_ident(s.srvname),
             pg_catalog.concat_ws(' ', 'wrapper', (SELECT w.fdwname FROM pg_catalog.pg_foreign_data_wrapper w WHERE w.oid = s.srvfdw),
               'type ' || s.srvtype, 'version ' || s.srvversion, 'options ' || s.srvoptions::text, ${acl("s.srvacl", "S", "s.srvowner")})
        FROM pg_catalog.pg_foreign_server s WHERE ${notInExtension("pg_foreign_server", "s.oid")}
      UNION ALL
      SELECT pg_catalog.format('user mapping for %s server %I', u.usename, u.srvname), COALESCE(u.umoptions::text, '')
        FROM pg_catalog.pg_user_mappings u`,
  },
  {
    kind: "default privileges",
    sql: () => `
      SELECT pg_catalog.format('default privileges for %s in %s on %s', d.defaclrole::regrole, COALESCE(d.defaclnamespace::regnamespace::text, 'all schemas'), d.defaclobjtype),
             ${sortedAcl("d.defaclacl")}
        FROM pg_catalog.pg_default_acl d`,
  },
  {
    kind: "large object",
    sql: () => `
      SELECT 'large object ' || m.oid, pg_catalog.concat_ws(' ', 'md5', pg_catalog.md5(pg_catalog.lo_get(m.oid)), ${
      acl("m.lomacl", "L", "m.lomowner")
    })
        FROM pg_catalog.pg_largeobject_metadata m`,
  },
  {
    kind: "comment",
    // pg_identify_object names any commented object (column, constraint, function with arguments…) without OIDs.
    // Built-in objects keep initdb's comments, except the public schema, whose comment users change.
    sql: () => `
      SELECT pg_catalog.format('comment on %s %s', o.type, o.identity), d.description
        FROM pg_catalog.pg_description d, LATERAL pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) o
       WHERE (d.objoid >= 16384 OR (d.classoid = 'pg_catalog.pg_namespace'::regclass AND o.identity = 'public'))
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.classid = d.classoid AND e.objid = d.objoid AND e.deptype = 'e')`,
  },
];

/**
 * Every object of the connected database with its definition, read in one snapshot with the
 * settings that make the deparsed text independent of the session (names always qualified,
 * dates and numbers in one format).
 */
export async function describeCatalog(client: pg.Client): Promise<CatalogDescription> {
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    await client.query(
      "SET LOCAL search_path = ''; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; " +
        "SET LOCAL TimeZone = 'UTC'; SET LOCAL extra_float_digits = 3; SET LOCAL bytea_output = 'hex'",
    );
    const version = Number((await client.query<{ v: string }>("SELECT pg_catalog.current_setting('server_version_num') AS v")).rows[0]!.v);
    const description: CatalogDescription = new Map();
    const add = (key: string, definition: string | null) => {
      if (description.has(key)) throw new Error(`catalog judge: two objects described as "${key}"`);
      description.set(key, definition ?? "");
    };
    for (const { kind, sql } of QUERIES) {
      const result = await client.query({ text: sql(version), rowMode: "array" }).catch((error: Error) => {
        throw new Error(`catalog judge: reading ${kind}s failed: ${error.message}`);
      });
      for (const [key, definition] of result.rows as Array<[string, string | null]>) add(key, definition);
    }
    for (const [key, definition] of await sequenceValues(client)) add(key, definition);
    return description;
  } finally {
    await client.query("ROLLBACK");
  }
}

/** last_value and is_called live in each sequence's own relation: one query reads them all. */
async function sequenceValues(client: pg.Client): Promise<Array<[string, string]>> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT ${relationName} AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'S' AND ${USER_SCHEMA} AND ${notInExtension("pg_class", "c.oid")}`,
  );
  if (rows.length === 0) return [];
  const union = rows
    .map(({ name }) =>
      `SELECT ${client.escapeLiteral(name)}, pg_catalog.format('last_value %s is_called %s', last_value, is_called) FROM ${name}`
    )
    .join(" UNION ALL ");
  const result = await client.query({ text: union, rowMode: "array" });
  return (result.rows as Array<[string, string]>).map(([name, value]) => [`sequence value ${name}`, value]);
}

export async function catalogOf(cluster: Cluster, dbname: string): Promise<CatalogDescription> {
  const client = await cluster.connect(dbname);
  try {
    return await describeCatalog(client);
  } finally {
    await client.end();
  }
}

/** Every difference between two descriptions, one readable line (or block) each; empty when they are the same. */
export function compareCatalogs(
  expected: CatalogDescription,
  actual: CatalogDescription,
  labels = { expected: "source", actual: "restored" },
): string[] {
  const differences: string[] = [];
  for (const [key, definition] of expected) {
    const other = actual.get(key);
    if (other === undefined) differences.push(`only in ${labels.expected}: ${key}`);
    else if (other !== definition) differences.push(`differs: ${key}\n  ${labels.expected}: ${definition}\n  ${labels.actual}: ${other}`);
  }
  for (const key of actual.keys()) {
    if (!expected.has(key)) differences.push(`only in ${labels.actual}: ${key}`);
  }
  return differences.sort();
}
