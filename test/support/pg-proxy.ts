// A TCP proxy in front of a test PostgreSQL server that can hold the server's answers back from the
// moment a client sends a chosen statement: a test then restarts the server, or cuts the connection,
// at that exact point of the protocol, without guessing with timers.
import { connect, createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { Cluster } from "./cluster.ts";

export interface PgProxy {
  port: number;
  /**
   * Resolves when a client sends a statement containing `text`. From then on, that connection's
   * answers from the server are held (the server blocks once the socket buffers fill) until `release`.
   */
  holdAfter(text: string): Promise<void>;
  /** Let the held answers through, then everything that follows (a close included). */
  release(): void;
  /** The `postgresql` resource of a database, reached through the proxy. */
  resource(dbname: string): ReturnType<Cluster["resource"]>;
  stop(): Promise<void>;
}

interface Link {
  client: Socket;
  server: Socket;
  held: Buffer[] | undefined;
}

export async function startPgProxy(cluster: Cluster): Promise<PgProxy> {
  const links = new Set<Link>();
  let watch: { text: Buffer; seen: () => void } | undefined;

  const net = createServer((client) => {
    const server = connect(cluster.port, cluster.host);
    const link: Link = { client, server, held: undefined };
    links.add(link);
    let tail = Buffer.alloc(0);
    client.on("data", (bytes: Buffer) => {
      if (watch) {
        // The statement may straddle two reads: search the end of the previous one too, but only
        // for a match that ends in the new bytes (an old statement must not match again).
        const window = Buffer.concat([tail, bytes]);
        if (window.includes(watch.text, Math.max(0, tail.length - watch.text.length + 1))) {
          link.held = [];
          const { seen } = watch;
          watch = undefined;
          seen();
        }
        tail = window.subarray(Math.max(0, window.length - 4096));
      }
      server.write(bytes);
    });
    server.on("data", (bytes: Buffer) => {
      if (link.held) {
        link.held.push(bytes);
        server.pause();
      } else {
        client.write(bytes);
      }
    });
    // A paused socket emits its end only after its data: a close the server sent while held follows the held bytes.
    server.on("end", () => client.end());
    client.on("end", () => server.end());
    const fail = () => {
      client.destroy();
      server.destroy();
    };
    server.on("error", fail);
    client.on("error", fail);
    client.on("close", () => links.delete(link));
  });
  await new Promise<void>((resolve) => net.listen(0, "127.0.0.1", resolve));
  const port = (net.address() as AddressInfo).port;

  return {
    port,
    holdAfter: (text) =>
      new Promise((resolve) => {
        watch = { text: Buffer.from(text), seen: resolve };
      }),
    release: () => {
      for (const link of links) {
        if (!link.held) continue;
        for (const bytes of link.held) link.client.write(bytes);
        link.held = undefined;
        link.server.resume();
      }
    },
    resource: (dbname) => ({ ...cluster.resource(dbname), port }),
    stop: () =>
      new Promise((resolve) => {
        for (const link of links) {
          link.client.destroy();
          link.server.destroy();
        }
        net.close(() => resolve());
      }),
  };
}
