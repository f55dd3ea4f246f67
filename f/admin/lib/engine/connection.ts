// Opens node-postgres connections from a Windmill `postgresql` resource, with libpq's sslmode
// meanings, an application_name that tells other sessions who we are, and errors without secrets;
// withConnection is the one way to use a connection and always close it.
import pg from "pg";
import type { ConnectionOptions } from "node:tls";
import { BackupError } from "../errors.ts";

export interface DatabaseTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  dbname: string;
  sslmode: "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";
  root_certificate_pem?: string;
  /**
   * Set by the bundle, never by the resource: every statement on a connection to this target waits
   * at most this long for a lock (PostgreSQL's lock_timeout, from the connection's first statement).
   */
  lockTimeoutMs?: number;
}

function sslOptions(target: DatabaseTarget): false | ConnectionOptions {
  switch (target.sslmode) {
    case "disable":
    case "allow":
      return false;
    case "prefer":
    case "require":
      return { rejectUnauthorized: false };
    case "verify-ca":
      return { rejectUnauthorized: true, ca: target.root_certificate_pem, checkServerIdentity: () => undefined };
    case "verify-full":
      return { rejectUnauthorized: true, ca: target.root_certificate_pem };
  }
}

/** Connect as `application_name` (shown in pg_stat_activity); `dbname` overrides the resource's. */
export async function connect(target: DatabaseTarget, applicationName: string, dbname = target.dbname): Promise<pg.Client> {
  const attempt = async (ssl: false | ConnectionOptions) => {
    const client = new pg.Client({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: dbname,
      ssl,
      application_name: applicationName,
      connectionTimeoutMillis: 30_000,
      ...(target.lockTimeoutMs === undefined ? {} : { options: `-c lock_timeout=${Math.max(1, Math.round(target.lockTimeoutMs))}` }),
    });
    // A connection lost mid-query (server restart, network cut) rejects that query; without a
    // listener, pg would also raise it as an uncaught exception and kill the worker process.
    client.on("error", () => undefined);
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  };
  const ssl = sslOptions(target);
  try {
    return await attempt(ssl);
  } catch (error) {
    // libpq's `prefer` falls back to a plain connection when the server does not offer TLS.
    if (target.sslmode === "prefer" && /does not support SSL/i.test(String((error as Error).message))) {
      return await attempt(false).catch((retry: unknown) => {
        throw connectionError(target, dbname, retry);
      });
    }
    throw connectionError(target, dbname, error);
  }
}

/** Run `work` on a connection of its own, closed afterwards whatever happens. */
export async function withConnection<T>(
  target: DatabaseTarget,
  applicationName: string,
  work: (client: pg.Client) => Promise<T>,
  dbname = target.dbname,
): Promise<T> {
  const client = await connect(target, applicationName, dbname);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function connectionError(target: DatabaseTarget, dbname: string, error: unknown): BackupError {
  const message = String((error as Error).message ?? error).replaceAll(target.password || "\u0000", "***");
  return new BackupError(
    `Cannot connect to PostgreSQL database ${JSON.stringify(dbname)} at ${target.host}:${target.port} as ${target.user}: ${message}. ` +
      "Check the database resource (host, port, user, password, sslmode) and that this worker can reach the server.",
    { cause: error },
  );
}
