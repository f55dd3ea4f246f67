// `COPY … TO STDOUT` as a Readable of Buffers whose memory stays bounded whatever the size of a row.
// PostgreSQL sends one CopyData message per row, and node-postgres's parser buffers each message
// whole before handing it over (a 500 MB bytea is a 1 GB message). So while the COPY streams, this
// class reads the socket itself and passes each row on piece by piece as it arrives; at the first
// message that is not COPY data (CopyDone, an error, a notice) it hands the socket and the rest of
// the bytes back to pg's own parser, which ends the query as usual. Backpressure pauses the socket.
// Pausing and resuming the socket (rather than taking it over in paused mode, as pg-copy-streams'
// `to` does) is what keeps a second COPY on the same client working under Deno.
import { Readable } from "node:stream";

/** Rows are small and many: they are gathered into chunks of this size before being pushed. */
const CHUNK_BYTES = 64 * 1024;
/** Protocol message types (PostgreSQL's frontend/backend protocol). */
const COPY_OUT_RESPONSE = 0x48; // 'H'
const COPY_DATA = 0x64; // 'd'
/** Type byte and length of every message. */
const HEADER_BYTES = 5;

type DataListener = (bytes: Buffer) => void;

interface PgConnection {
  query(text: string): void;
  stream: {
    pause(): void;
    resume(): void;
    listeners(event: "data"): Function[];
    on(event: "data", listener: DataListener): unknown;
    removeListener(event: "data", listener: Function): unknown;
  };
}

/** The connection to the server was lost while a table was being copied (a restart, a crash, the network). */
export class CopyInterruptedError extends Error {
  constructor(readonly table: string, readonly reason: Error) {
    super(`the connection was lost while copying table ${table}: ${reason.message}`, { cause: reason });
    this.name = "CopyInterruptedError";
  }
}

export class CopyOut extends Readable {
  private connection: PgConnection | undefined;
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private filled = 0;
  /** pg's own listeners of the socket, set aside while this COPY reads it. */
  private pgListeners: Function[] = [];
  /** The current message's header as far as it has arrived, and how many of its payload bytes are still to come. */
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFilled = 0;
  private payloadLeft = 0;

  /** `table` names what is copied, for the error a lost connection gives. */
  constructor(private readonly text: string, private readonly table = "(a query)") {
    super();
  }

  /** Called by pg when the query's turn comes (pg's "submittable" protocol); the socket is between messages. */
  submit(connection: PgConnection): void {
    this.connection = connection;
    const { stream } = connection;
    this.pgListeners = stream.listeners("data");
    for (const listener of this.pgListeners) stream.removeListener("data", listener);
    stream.on("data", this.onSocketData);
    connection.query(this.text);
  }

  private readonly onSocketData = (bytes: Buffer): void => {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.headerFilled === 0 && bytes[offset] !== COPY_DATA && bytes[offset] !== COPY_OUT_RESPONSE) {
        this.handBack(bytes.subarray(offset));
        return;
      }
      if (this.headerFilled < HEADER_BYTES) {
        const take = Math.min(HEADER_BYTES - this.headerFilled, bytes.length - offset);
        bytes.copy(this.header, this.headerFilled, offset, offset + take);
        this.headerFilled += take;
        offset += take;
        if (this.headerFilled < HEADER_BYTES) return;
        this.payloadLeft = this.header.readUInt32BE(1) - 4;
      }
      const take = Math.min(this.payloadLeft, bytes.length - offset);
      if (this.header[0] === COPY_DATA && take > 0) this.collect(bytes.subarray(offset, offset + take));
      offset += take;
      this.payloadLeft -= take;
      if (this.payloadLeft === 0) this.headerFilled = 0;
    }
  };

  /** Give the socket back to pg, with the bytes from the first message that is not ours. */
  private handBack(rest: Buffer): void {
    const stream = this.connection!.stream;
    stream.removeListener("data", this.onSocketData);
    for (const listener of this.pgListeners) stream.on("data", listener as DataListener);
    // pg's parser ends the query (CommandComplete, ReadyForQuery), or reports the error; it may
    // start the next query at once, which may take the socket over in turn.
    for (const listener of this.pgListeners) (listener as DataListener).call(stream, rest);
  }

  /** A row, or part of one, from the socket: the socket's buffers are not ours to keep, so copy. */
  private collect(bytes: Buffer): void {
    if (this.destroyed) return;
    if (bytes.length > CHUNK_BYTES - this.filled) this.flush();
    if (bytes.length >= CHUNK_BYTES) {
      this.deliver(Buffer.from(bytes));
    } else {
      bytes.copy(this.chunk, this.filled);
      this.filled += bytes.length;
    }
  }

  /** A whole row through pg's parser (after a notice handed the socket back mid-COPY). */
  handleCopyData(message: { chunk: Buffer }): void {
    this.collect(message.chunk);
  }

  handleCommandComplete(): void {
    this.flush();
  }

  handleReadyForQuery(): void {
    if (!this.destroyed) this.push(null);
  }

  handleError(error: Error): void {
    // A server that shuts down or crashes ends the session with one of these (admin_shutdown,
    // crash_shutdown, cannot_connect_now); a cut network ends it with no message at all.
    const code = (error as { code?: string }).code;
    const lost = code === "57P01" || code === "57P02" || code === "57P03" || code === undefined;
    this.destroy(lost ? new CopyInterruptedError(this.table, error) : error);
  }

  // Messages a COPY never produces; pg calls them only on a protocol surprise.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {
    this.destroy(new Error(`expected COPY … TO STDOUT, got a COPY FROM: ${this.text}`));
  }

  override _read(): void {
    this.connection?.stream.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Never leave the client's socket paused: the connection must stay usable (e.g. for ROLLBACK).
    // A reader that gave up early lets the rest of the COPY run out (collect drops it) until the
    // socket goes back to pg at CopyDone.
    this.connection?.stream.resume();
    callback(error);
  }

  private flush(): void {
    if (this.filled === 0) return;
    this.deliver(this.chunk.subarray(0, this.filled));
    this.chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.filled = 0;
  }

  private deliver(bytes: Buffer): void {
    if (this.destroyed) return;
    if (!this.push(bytes)) this.connection?.stream.pause();
  }
}
