// Backups in an S3 bucket (AWS, MinIO, R2, B2…), behind the Storage contract. Writes are multipart
// uploads with bounded memory (one part filling while at most one is sent; growing parts for a body
// of unknown length), Content-MD5 on every part, never over an existing key, and checked for size
// once complete. Reads are ranged GETs.
import { createHash } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand,
  HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand, type CompletedPart,
  type ServerSideEncryption } from "@aws-sdk/client-s3";
import { BackupError } from "../errors.ts";
import { assertPlainFileName } from "./local.ts";
import { partSizeFor, sendsWhileFilling, streamedCapacity, streamedPartSize, type PartPlan } from "./s3-parts.ts";
import { megabytesText } from "../size.ts";
import type { ByteRange, CreateHints, Listing, OpenUpload, Storage, StoredFile } from "./storage.ts";

/** Where and how to reach the bucket; built from the f/admin/s3_backup_config resource. */
export interface S3Target {
  bucket: string;
  region: string;
  /** Full URL for non-AWS providers (`https://<account>.r2.cloudflarestorage.com`); absent for AWS. */
  endpoint?: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  /** `""` or a folder ending in `/`: keys are `prefix + file name`. */
  prefix: string;
  serverSideEncryption?: "AES256" | "aws:kms";
  kmsKeyId?: string;
  /** 10,000 on AWS; some providers allow 1,000. */
  maxParts: number;
  /** The resource the target came from, for error messages that say what to fix. */
  resourcePath: string;
}

const MAX_NAME_ATTEMPTS = 100;
/** SDK attempts per request, with its exponential backoff and jitter between them (5xx, throttling, resets). */
const MAX_ATTEMPTS = 5;

const md5Base64 = (bytes: Buffer): string => createHash("md5").update(bytes).digest("base64");

interface S3ErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}
const errorName = (error: unknown): string => {
  const e = error as S3ErrorShape;
  return e?.Code ?? e?.code ?? e?.name ?? "Error";
};
const httpStatus = (error: unknown): number | undefined => (error as S3ErrorShape)?.$metadata?.httpStatusCode;

export class S3Storage implements Storage {
  readonly features = { cheapRereads: false, freeSpace: false };
  readonly location: string;
  private readonly client: S3Client;

