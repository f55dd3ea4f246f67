// The archive is a contract: the same database must give the same archive whatever shape the engine
// has inside. The every-kind database is dumped (with everything, and with filters) and compared with
// the archive the engine wrote when the golden files under test/golden/ were made: the SQL text of
// every member and what the manifest lists, and, where this machine's zlib and server are those the
// golden was made with, the sha256 of the compressed archive itself (then it is byte-identical).
// A deliberate change to what archives hold rewrites them: UPDATE_GOLDEN=1 node --import tsx --test test/archive_golden.test.ts
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import { ArchiveWriter } from "../f/admin/lib/archive/writer.ts";
import { dumpDatabase, type DumpOptions } from "../f/admin/lib/engine/dump.ts";
import { startCluster, type Cluster } from "./support/cluster.ts";
import { EVERY_KIND_ROLE, everyKind } from "./support/every-kind.ts";
import { serversUnderTest } from "./support/servers.ts";

const GOLDEN = join(fileURLToPath(new URL(".", import.meta.url)), "golden");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

const VARIANTS: Array<{ name: string; options: DumpOptions }> = [
  { name: "everything", options: { privileges: true, roles: true, databaseSettings: true } },
  { name: "filtered", options: { excludeTables: ["public.spans"], excludeTableData: ["public.people", "public.events_2024_a"] } },
];

interface Golden {
  zlib: string;
  server_version: string;
  archive_sha256: string;
  sections: Record<string, string | undefined>;
  tables: unknown;
  objects: unknown;
  extensions: unknown;
  skipped: string[];
  roles: string[];
  warnings: string[];
  database_access: unknown;
}

/** The header names the server's full version (its minor release and packaging): the text compares without it. */
const withoutServerVersion = (text: string) => text.replace(/^(-- .* \(PostgreSQL )[^\n]*\)$/m, "$1…)");

async function dump(cluster: Cluster, dbname: string, options: DumpOptions): Promise<{ text: string; golden: Golden }> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (chunk: Buffer) => chunks.push(chunk));
  const writer = new ArchiveWriter(sink, "gzip", 6);
  const client = await cluster.connect(dbname);
  try {
    const result = await dumpDatabase(client, writer, options);
    writer.finish();
    const archive = Buffer.concat(chunks);
    const member = (range: { start: number; end: number } | undefined) =>
      range === undefined ? undefined : createHash("sha256").update(archive.subarray(range.start, range.end)).digest("hex");
    return {
      text: withoutServerVersion(gunzipSync(archive).toString("utf8")),
      golden: {
        zlib: process.versions.zlib ?? "",
        server_version: result.server.version,
        archive_sha256: createHash("sha256").update(archive).digest("hex"),
        sections: {
          pre_data: member(result.sections.pre_data),
          sequences: member(result.sections.sequences),
          post_data: member(result.sections.post_data),
          large_objects: member(result.sections.large_objects),
        },
        tables: result.tables.map(({ range: _, ...table }) => table),
        objects: result.objects,
        extensions: result.extensions,
        skipped: result.skipped,
        roles: result.roles,
        warnings: result.warnings,
        database_access: result.database_access ?? null,
      },
    };
  } finally {
    await client.end();
  }
}

for (const planned of serversUnderTest()) {
  describe(`archives of the every-kind database on PostgreSQL ${planned.major}`, () => {
    let cluster: Cluster | undefined;

    before(async () => {
      if (!("server" in planned)) return;
      cluster = await startCluster({ bin: planned.server.bin });
      await cluster.query("postgres", `CREATE ROLE ${EVERY_KIND_ROLE}`);
      await cluster.createDatabase("golden");
      await cluster.query("golden", everyKind(planned.major));
      await cluster.query("golden",
        `ALTER DATABASE golden SET work_mem = '8MB'; ALTER ROLE ${EVERY_KIND_ROLE} IN DATABASE golden SET search_path = public, "$user"`);
    });

    after(async () => {
      await cluster?.stop();
    });

    for (const variant of VARIANTS) {
      test(`${variant.name}: the archive is the one the golden files hold`, async (t) => {
        if (!cluster) return t.skip("missing" in planned ? planned.missing : "");
        const base = join(GOLDEN, `every-kind.${variant.name}.pg${planned.major}`);
        const { text, golden } = await dump(cluster, "golden", variant.options);
        if (UPDATE) {
          mkdirSync(GOLDEN, { recursive: true });
          writeFileSync(`${base}.sql`, text);
          writeFileSync(`${base}.json`, JSON.stringify(golden, null, 2) + "\n");
          return t.diagnostic(`wrote ${base}.sql and .json`);
        }
        if (!existsSync(`${base}.json`)) return t.skip(`no golden for PostgreSQL ${planned.major} (UPDATE_GOLDEN=1 writes it)`);
        const expected = JSON.parse(readFileSync(`${base}.json`, "utf8")) as Golden;
        assert.equal(text, readFileSync(`${base}.sql`, "utf8"), "the archive's SQL text");
        const { zlib, server_version, archive_sha256, sections, ...listed } = golden;
        const { zlib: goldenZlib, server_version: goldenServer, archive_sha256: goldenSha, sections: goldenSections, ...goldenListed } =
          expected;
        assert.deepEqual(listed, goldenListed, "what the manifest lists");
        if (zlib !== goldenZlib || server_version !== goldenServer) {
          return t.diagnostic(
            `zlib ${zlib} and server ${server_version} here, ${goldenZlib} and ${goldenServer} in the golden: bytes not compared`,
          );
        }
        assert.deepEqual(sections, goldenSections, "each section's compressed bytes");
        assert.equal(archive_sha256, goldenSha, "the compressed archive, byte for byte");
      });
    }
  });
}
