// Whether the schema changed while a backup read it. The catalog is read inside the backup's
// snapshot, but the pg_get_*def functions read the current catalog: a DDL committed between the
// snapshot and those calls (a DROP INDEX, a DROP FUNCTION, a TRUNCATE before the tables are locked)
// would put a definition in the archive that does not match its rows, or none at all. A fingerprint
// of the catalog rows (each row's identity and the transaction that wrote it), read on a connection
// of its own before the snapshot and again after the schema is read, tells: equal, nothing committed
// in between. Temporary objects (an app's temp tables) and large objects (read through the snapshot,
// like rows) are left out, so an app creating them never makes a backup start over.
import type pg from "pg";

const NOT_TEMP = "NOT IN (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname ~ '^pg_(toast_)?temp_')";

/** One line per catalog: its rows as `key xmin`, restricted to what is not temporary. */
const CATALOG_ROWS = [
  `SELECT 'class ' || oid || ' ' || xmin FROM pg_catalog.pg_class WHERE relnamespace ${NOT_TEMP}`,
  `SELECT 'attribute ' || attrelid || '.' || attnum || ' ' || a.xmin FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid WHERE c.relnamespace ${NOT_TEMP}`,
  `SELECT 'namespace ' || oid || ' ' || xmin FROM pg_catalog.pg_namespace WHERE oid ${NOT_TEMP}`,
  `SELECT 'type ' || oid || ' ' || xmin FROM pg_catalog.pg_type WHERE typnamespace ${NOT_TEMP}`,
  `SELECT 'proc ' || oid || ' ' || xmin FROM pg_catalog.pg_proc WHERE pronamespace ${NOT_TEMP}`,
  `SELECT 'constraint ' || oid || ' ' || xmin FROM pg_catalog.pg_constraint WHERE connamespace ${NOT_TEMP}`,
  `SELECT 'index ' || indexrelid || ' ' || i.xmin FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace ${NOT_TEMP}`,
  `SELECT 'trigger ' || t.oid || ' ' || t.xmin FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace ${NOT_TEMP}`,
  `SELECT 'rewrite ' || r.oid || ' ' || r.xmin FROM pg_catalog.pg_rewrite r JOIN pg_catalog.pg_class c ON c.oid = r.ev_class WHERE c.relnamespace ${NOT_TEMP}`,
  `SELECT 'attrdef ' || d.oid || ' ' || d.xmin FROM pg_catalog.pg_attrdef d JOIN pg_catalog.pg_class c ON c.oid = d.adrelid WHERE c.relnamespace ${NOT_TEMP}`,
  `SELECT 'sequence ' || seqrelid || ' ' || s.xmin FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace ${NOT_TEMP}`,
  `SELECT 'inherits ' || inhrelid || '.' || inhseqno || ' ' || i.xmin FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid WHERE c.relnamespace ${NOT_TEMP}`,
  `SELECT 'description ' || classoid || '.' || objoid || '.' || objsubid || ' ' || xmin FROM pg_catalog.pg_description`,
  `SELECT 'enum ' || oid || ' ' || xmin FROM pg_catalog.pg_enum`,
  `SELECT 'extension ' || oid || ' ' || xmin FROM pg_catalog.pg_extension`,
  `SELECT 'policy ' || oid || ' ' || xmin FROM pg_catalog.pg_policy`,
  `SELECT 'collation ' || oid || ' ' || xmin FROM pg_catalog.pg_collation WHERE collnamespace ${NOT_TEMP}`,
  `SELECT 'cast ' || oid || ' ' || xmin FROM pg_catalog.pg_cast`,
  `SELECT 'operator ' || oid || ' ' || xmin FROM pg_catalog.pg_operator WHERE oprnamespace ${NOT_TEMP}`,
  `SELECT 'opclass ' || oid || ' ' || xmin FROM pg_catalog.pg_opclass`,
  `SELECT 'opfamily ' || oid || ' ' || xmin FROM pg_catalog.pg_opfamily`,
  `SELECT 'conversion ' || oid || ' ' || xmin FROM pg_catalog.pg_conversion`,
  `SELECT 'event_trigger ' || oid || ' ' || xmin FROM pg_catalog.pg_event_trigger`,
  `SELECT 'publication ' || oid || ' ' || xmin FROM pg_catalog.pg_publication`,
  `SELECT 'publication_rel ' || oid || ' ' || xmin FROM pg_catalog.pg_publication_rel`,
  `SELECT 'fdw ' || oid || ' ' || xmin FROM pg_catalog.pg_foreign_data_wrapper`,
  `SELECT 'server ' || oid || ' ' || xmin FROM pg_catalog.pg_foreign_server`,
  `SELECT 'foreign_table ' || ftrelid || ' ' || xmin FROM pg_catalog.pg_foreign_table`,
  `SELECT 'default_acl ' || oid || ' ' || xmin FROM pg_catalog.pg_default_acl`,
  `SELECT 'statistic_ext ' || oid || ' ' || xmin FROM pg_catalog.pg_statistic_ext WHERE stxnamespace ${NOT_TEMP}`,
  `SELECT 'ts_config ' || oid || ' ' || xmin FROM pg_catalog.pg_ts_config`,
  `SELECT 'ts_config_map ' || mapcfg || '.' || maptokentype || '.' || mapseqno || ' ' || xmin FROM pg_catalog.pg_ts_config_map`,
  `SELECT 'ts_dict ' || oid || ' ' || xmin FROM pg_catalog.pg_ts_dict`,
  `SELECT 'language ' || oid || ' ' || xmin FROM pg_catalog.pg_language`,
  `SELECT 'range ' || rngtypid || ' ' || xmin FROM pg_catalog.pg_range`,
  `SELECT 'transform ' || oid || ' ' || xmin FROM pg_catalog.pg_transform`,
  `SELECT 'db_setting ' || setrole || ' ' || xmin FROM pg_catalog.pg_db_role_setting
     WHERE setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())`,
  `SELECT 'database ' || oid || ' ' || xmin FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()`,
];

/** A digest of the schema as committed now, as the connection `client` sees it (outside any snapshot). */
export async function schemaFingerprint(client: pg.ClientBase): Promise<string> {
  const { rows } = await client.query<{ digest: string }>(
    `SELECT pg_catalog.md5(string_agg(line, ',' ORDER BY line)) AS digest FROM (${
      CATALOG_ROWS.map((q) => `(${q})`).join(" UNION ALL ")
    }) AS rows(line)`,
  );
  return rows[0]!.digest;
}
