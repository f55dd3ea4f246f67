// `COPY … TO STDOUT` as a Readable of Buffers, driven by node-postgres's own protocol parser: pg
// hands each CopyData message to the active query, and backpressure pauses the socket. Unlike
// taking the socket over (pg-copy-streams' `to`), this keeps working under Deno, where a second
// COPY on the same client otherwise never starts.
import { Readable } from "node:stream";

/** Rows are small and many: they are gathered into chunks of this size before being pushed. */
const CHUNK_BYTES = 64 * 1024;

interface PgConnection {
  query(text: string): void;
  stream: { pause(): void; resume(): void };
}

export class CopyOut extends Readable {
  private connection: PgConnection | undefined;
  private chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  private filled = 0;

  constructor(private readonly text: string) {
    super();
  }

  /** Called by pg when the query's turn comes (pg's "submittable" protocol). */
  submit(connection: PgConnection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  handleCopyData(message: { chunk: Buffer }): void {
    // A reader that gave up destroyed the stream: let the COPY run out without pausing the socket.
    if (this.destroyed) return;
    const bytes = message.chunk;
    if (bytes.length > CHUNK_BYTES - this.filled) this.flush();
    if (bytes.length >= CHUNK_BYTES) {
      this.deliver(Buffer.from(bytes));
    } else {
      // pg's parser may reuse its buffer: copy the row out before the next message arrives.
      bytes.copy(this.chunk, this.filled);
      this.filled += bytes.length;
    }
  }

  handleCommandComplete(): void {
    this.flush();
  }

  handleReadyForQuery(): void {
    if (!this.destroyed) this.push(null);
  }

  handleError(error: Error): void {
    this.destroy(error);
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
