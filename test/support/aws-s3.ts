// A stand-in for AWS S3 in front of s3rver: s3rver stores and serves the objects, and this proxy
// answers where AWS is strict and s3rver is lenient. It checks SigV4 signatures (403
// SignatureDoesNotMatch), each body's Content-MD5 (400 BadDigest), If-None-Match: * on writes (412
// PreconditionFailed when the key exists, or 501 NotImplemented as providers without the feature
// answer), the multipart rules (every part but the last at least 5 MiB, parts in order, known parts,
// NoSuchUpload after an abort), aborts themselves and the listing of open uploads
// (ListMultipartUploads), which s3rver answers with 501 NotImplemented. Tests also use it to
// inject what a real network or provider does: a corrupted part, a lost part, another writer racing
// us for a key, requests failing on demand.
import { createHash, createHmac } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { S3Server } from "./s3.ts";

const MiB = 1024 * 1024;
const MIN_PART_BYTES = 5 * MiB;

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The S3 answer the stand-in gave itself (an error code, or "Aborted"), when it did not forward. */
  answered?: string;
}

interface Upload {
  id: string;
  key: string;
  initiated: Date;
  parts: Map<number, number>;
  state: "open" | "completed" | "aborted";
}

export interface AwsStandIn {
  port: number;
  requests: SeenRequest[];
  /** "aws": If-None-Match: * is honoured (412 on an existing key); "unsupported": any If-None-Match gets 501. */
  conditionalWrites: "aws" | "unsupported";
  /** Flip a byte of this part's body on its way (network corruption): the Content-MD5 check catches it. */
  corruptPart: ((partNumber: number) => boolean) | undefined;
  /** Drop the last part from CompleteMultipartUpload's list (a provider that loses data). */
  loseLastPart: boolean;
  /** Just before a write of `key` is checked, e.g. another run writing the same key first. */
  beforeWrite: ((key: string) => Promise<void>) | undefined;
  /** Before a part is checked and stored: holds it (a slow network) while the test does something. */
  beforePart: ((partNumber: number, key: string) => Promise<void>) | undefined;
  /** Answer a request with this HTTP status (500 InternalError, 503 SlowDown…) instead of serving it. */
  fault: ((request: SeenRequest) => number | undefined) | undefined;
  /** Multipart uploads started and neither completed nor aborted (parts AWS would keep billing). */
  openUploads(): string[];
  resource(extra?: Record<string, unknown>): Record<string, unknown>;
  stop(): Promise<void>;
}

const STATUS_CODES: Record<number, string> = { 500: "InternalError", 503: "SlowDown", 403: "AccessDenied", 404: "NoSuchKey" };

