// A throwaway S3 protocol server for tests: s3rver in its own Node process on a free loopback port,
// storing into a temp directory, with one bucket. The child runs with --openssl-legacy-provider,
// which s3rver 3.7.1 needs to sign the continuation tokens of paginated listings.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface S3Server {
  endpoint: string;
  port: number;
  bucket: string;
  /** s3rver accepts any credentials that are signed consistently; these are its documented defaults. */
  accessKeyId: string;
  secretAccessKey: string;
  /** The directory s3rver stores objects in (tests may damage a stored object through it). */
  directory: string;
  /** The s3rver process (the bench counts its CPU). */
  pid: number;
  /** The file s3rver keeps an object's bytes in (plain keys only), to damage one behind the API's back. */
  objectPath(key: string): string;
  /** Windmill's standard `s3` resource shape for this server. */
  resource(extra?: Record<string, unknown>): Record<string, unknown>;
  stop(): Promise<void>;
}

const CHILD = `
const S3rver = require(process.env.S3RVER_MODULE);
const server = new S3rver({
  address: "127.0.0.1", port: 0, silent: true, directory: process.env.S3RVER_DIRECTORY,
  configureBuckets: [{ name: process.env.S3RVER_BUCKET }],
});
server.run().then((address) => process.stdout.write(JSON.stringify({ port: address.port }) + "\\n"),
  (error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
`;

export async function startS3Server({ bucket = "backups" }: { bucket?: string } = {}): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), "wpb-s3rver-"));
  const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", CHILD], {
    env: { ...process.env, S3RVER_MODULE: createRequire(import.meta.url).resolve("s3rver"), S3RVER_DIRECTORY: directory,
      S3RVER_BUCKET: bucket },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let port: number;
  try {
    port = await readPort(child);
  } catch (error) {
    child.kill("SIGKILL");
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const accessKeyId = "S3RVER";
  const secretAccessKey = "S3RVER";
  return {
    endpoint,
    port,
    bucket,
    accessKeyId,
    secretAccessKey,
    directory,
    pid: child.pid!,
    objectPath: (key) => {
      const parts = key.split("/");
      return join(directory, bucket, ...parts.slice(0, -1), `${parts.at(-1)}._S3rver_object`);
    },
    resource: (extra = {}) => ({
      bucket,
      region: "us-east-1",
      endPoint: "127.0.0.1",
      port,
      useSSL: false,
      pathStyle: true,
      accessKey: accessKeyId,
      secretKey: secretAccessKey,
      ...extra,
    }),
    stop: async () => {
      // Its state is the temp directory, deleted next: no graceful close (it would wait for idle keep-alive sockets).
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

function readPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 20 s: ${err}`)), 20_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with code ${code} before it listened: ${err}`));
    });
  });
}

export interface ProxiedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/**
 * A plain HTTP proxy in front of the S3 server that records every request and answers 500 (or
 * another status) to those `fault` picks: network and provider failures on demand, with the real
 * server behind it. The Host header is passed through, so signatures stay valid.
 */
export interface S3Proxy {
  port: number;
  requests: ProxiedRequest[];
  /** Answer this request with the returned HTTP status instead of forwarding it; undefined forwards. */
  fault: ((request: ProxiedRequest) => number | undefined) | undefined;
  /** Headers to drop before forwarding (a server that ignores them; s3rver does not check signatures). */
  dropHeaders: string[];
  /** Forward this request but cut the connection after this many bytes of the answer's body (a download cut short). */
  cutAfter: ((request: ProxiedRequest) => number | undefined) | undefined;
  resource(extra?: Record<string, unknown>): Record<string, unknown>;
  stop(): Promise<void>;
}

export async function startS3Proxy(server: S3Server): Promise<S3Proxy> {
  const proxy: S3Proxy = {
    port: 0,
    requests: [],
    fault: undefined,
    dropHeaders: [],
    cutAfter: undefined,
    resource: (extra = {}) => server.resource({ port: proxy.port, ...extra }),
    stop: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
  const http = createServer((request, response) => {
    const seen: ProxiedRequest = { method: request.method ?? "GET", url: request.url ?? "/", headers: request.headers };
    proxy.requests.push(seen);
    const status = proxy.fault?.(seen);
    if (status !== undefined) {
      request.resume();
      request.on("end", () => {
        response.writeHead(status, { "content-type": "application/xml" });
        response.end(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>fault injected by the test proxy</Message></Error>`,
        );
      });
      return;
    }
    const headers = { ...request.headers };
    for (const name of proxy.dropHeaders) delete headers[name];
    const upstream = httpRequest(
      { host: "127.0.0.1", port: server.port, method: request.method, path: request.url, headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        const cut = proxy.cutAfter?.(seen);
        if (cut === undefined) return void answer.pipe(response);
        let sent = 0;
        answer.on("data", (chunk: Buffer) => {
          if (sent >= cut) return;
          const part = chunk.subarray(0, cut - sent);
          sent += part.length;
          response.write(part);
          if (sent >= cut) response.destroy();
        });
      },
    );
    upstream.on("error", () => response.destroy());
    request.pipe(upstream);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  proxy.port = (http.address() as AddressInfo).port;
  return proxy;
}