  constructor(
    private readonly target: S3Target,
    /** Keys per listing request (S3's maximum is 1,000); smaller only in tests of pagination. */
    private readonly pageSize = 1000,
  ) {
    this.location = `s3://${target.bucket}/${target.prefix}`;
    this.client = new S3Client({
      region: target.region,
      endpoint: target.endpoint,
      forcePathStyle: target.forcePathStyle,
      credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
      maxAttempts: MAX_ATTEMPTS,
      // Without these the SDK adds trailing checksums to streamed bodies, which s3rver stores
      // corrupted and R2/B2 reject; Content-MD5 on each part does the integrity job instead.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  private keyOf(name: string): string {
    assertPlainFileName(name);
    return this.target.prefix + name;
  }

  /** A BackupError that says what failed, where, and what to check; never the secret. */
  private failure(action: string, name: string | undefined, error: unknown): BackupError {
    const code = errorName(error);
    const raw = `${code}${httpStatus(error) ? ` (HTTP ${httpStatus(error)})` : ""}: ${(error as Error)?.message ?? String(error)}`;
    const detail = raw.split(this.target.secretAccessKey).join("[secret]");
    const where = name === undefined ? this.location : `${this.location}${name}`;
    const config = this.target.resourcePath;
    const hint = code === "NoSuchBucket" ?
      `the bucket does not exist: create it, or fix "bucket" in ${config}.`
      : ["InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Forbidden", "InvalidToken"].includes(code) ||
          httpStatus(error) === 403
      ? `check the access key, the secret and the key's permissions on the bucket in ${config}.`
      : code === "NotImplemented" || httpStatus(error) === 501
      ? "the provider does not implement this request."
      : ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "TimeoutError"].includes(code)
      ? `the S3 endpoint cannot be reached: check endPoint/port/useSSL in ${config} and the worker's network.`
      : "retry later; if it persists, check the bucket and the resource settings.";
    return new BackupError(`S3 ${action} of ${where} failed (${detail}): ${hint}`, { cause: error });
  }

  async list(): Promise<Listing> {
    const files: StoredFile[] = [];
    let token: string | undefined;
    let firstPage = true;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({
          Bucket: this.target.bucket,
          Prefix: this.target.prefix,
          ContinuationToken: token,
          MaxKeys: this.pageSize,
        }));
      } catch (error) {
        // Nothing listed at all is a configuration problem to report; an error halfway leaves a
        // partial listing that callers may show but must not delete on.
        if (firstPage) throw this.failure("listing", undefined, error);
        return { files, complete: false };
      }
      firstPage = false;
      for (const object of page.Contents ?? []) {
        const name = object.Key?.slice(this.target.prefix.length) ?? "";
        // Keys in deeper folders are not ours; neither are hidden names.
        if (name === "" || name.includes("/") || name.startsWith(".")) continue;
        files.push({ name, size: object.Size ?? 0, modifiedAt: object.LastModified ?? new Date(0) });
      }
      if (page.IsTruncated && !page.NextContinuationToken) return { files, complete: false };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return { files, complete: true };
  }

  async stat(name: string): Promise<StoredFile | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.target.bucket, Key: this.keyOf(name) }));
      return { name, size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (error) {
      if (httpStatus(error) === 404 || errorName(error) === "NotFound") return undefined;
      throw this.failure("reading the size", name, error);
    }
  }

  read(name: string, range?: ByteRange): Readable {
    const key = this.keyOf(name);
    if (range !== undefined &&
      (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start)) {
      throw new BackupError(`Invalid byte range [${range.start}, ${range.end}): expected whole numbers with 0 <= start <= end.`);
    }
    if (range !== undefined && range.end === range.start) return Readable.from([]);
    const out = new PassThrough();
    this.client
      .send(new GetObjectCommand({ Bucket: this.target.bucket, Key: key, Range: range && `bytes=${range.start}-${range.end - 1}` }))
      .then((response) => {
        const source = response.Body as Readable;
        // A server that ignores Range sends the whole object: a reader would take the wrong bytes.
        if (range !== undefined && response.ContentLength !== range.end - range.start) {
          source.destroy();
          out.destroy(new BackupError(
            `S3 download of ${this.location}${name} bytes ${range.start}-${range.end - 1} returned ${response.ContentLength} bytes: ` +
              "the provider does not honour ranged reads, which restores from S3 need. Restore from a local copy instead.",
          ));
          return;
        }
        source.on("error", (error) => out.destroy(this.failure("download", name, error)));
        // A reader that stops early (a damaged member) must not leave the connection open.
        out.on("close", () => source.destroy());
        source.pipe(out);
      }, (error: unknown) => out.destroy(this.failure("download", name, error)));
    return out;
  }

  async create(nameFor: (attempt: number) => string, body: Readable, hints: CreateHints = {}): Promise<StoredFile> {
    try {
      const name = await this.freeName(nameFor);
      const size = await this.upload(name, body, hints);
      const stored = await this.stat(name);
      if (stored?.size !== size) {
        await this.remove(name).catch(() => undefined);
        throw new BackupError(
          `S3 upload of ${this.location}${name} sent ${size} bytes but the bucket reports ${stored?.size ?? "no object"}; ` +
            "the object was removed. Retry; if it persists, the provider or a proxy alters uploads.",
        );
      }
      return stored;
    } catch (error) {
      // Stop the producer; the error is reported by the rejection (the body may have no error listener).
      body.destroy();
      throw error;
    }
  }

  private async freeName(nameFor: (attempt: number) => string): Promise<string> {
    for (let attempt = 0; attempt < MAX_NAME_ATTEMPTS; attempt++) {
      const name = nameFor(attempt);
      if ((await this.stat(name)) === undefined) return name;
    }
    throw new BackupError(`No free name in ${this.location} after ${MAX_NAME_ATTEMPTS} attempts (${nameFor(0)} …); retry in a moment.`);
  }

  private objectSettings(hints: CreateHints) {
    return {
      Bucket: this.target.bucket,
      Metadata: hints.sha256 ? { sha256: hints.sha256 } : undefined,
      ServerSideEncryption: this.target.serverSideEncryption as ServerSideEncryption | undefined,
      SSEKMSKeyId: this.target.kmsKeyId,
    };
  }

  /**
   * Sends the body as one PUT when it fits in a part, else as a multipart upload. Returns the bytes
   * sent. With an expected size, parts are planned for it and one is sent while the next fills; a
   * body of unknown length (an archive streamed as it is dumped) gets growing parts within a memory
   * bound. Either way a failure aborts the upload: nothing appears under the name.
   */
  private async upload(name: string, body: Readable, hints: CreateHints): Promise<number> {
    const key = this.keyOf(name);
    const streamed = hints.expectedSize === undefined;
    const plan: PartPlan = { expectedBytes: hints.expectedSize ?? 0, maxParts: this.target.maxParts };
    const parts: CompletedPart[] = [];
    let uploadId: string | undefined;
    let inFlight: Promise<void> = Promise.resolve();
    let uploaded = 0;
    let partSize = streamed ? streamedPartSize(1, plan.maxParts) : partSizeFor(plan, 1, 0);
    // The part filling, allocated at its full size when its first byte comes: no copy to join chunks.
    let part: Buffer | undefined;
    let filled = 0;

    const sendPart = async (bytes: Buffer) => {
      uploadId ??= (await this.client.send(new CreateMultipartUploadCommand({ ...this.objectSettings(hints), Key: key }))).UploadId;
      const partNumber = parts.length + 1;
      const slot: CompletedPart = { PartNumber: partNumber };
      parts.push(slot);
      // Wait for the part before: at most one part is sent while the next one fills.
      await inFlight;
      const id = uploadId!;
      inFlight = this.client
        .send(
          new UploadPartCommand({ Bucket: this.target.bucket, Key: key, UploadId: id, PartNumber: partNumber, Body: bytes,
            ContentMD5: md5Base64(bytes), ContentLength: bytes.length }),
        )
        .then((response) => {
          slot.ETag = response.ETag;
        });
      inFlight.catch(() => undefined);
      // A large streamed part is sent before the next one fills, so that two never sit in memory.
      if (streamed && !sendsWhileFilling(bytes.length)) await inFlight;
      uploaded += bytes.length;
      partSize = streamed ? streamedPartSize(partNumber + 1, plan.maxParts) : partSizeFor(plan, partNumber + 1, uploaded, partSize);
    };

    try {
      for await (const chunk of body) {
        let bytes: Buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
        while (bytes.length > 0) {
          if (partSize === 0) {
            throw new BackupError(
              `${name} is larger than ${this.target.maxParts} parts can hold${
                streamed ? ` when streamed (${megabytesText(streamedCapacity(this.target.maxParts))} MB)` : ""
              }; ${
                streamed ? "keep a local copy (local_copy: true in the backup settings), whose upload plans parts for its size, or " : ""
              }if the provider allows more parts, raise max_parts in ${this.target.resourcePath}.`,
            );
          }
          part ??= Buffer.allocUnsafeSlow(partSize);
          const take = Math.min(partSize - filled, bytes.length);
          bytes.copy(part, filled, 0, take);
          filled += take;
          bytes = bytes.subarray(take);
          if (filled === partSize) {
            const full = part;
            part = undefined;
            filled = 0;
            await sendPart(full);
          }
        }
      }
      const rest = part?.subarray(0, filled) ?? Buffer.alloc(0);
      part = undefined;
      if (uploadId === undefined && parts.length === 0) {
        await this.putWhole(key, name, rest, hints);
        return rest.length;
      }
      if (rest.length > 0) await sendPart(rest);
      await inFlight;
      await this.conditional(name, (IfNoneMatch) =>
        this.client.send(new CompleteMultipartUploadCommand({
          Bucket: this.target.bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          IfNoneMatch,
        })));
      return uploaded;
    } catch (error) {
      part = undefined;
      await inFlight.catch(() => undefined);
      if (uploadId !== undefined) {
        // Parts of an unfinished upload are billed until aborted. Some servers cannot abort (s3rver):
        // the failure that brought us here is the one to report.
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.target.bucket, Key: key, UploadId: uploadId })).catch(() =>
          undefined
        );
      }
      throw error instanceof BackupError ? error : this.failure("upload", name, error);
    }
  }

  private async putWhole(key: string, name: string, bytes: Buffer, hints: CreateHints): Promise<void> {
    await this.conditional(name, (IfNoneMatch) =>
      this.client.send(new PutObjectCommand({
        ...this.objectSettings(hints),
        Key: key,
        Body: bytes,
        ContentMD5: md5Base64(bytes),
        ContentLength: bytes.length,
        IfNoneMatch,
      })));
  }

  /**
   * `If-None-Match: *` makes the provider refuse to replace a key another run wrote since our check.
   * Providers that do not implement the header answer 501: the name was checked just before, so the
   * write goes ahead without it.
   */
  private async conditional(name: string, send: (ifNoneMatch: string | undefined) => Promise<unknown>): Promise<void> {
    try {
      await send("*");
    } catch (error) {
      if (httpStatus(error) === 412 || errorName(error) === "PreconditionFailed") {
        throw new BackupError(
          `${this.location}${name} was created by another run while this one uploaded it; nothing was overwritten. Retry the backup.`,
          { cause: error },
        );
      }
      if (httpStatus(error) !== 501 && errorName(error) !== "NotImplemented") throw error;
      await send(undefined);
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.target.bucket, Key: this.keyOf(name) }));
    } catch (error) {
      throw this.failure("delete", name, error);
    }
  }

  async freeBytes(): Promise<undefined> {
    return undefined;
  }

  /**
   * Multipart uploads under the prefix that were neither completed nor aborted, directly under it
   * (deeper keys are not ours). ListMultipartUploads answers at most MaxUploads per page, sorted by
   * key and, within a key, by initiation; the next page starts after NextKeyMarker and
   * NextUploadIdMarker together (a key with several uploads can straddle two pages):
   * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html
   * A provider that does not implement it (s3rver answers 501 NotImplemented) fails with that said.
   */
  async openUploads(): Promise<OpenUpload[]> {
    const uploads: OpenUpload[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(new ListMultipartUploadsCommand({
          Bucket: this.target.bucket,
          Prefix: this.target.prefix,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
          MaxUploads: this.pageSize,
        }));
      } catch (error) {
        throw this.failure("listing of unfinished multipart uploads", undefined, error);
      }
      for (const upload of page.Uploads ?? []) {
        const name = upload.Key?.slice(this.target.prefix.length) ?? "";
        if (name === "" || name.includes("/") || name.startsWith(".") || !upload.UploadId || !upload.Initiated) continue;
        uploads.push({ name, initiated: upload.Initiated, id: upload.UploadId });
      }
      // A truncated page without markers cannot be continued: what was listed is judged on its own.
      if (!page.IsTruncated || page.NextKeyMarker === undefined) return uploads;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  /**
   * Parts already sent are freed; a part still arriving may be stored after the abort, which is why
   * AWS says an abort may need repeating (AbortMultipartUpload:
   * https://docs.aws.amazon.com/AmazonS3/latest/API/API_AbortMultipartUpload.html). We abort only
   * uploads nobody is sending to any more. NoSuchUpload: another sweep, or a lifecycle rule, got there first.
   */
  async abortUpload(upload: OpenUpload): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.target.bucket, Key: this.keyOf(upload.name), UploadId: upload.id }),
      );
    } catch (error) {
      if (errorName(error) === "NoSuchUpload") return;
      throw this.failure("abort of the unfinished upload", upload.name, error);
    }
  }
}
