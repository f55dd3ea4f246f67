// The sample family-brain database: deterministic row counts and contents, the object kinds and the
// awkward values the dump engine's round trip relies on.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type pg from "pg";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { createFamilyBrainDatabase, FAMILY_BRAIN_TABLES } from "./support/family-brain.ts";

const EXPECTED_AT_SCALE_1 = {
  tenants: 5,
  users: 15,
  family_members: 30,
  family_documents: 300,
  chat_sessions: 100,
  chat_messages: 1000,
  ai_usage: 1250,
  system_logs: 400,
};

let cluster: Cluster;
let client: pg.Client;

async function create(dbname: string, scale?: number) {
  await cluster.createDatabase(dbname);
  const c = await cluster.connect(dbname);
  try {
    return await createFamilyBrainDatabase(c, scale === undefined ? {} : { scale });
  } finally {
    await c.end();
  }
}

async function countRows(dbname: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of FAMILY_BRAIN_TABLES) {
    counts[table] = (await cluster.query(dbname, `SELECT count(*)::int AS n FROM public.${table}`)).rows[0].n;
  }
  return counts;
}

/** One md5 per table over all rows in a stable order: equal digests mean equal contents. */
async function tableDigests(dbname: string): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  for (const table of FAMILY_BRAIN_TABLES) {
    const sql = `SELECT md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS d FROM public.${table} t`;
    digests[table] = (await cluster.query(dbname, sql)).rows[0].d;
  }
  return digests;
}

before(async () => {
  cluster = await startCluster();
  await create("brain");
  client = await cluster.connect("brain");
});

after(async () => {
  await client?.end();
  await cluster?.stop();
});

test("scale 1 has the expected rows in every table, and reports them", async () => {
  assert.deepEqual(await countRows("brain"), EXPECTED_AT_SCALE_1);
  assert.deepEqual(await create("brain_counts"), EXPECTED_AT_SCALE_1);
});

test("the same scale gives the same contents; scale 2 doubles every table", async () => {
  await create("brain_again");
  assert.deepEqual(await tableDigests("brain_again"), await tableDigests("brain"));
  const doubled = Object.fromEntries(Object.entries(EXPECTED_AT_SCALE_1).map(([table, n]) => [table, 2 * n]));
  assert.deepEqual(await create("brain_twice", 2), doubled);
  assert.deepEqual(await countRows("brain_twice"), doubled);
});

test("every object kind in the dump engine's scope is present", async () => {
  const one = async (sql: string) => Number((await client.query(sql)).rows[0].n);
  assert.equal(await one(`SELECT count(*) AS n FROM pg_type WHERE typname = 'member_role' AND typtype = 'e'`), 1);
  assert.equal(await one(`SELECT count(*) AS n FROM pg_attribute WHERE attidentity = 'a' AND attrelid = 'public.chat_messages'::regclass`),
    1);
  assert.equal(await one(`SELECT count(*) AS n FROM pg_attribute WHERE attidentity = 'd' AND attrelid = 'public.users'::regclass`), 1);
  assert.equal(
    await one(
      `SELECT count(*) AS n FROM pg_attrdef WHERE adrelid = 'public.family_members'::regclass AND pg_get_expr(adbin, adrelid) LIKE 'nextval(%'`,
    ),
    1,
  );
  // The self-reference and the cycle tenants <-> users.
  assert.equal(
    await one(
      `SELECT count(*) AS n FROM pg_constraint WHERE contype = 'f' AND conrelid = confrelid AND conrelid = 'public.chat_messages'::regclass`,
    ),
    1,
  );
  assert.equal(
    await one(
      `SELECT count(*) AS n FROM pg_constraint WHERE contype = 'f' AND conrelid = 'public.tenants'::regclass AND confrelid = 'public.users'::regclass`,
    ),
    1,
  );
  assert.equal(await one(`SELECT count(*) AS n FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE '%USING gin%'`), 2);
  assert.equal(await one(`SELECT count(*) AS n FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE '% WHERE %'`), 2);
  assert.equal(await one(`SELECT count(*) AS n FROM pg_index WHERE indexprs IS NOT NULL AND indrelid = 'public.users'::regclass`), 1);
  assert.equal(await one(`SELECT count(*) AS n FROM pg_views WHERE schemaname = 'public'`), 1);
  assert.equal(await one(`SELECT count(*) AS n FROM pg_trigger WHERE NOT tgisinternal`), 3);
  assert.equal(
    await one(
      `SELECT count(*) AS n FROM pg_description d JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass WHERE c.relnamespace = 'public'::regnamespace`,
    ),
    11,
  );
});

test("the values cover the awkward shapes", async () => {
  const one = async (sql: string) => Number((await client.query(sql)).rows[0].n);
  assert.equal(await one(`SELECT count(*) AS n FROM public.family_documents WHERE embedding IS NOT NULL`), 240);
  assert.ok((await one(`SELECT count(*) AS n FROM public.family_documents WHERE position(E'\\n\\\\.\\n' IN body) > 0`)) > 0,
    "a \\. line in text");
  assert.ok((await one(`SELECT count(*) AS n FROM public.chat_messages WHERE content LIKE E'%\\t%'`)) > 0, "tabs");
  assert.ok((await one(`SELECT count(*) AS n FROM public.chat_messages WHERE content = ''`)) > 0, "empty strings");
  assert.ok((await one(`SELECT count(*) AS n FROM public.chat_messages WHERE content LIKE '%日本語%🎉%'`)) > 0, "non-ASCII");
  assert.equal(await one(`SELECT count(*) AS n FROM public.family_documents WHERE attachment = ''::bytea`), 5);
  assert.ok((await one(`SELECT count(*) AS n FROM public.family_documents WHERE position('\\x00'::bytea IN attachment) > 0`)) > 0,
    "NUL bytes");
  assert.equal(await one(`SELECT count(*) AS n FROM public.family_members WHERE array_position(allergies, NULL) IS NOT NULL`), 10);
  assert.equal(await one(`SELECT count(*) AS n FROM public.tenants WHERE storage_quota_gb::text LIKE '%.%000000000000000000001'`), 2);
  assert.equal(await one(`SELECT count(*) AS n FROM public.chat_messages WHERE reply_to IS NOT NULL`), 400);
});

test("the trigger touches updated_at only when the update does not set it", async () => {
  const { rows } = await client.query(
    `UPDATE public.users SET display_name = display_name || '!' WHERE id = 1 RETURNING updated_at > created_at + interval '1 year' AS touched`,
  );
  assert.equal(rows[0].touched, true);
});
