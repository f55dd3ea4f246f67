// A small local stand-in for the parts of Windmill's HTTP API that our scripts (through the real
// windmill-client) and the worker's module loader call: resources (with `$var:` interpolation),
// variables, job progress, job status, and the raw source of deployed scripts. Every request is
// recorded, so a test can see what a script asked for; anything else answers 404 and is recorded
// as unexpected. Status codes and bodies follow backend/windmill-api (resources.rs, variables.rs,
// job_metrics.rs, scripts.rs) and backend/windmill-common/src/utils.rs `not_found_if_none`.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { deployPlan } from "../../tools/deploy.ts";

const repoRoot = resolve(import.meta.dirname, "..", "..");

export interface RecordedRequest {
  method: string;
  path: string;
  /** False when no route of the stand-in matched: a call a real server may not answer either. */
  known: boolean;
}

export interface ProgressUpdate {
  job: string;
  percent: number;
  flow_job_id?: string;
}

export class WindmillApi {
  readonly workspace = "family-brain";
  readonly token = `wm-test-${randomBytes(8).toString("hex")}`;
  readonly resources = new Map<string, unknown>();
  readonly variables = new Map<string, string>();
  readonly requests: RecordedRequest[] = [];
  readonly progress: ProgressUpdate[] = [];
  /** Job id → status, for the job-status endpoint. */
  readonly jobs = new Map<string, { running: boolean; success?: boolean; result?: unknown }>();
  private server: Server | undefined;
  private port = 0;
  /** Paths (without .ts) that are deployed: only these can be fetched as relative imports. */
  private readonly deployed = new Set(deployPlan(false).scripts);

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" }).end(`Internal: ${(error as Error).message}`);
      });
    });
    await new Promise<void>((done) => this.server!.listen(0, "127.0.0.1", done));
    this.port = (this.server!.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    await new Promise<void>((done) => (this.server ? this.server.close(() => done()) : done()));
  }

  /** The requests no route answered (they would fail, or do something else, on a real server). */
  unexpected(): RecordedRequest[] {
    return this.requests.filter((r) => !r.known);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.baseUrl);
    const path = decodeURIComponent(url.pathname);
    const body = await new Promise<string>((done) => {
      let text = "";
      req.on("data", (chunk: Buffer) => (text += chunk.toString("utf8"))).on("end", () => done(text));
    });
    const reply = (status: number, payload: unknown, known = true) => {
      this.requests.push({ method: req.method ?? "GET", path, known });
      const text = typeof payload === "string" && status !== 200 ? payload : JSON.stringify(payload);
      res.writeHead(status, { "content-type": status === 200 ? "application/json" : "text/plain" }).end(text);
    };
    // Every endpoint here needs the job's token (backend/windmill-api/src/auth.rs).
    if (req.headers.authorization !== `Bearer ${this.token}`) return reply(401, "Unauthorized: no valid token");
    const prefix = `/api/w/${this.workspace}/`;
    if (!path.startsWith(prefix)) return reply(404, `Not found: ${path}`, false);
    const route = path.slice(prefix.length);
    let match: RegExpExecArray | null;

    if (req.method === "GET" && (match = /^resources\/get_value_interpolated\/(.+)$/.exec(route))) {
      const value = this.resources.get(match[1]!);
      if (value === undefined) return reply(404, `Not found: Resource not found at name ${match[1]}`);
      const interpolated = this.interpolate(value);
      return "missing" in interpolated
        ? reply(404, `Not found: Variable not found at name ${interpolated.missing}`)
        : reply(200, interpolated.value);
    }
    if (req.method === "GET" && (match = /^variables\/get_value\/(.+)$/.exec(route))) {
      const value = this.variables.get(match[1]!);
      return value === undefined ? reply(404, `Not found: Variable not found at name ${match[1]}`) : reply(200, value);
    }
    if (req.method === "POST" && (match = /^job_metrics\/set_progress\/(.+)$/.exec(route))) {
      const { percent, flow_job_id } = JSON.parse(body || "{}") as { percent: number; flow_job_id?: string };
      this.progress.push({ job: match[1]!, percent, ...(flow_job_id ? { flow_job_id } : {}) });
      return reply(200, null);
    }
    if (req.method === "GET" && (match = /^jobs_u\/get\/(.+)$/.exec(route))) {
      const job = this.jobs.get(match[1]!);
      if (!job) return reply(404, `Not found: Job not found at name ${match[1]}`);
      return reply(200, { id: match[1], type: job.running ? "QueuedJob" : "CompletedJob", running: job.running, success: job.success,
        result: job.result });
    }
    // What the worker's loader fetches for a relative import: the deployed script's source.
    if (req.method === "GET" && (match = /^scripts\/raw_unpinned\/p\/(.+)\.ts$/.exec(route))) {
      const script = match[1]!.split("/").reduce<string[]>((parts, part) => {
        if (part === "..") parts.pop();
        else if (part !== ".") parts.push(part);
        return parts;
      }, []).join("/");
      if (!this.deployed.has(script)) return reply(404, `Not found: Script not found at name ${script}`);
      this.requests.push({ method: "GET", path, known: true });
      res.writeHead(200, { "content-type": "text/plain" }).end(readFileSync(join(repoRoot, `${script}.ts`), "utf8"));
      return;
    }
    return reply(404, `Not found: ${route}`, false);
  }

  /** `$var:path` strings anywhere in the value become the variable's value (resources.rs, transform_json_value). */
  private interpolate(value: unknown): { value: unknown } | { missing: string } {
    if (typeof value === "string" && value.startsWith("$var:")) {
      const variable = this.variables.get(value.slice("$var:".length));
      return variable === undefined ? { missing: value.slice("$var:".length) } : { value: variable };
    }
    if (Array.isArray(value) || (value !== null && typeof value === "object")) {
      const out: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
      for (const [key, item] of Object.entries(value)) {
        const inner = this.interpolate(item);
        if ("missing" in inner) return inner;
        (out as Record<string, unknown>)[key] = inner.value;
      }
      return { value: out };
    }
    return { value };
  }
}
