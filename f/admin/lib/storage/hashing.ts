// A Storage view that hashes one file as it is read in consecutive byte ranges. A restore reads an
// archive's members in file order (schema, each table, sequences, post-data: contiguous, covering
// the file), so a remote archive's sha256 is known at the end without downloading it twice.
import { createHash } from "node:crypto";
import { Transform, type Readable } from "node:stream";
import type { ByteRange, CreateHints, Listing, Storage, StoredFile } from "./storage.ts";

export class HashingStorage implements Storage {
  readonly features: Storage["features"];
  readonly location: string;
  private readonly hash = createHash("sha256");
  /** The offset the next read must start at to continue the hash. */
  private next = 0;
  private inOrder = true;

  constructor(
    private readonly inner: Storage,
    private readonly name: string,
  ) {
    this.features = inner.features;
    this.location = inner.location;
  }

  /**
   * The file's sha256 when it was read from its first to its last byte (`size`) in order, else
   * undefined (the caller then checks the file another way).
   */
  digest(size: number): string | undefined {
    return this.inOrder && this.next === size ? this.hash.digest("hex") : undefined;
  }

  read(name: string, range?: ByteRange): Readable {
    const source = this.inner.read(name, range);
    if (name !== this.name) return source;
    if ((range?.start ?? 0) !== this.next) this.inOrder = false;
    if (!this.inOrder) return source;
    const hashed = new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        this.hash.update(chunk);
        this.next += chunk.length;
        done(null, chunk);
      },
    });
    source.on("error", (error) => hashed.destroy(error));
    hashed.on("close", () => source.destroy());
    return source.pipe(hashed);
  }

  list(): Promise<Listing> {
    return this.inner.list();
  }

  stat(name: string): Promise<StoredFile | undefined> {
    return this.inner.stat(name);
  }

  create(nameFor: (attempt: number) => string, body: Readable, hints?: CreateHints): Promise<StoredFile> {
    return this.inner.create(nameFor, body, hints);
  }

  remove(name: string): Promise<void> {
    return this.inner.remove(name);
  }

  freeBytes(): Promise<number | undefined> {
    return this.inner.freeBytes();
  }
}

/**
 * A pass-through stream stage that counts and hashes the bytes flowing through it: `result()` gives
 * their size and sha256 once the stream has ended (once: the hash is then finished).
 */
export function measuringStage(): { stage: Transform; result: () => { size: number; sha256: string } } {
  const hash = createHash("sha256");
  let size = 0;
  const stage = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  return { stage, result: () => ({ size, sha256: hash.digest("hex") }) };
}
