// Where the tests' alerts arrive: a Slack-style webhook (an HTTP server on loopback that keeps every
// POSTed JSON body) and a real SMTP server (smtp-server, with AUTH, on loopback) that keeps every
// message with the credentials it was sent with. Both can be told to refuse, to test a channel down.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface WebhookReceiver {
  /** The URL to configure, with a secret-looking path as Slack's have. */
  url: string;
  received: Array<{ text: string }>;
  /** Answer this status instead of 200 (e.g. 500), until set back to 200. */
  status: number;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(path = "/services/T000/B000/webhook-secret-path-9d2c"): Promise<WebhookReceiver> {
  const receiver = { received: [] as Array<{ text: string }>, status: 200 } as WebhookReceiver;
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8"))).on("end", () => {
      if (req.method !== "POST" || req.url !== path) return res.writeHead(404).end("no_service");
      if (receiver.status !== 200) return res.writeHead(receiver.status).end("invalid_token");
      receiver.received.push(JSON.parse(body) as { text: string });
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  receiver.stop = () => new Promise<void>((done) => server.close(() => done()));
  return receiver;
}

export interface ReceivedMail {
  from: string;
  to: string[];
  /** Who logged in to send it. */
  user: string | undefined;
  subject: string;
  text: string;
}

export interface SmtpReceiver {
  host: string;
  port: number;
  user: string;
  password: string;
  received: ReceivedMail[];
  /** Windmill's standard smtp resource for this server. */
  resource(): { host: string; port: number; user: string; password: string };
  stop(): Promise<void>;
}

/** `=?UTF-8?Q?…?=` and `=?UTF-8?B?…?=` words of a header (RFC 2047), as nodemailer writes them. */
function decodeHeader(value: string): string {
  return value.replace(/\r?\n[ \t]+/g, " ").replace(/=\?utf-8\?([qb])\?([^?]*)\?=\s*/gi,
    (_, encoding: string, text: string) =>
      encoding.toLowerCase() === "b"
        ? Buffer.from(text, "base64").toString("utf8")
        : decodeQuotedPrintable(text.replace(/_/g, " ")));
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const source = text.replace(/=\r?\n/g, "");
  for (let i = 0; i < source.length; i++) {
    if (source[i] === "=" && /^[0-9A-F]{2}$/i.test(source.slice(i + 1, i + 3))) {
      bytes.push(parseInt(source.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(source[i]!, "utf8"));
  }
  return Buffer.from(bytes).toString("utf8");
}

/** Subject and plain-text body of a single-part message as nodemailer sends a text-only mail. */
function parseMail(raw: string): { subject: string; text: string } {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, split);
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}: ((?:.*)(?:\\r\\n[ \\t].*)*)`, "im").exec(head)?.[1] ?? "";
  const encoding = header("Content-Transfer-Encoding").trim().toLowerCase();
  const text = encoding === "quoted-printable"
    ? decodeQuotedPrintable(body)
    : encoding === "base64"
    ? Buffer.from(body, "base64").toString("utf8")
    : body;
  return { subject: decodeHeader(header("Subject")), text: text.replace(/\r\n/g, "\n").trimEnd() };
}

export async function startSmtpReceiver(credentials = { user: "alerts@family.example", password: "smtp-password-never-shown-51e0" }) {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    secure: false,
    // Loopback only, in tests: a real server would offer STARTTLS first.
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authMethods: ["PLAIN", "LOGIN"],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === credentials.user && auth.password === credentials.password) return callback(null, { user: auth.username });
      return callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk)).on("end", () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          ...parseMail(Buffer.concat(chunks).toString("utf8")),
        });
        callback();
      });
    },
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const port = (server.server.address() as AddressInfo).port;
  const receiver: SmtpReceiver = {
    host: "127.0.0.1",
    port,
    ...credentials,
    received,
    resource: () => ({ host: "127.0.0.1", port, user: credentials.user, password: credentials.password }),
    stop: () => new Promise<void>((done) => server.close(() => done())),
  };
  return receiver;
}