function answer(response: ServerResponse, status: number, code: string, message: string): void {
  response.writeHead(status, { "content-type": "application/xml" });
  response.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

async function bodyOf(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** RFC 3986 encoding, as SigV4 canonical query strings want it. */
const strictEncode = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256Hex = (text: string | Buffer) => createHash("sha256").update(text).digest("hex");
const hmac = (key: Buffer | string, text: string) => createHmac("sha256", key).update(text).digest();

/** Whether a request is signed (AWS Signature Version 4, header form) with `secret`. */
export function validSignature(method: string, url: string, headers: IncomingHttpHeaders, secret: string): boolean {
  const auth =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/
      .exec(String(headers.authorization ?? ""));
  if (!auth) return false;
  const [, , date, region, service, signedHeaders, signature] = auth as unknown as string[];
  const [path, query = ""] = url.split("?", 2) as [string, string?];
  const params = query === "" ? [] : query.split("&").map((pair) => {
    const [key, value = ""] = pair.split("=", 2) as [string, string?];
    return [strictEncode(decodeURIComponent(key)), strictEncode(decodeURIComponent(value))] as const;
  });
  params.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const names = signedHeaders!.split(";");
  const canonical = [
    method,
    path,
    params.map(([k, v]) => `${k}=${v}`).join("&"),
    names.map((name) => `${name}:${String(headers[name] ?? "").trim().replace(/\s+/g, " ")}\n`).join(""),
    signedHeaders,
    String(headers["x-amz-content-sha256"] ?? "UNSIGNED-PAYLOAD"),
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", String(headers["x-amz-date"]), scope, sha256Hex(canonical)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), "aws4_request");
  return hmac(key, toSign).toString("hex") === signature;
}

export async function startAwsStandIn(server: S3Server): Promise<AwsStandIn> {
  const uploads = new Map<string, Upload>();

  const forward = (request: IncomingMessage, body: Buffer, response: ServerResponse, onAnswer?: (status: number, body: Buffer) => void) => {
    const headers = { ...request.headers, "content-length": String(body.length) };
    delete headers.expect;
    const upstream = httpRequest({ host: "127.0.0.1", port: server.port, method: request.method, path: request.url, headers },
      async (reply) => {
        const replyBody = await bodyOf(reply);
        onAnswer?.(reply.statusCode ?? 502, replyBody);
        response.writeHead(reply.statusCode ?? 502, reply.headers);
        response.end(replyBody);
      });
    upstream.on("error", () => response.destroy());
    upstream.end(body);
  };

  // Whether s3rver holds the key now, read from its directory (its HEAD wants a signature of its own).
  const exists = (key: string) => existsSync(server.objectPath(key));

  const standIn: AwsStandIn = {
    port: 0,
    requests: [],
    conditionalWrites: "aws",
    corruptPart: undefined,
    loseLastPart: false,
    beforeWrite: undefined,
    beforePart: undefined,
    fault: undefined,
    openUploads: () => [...uploads.entries()].filter(([, u]) => u.state === "open").map(([id, u]) => `${u.key} (${id})`),
    resource: (extra = {}) => server.resource({ port: standIn.port, ...extra }),
    stop: () =>
      new Promise((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const seen: SeenRequest = { method: request.method ?? "GET", url: request.url ?? "/", headers: request.headers };
    standIn.requests.push(seen);
    const refuse = (status: number, code: string, message: string) => {
      seen.answered = code;
      answer(response, status, code, message);
    };
    let body = await bodyOf(request);
    const status = standIn.fault?.(seen);
    if (status !== undefined) return refuse(status, STATUS_CODES[status] ?? "InternalError", "fault injected by the test");
    if (!validSignature(seen.method, seen.url, request.headers, server.secretAccessKey)) {
      return refuse(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
    }
    const url = new URL(seen.url, "http://stand-in");
    const key = decodeURIComponent(url.pathname.split("/").slice(2).join("/"));
    const uploadId = url.searchParams.get("uploadId");
    const partNumber = url.searchParams.get("partNumber");

    if (seen.method === "PUT" && partNumber !== null && uploadId !== null) {
      const upload = uploads.get(uploadId);
      if (!upload || upload.state !== "open") return refuse(404, "NoSuchUpload", "The specified multipart upload does not exist.");
      await standIn.beforePart?.(Number(partNumber), key);
      if (standIn.corruptPart?.(Number(partNumber)) && body.length > 0) body = Buffer.from(body).fill(body[0]! ^ 0xff, 0, 1);
      if (!md5Matches(request.headers, body)) {
        return refuse(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
      }
      upload.parts.set(Number(partNumber), body.length);
      return forward(request, body, response);
    }
    if (seen.method === "POST" && url.searchParams.has("uploads")) {
      return forward(request, body, response, (statusCode, reply) => {
        const id = /<UploadId>([^<]+)<\/UploadId>/.exec(reply.toString())?.[1];
        if (statusCode === 200 && id) uploads.set(id, { id, key, initiated: new Date(), parts: new Map(), state: "open" });
      });
    }
    if (seen.method === "GET" && key === "" && url.searchParams.has("uploads")) {
      response.writeHead(200, { "content-type": "application/xml" });
      response.end(listUploads([...uploads.values()].filter((u) => u.state === "open"), url.searchParams, server.bucket));
      return;
    }
    if (seen.method === "DELETE" && uploadId !== null) {
      const upload = uploads.get(uploadId);
      // The upload ID is only valid with the key it was created for.
      if (!upload || upload.state !== "open" || upload.key !== key) {
        return refuse(404, "NoSuchUpload", "The specified multipart upload does not exist.");
      }
      upload.state = "aborted";
      seen.answered = "Aborted";
      response.writeHead(204).end();
      return;
    }
    const writes = (seen.method === "PUT" && !request.headers["x-amz-copy-source"]) || (seen.method === "POST" && uploadId !== null);
    if (writes) {
      await standIn.beforeWrite?.(key);
      const condition = request.headers["if-none-match"];
      if (condition !== undefined && standIn.conditionalWrites === "unsupported") {
        return refuse(501, "NotImplemented", "A header you provided implies functionality that is not implemented.");
      }
      if (condition === "*" && exists(key)) {
        return refuse(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.");
      }
    }
    if (seen.method === "PUT" && uploadId === null) {
      if (!md5Matches(request.headers, body)) {
        return refuse(400, "BadDigest", "The Content-MD5 you specified did not match what we received.");
      }
      return forward(request, body, response);
    }
    if (seen.method === "POST" && uploadId !== null) {
      const upload = uploads.get(uploadId);
      if (!upload || upload.state !== "open") return refuse(404, "NoSuchUpload", "The specified multipart upload does not exist.");
      const listed = [...body.toString().matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => Number(m[1]));
      for (const [index, number] of listed.entries()) {
        if (!upload.parts.has(number)) return refuse(400, "InvalidPart", `Part ${number} was not uploaded.`);
        if (index > 0 && number <= listed[index - 1]!) {
          return refuse(400, "InvalidPartOrder", "The list of parts was not in ascending order.");
        }
        if (index < listed.length - 1 && upload.parts.get(number)! < MIN_PART_BYTES) {
          return refuse(400, "EntityTooSmall",
            `Part ${number} is ${upload.parts.get(number)} bytes; every part but the last must be at least 5 MiB.`);
        }
      }
      if (standIn.loseLastPart) {
        body = Buffer.from(body.toString().replace(/<Part>(?:(?!<Part>).)*<\/Part>(?=\s*<\/CompleteMultipartUpload>)/s, ""));
      }
      return forward(request, body, response, (statusCode) => {
        if (statusCode === 200) upload.state = "completed";
      });
    }
    return forward(request, body, response);
  };

  const http = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  standIn.port = (http.address() as AddressInfo).port;
  return standIn;
}

const xmlText = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/**
 * ListMultipartUploads as AWS answers it
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html): the open uploads
 * whose key starts with `prefix`, sorted by key and, within a key, by initiation time; at most
 * `max-uploads` (1 to 1,000, default 1,000) per page. `key-marker` alone starts after that key;
 * with `upload-id-marker`, uploads of the marker's key after that upload are included too. A
 * truncated page names the last upload it holds in NextKeyMarker and NextUploadIdMarker.
 */
function listUploads(open: Upload[], query: URLSearchParams, bucket: string): string {
  const prefix = query.get("prefix") ?? "";
  const keyMarker = query.get("key-marker") ?? "";
  const uploadIdMarker = query.get("upload-id-marker") ?? "";
  const max = Math.min(1000, Math.max(1, Number(query.get("max-uploads") ?? 1000) || 1000));
  const sorted = open.filter((u) => u.key.startsWith(prefix)).sort((a, b) =>
    a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated.getTime() - b.initiated.getTime() || (a.id < b.id ? -1 : 1)
  );
  const markerIndex = sorted.findIndex((u) => u.key === keyMarker && u.id === uploadIdMarker);
  const after = sorted.filter((u, index) =>
    keyMarker === "" || u.key > keyMarker ||
    (u.key === keyMarker && uploadIdMarker !== "" && (markerIndex >= 0 ? index > markerIndex : u.id > uploadIdMarker))
  );
  const page = after.slice(0, max);
  const truncated = after.length > page.length;
  const last = page.at(-1);
  return `<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `<Bucket>${xmlText(bucket)}</Bucket><KeyMarker>${xmlText(keyMarker)}</KeyMarker><UploadIdMarker>${
      xmlText(uploadIdMarker)
    }</UploadIdMarker>` +
    (truncated && last ? `<NextKeyMarker>${xmlText(last.key)}</NextKeyMarker><NextUploadIdMarker>${last.id}</NextUploadIdMarker>` : "") +
    `<Prefix>${xmlText(prefix)}</Prefix><MaxUploads>${max}</MaxUploads><IsTruncated>${truncated}</IsTruncated>` +
    page.map((u) =>
      `<Upload><Key>${xmlText(u.key)}</Key><UploadId>${u.id}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated>` +
      "<StorageClass>STANDARD</StorageClass></Upload>"
    ).join("") +
    "</ListMultipartUploadsResult>";
}

function md5Matches(headers: IncomingHttpHeaders, body: Buffer): boolean {
  const sent = headers["content-md5"];
  return sent === undefined || sent === createHash("md5").update(body).digest("base64");
}
