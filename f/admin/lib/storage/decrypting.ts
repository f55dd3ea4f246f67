// A read-only Storage view of one age-encrypted file as its plaintext: `read(plainName, range)` fetches
// only the encrypted chunks that hold the range and opens them (lib/crypto/age-file.ts). Readers above
// it (the archive's ProvenArchive) see the decrypted archive and keep its byte ranges; the stored
// file and the key stay down here. Writing through the view is refused: it is for reading a backup.
import type { Readable } from "node:stream";
import { openAgeFile, type OpenedFile, type Opening } from "../crypto/age-file.ts";
import type { ByteRange, CreateHints, Listing, Storage, StoredFile } from "./storage.ts";

export class DecryptingStorage implements Storage {
  readonly features: Storage["features"];
  readonly location: string;

  private constructor(
    private readonly inner: Storage,
    private readonly sealedName: string,
    private readonly plainName: string,
    private readonly opened: OpenedFile,
  ) {
    this.features = inner.features;
    this.location = inner.location;
  }

  /**
   * Open `sealedName` (`sealedSize` bytes) in `inner` with `opening`: its header is read and the file
   * key unwrapped now, so a wrong key fails here, before anything is read or done.
   */
  static async open(
    inner: Storage,
    sealedName: string,
    sealedSize: number,
    plainName: string,
    opening: Opening,
  ): Promise<DecryptingStorage> {
    const opened = await openAgeFile((range) => inner.read(sealedName, range), sealedSize, opening);
    return new DecryptingStorage(inner, sealedName, plainName, opened);
  }

  /** Size of the plaintext. */
  get size(): number {
    return this.opened.layout.plaintextSize;
  }

  read(name: string, range?: ByteRange): Readable {
    if (name !== this.plainName) return this.inner.read(name, range);
    return this.opened.read(range);
  }

  list(): Promise<Listing> {
    return this.inner.list();
  }

  async stat(name: string): Promise<StoredFile | undefined> {
    const file = await this.inner.stat(name === this.plainName ? this.sealedName : name);
    return file && name === this.plainName ? { ...file, name, size: this.size } : file;
  }

  create(_nameFor: (attempt: number) => string, _body: Readable, _hints?: CreateHints): Promise<StoredFile> {
    return Promise.reject(new Error(`${this.location}: a decrypted view of ${this.plainName} is read-only`));
  }

  remove(name: string): Promise<void> {
    return Promise.reject(new Error(`${this.location}: a decrypted view of ${this.plainName} is read-only (asked to remove ${name})`));
  }

  freeBytes(): Promise<number | undefined> {
    return this.inner.freeBytes();
  }
}
