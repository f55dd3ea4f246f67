// Multipart part sizes for S3 uploads. Pure, so the rules AWS enforces (and s3rver does not) are
// tested here: every part but the last is at least 5 MiB, at most 5 GiB, at most `maxParts` parts
// (10,000 on AWS, 1,000 on some providers), and any archive up to 5 TB fits.

const MiB = 1024 * 1024;
export const MIN_PART_BYTES = 5 * MiB;
export const MAX_PART_BYTES = 5 * 1024 * MiB;
/** The largest archive an upload must be able to hold ("5 TB"). */
export const MAX_ARCHIVE_BYTES = 5_000_000_000_000;
export const AWS_MAX_PARTS = 10_000;

export interface PartPlan {
  /** Bytes the caller expects (0 when unknown): half the parts are planned for them, half kept in reserve. */
  expectedBytes: number;
  maxParts: number;
}

const roundUpToMiB = (bytes: number): number => Math.ceil(bytes / MiB) * MiB;
const clampPart = (bytes: number): number => Math.min(MAX_PART_BYTES, Math.max(MIN_PART_BYTES, roundUpToMiB(bytes)));

/** The part size the expected bytes get: they fill at most half the parts, the rest is reserve. */
export function plannedPartSize({ expectedBytes, maxParts }: PartPlan): number {
  return clampPart(expectedBytes / Math.floor(maxParts / 2));
}

/**
 * The size of part `partNumber` (1-based) after `uploadedBytes` were sent in earlier parts, the last
 * of them `previousSize` bytes. While the data stays within the expected bytes it is the planned
 * size; once it outgrows them, parts grow to what still lets a 5 TB archive fit in the parts left,
 * and never shrink. 0 when no part is left. Memory holds only the bytes that really come, so a large
 * part size costs nothing for a short stream.
 */
export function partSizeFor(plan: PartPlan, partNumber: number, uploadedBytes: number, previousSize = 0): number {
  const planned = plannedPartSize(plan);
  if (uploadedBytes < plan.expectedBytes) return Math.max(planned, previousSize);
  const partsLeft = plan.maxParts - partNumber + 1;
  if (partsLeft <= 0) return 0;
  return Math.max(previousSize, planned, clampPart((MAX_ARCHIVE_BYTES - uploadedBytes) / partsLeft));
}

/**
 * Streamed uploads (an archive sent while the dump still writes it, its length unknown until the
 * end) cannot plan from a size: parts start small and grow with the archive. 8 MiB at first (few
 * requests for a small archive, little memory), doubling every twentieth of the part limit up to
 * 128 MiB, so that 10,000 parts hold 1.03 TiB; the first 60 GiB go in parts of 64 MiB or less.
 */
const STREAMED_FIRST_PART_BYTES = 8 * MiB;
const STREAMED_LARGEST_PART_BYTES = 128 * MiB;
/** Bytes of parts a streamed upload keeps in memory: one filling and, while it fits, one being sent. */
export const STREAMED_PART_MEMORY_BYTES = 32 * MiB;

/** The size of part `partNumber` (1-based) of a streamed upload; 0 when the provider allows no more parts. */
export function streamedPartSize(partNumber: number, maxParts: number): number {
  if (partNumber > maxParts) return 0;
  const doublings = Math.floor((partNumber - 1) / Math.max(1, Math.floor(maxParts / 20)));
  return Math.min(STREAMED_LARGEST_PART_BYTES, STREAMED_FIRST_PART_BYTES * 2 ** Math.min(doublings, 16));
}

/** The most a streamed upload can hold with `maxParts` parts (for the error that says it outgrew them). */
export function streamedCapacity(maxParts: number): number {
  let total = 0;
  for (let part = 1; part <= maxParts; part++) total += streamedPartSize(part, maxParts);
  return total;
}

/**
 * Whether a part of `partSize` may be sent while the next one fills: only while both fit the memory
 * kept for parts. Larger parts are sent with the dump waiting, which costs time, not memory.
 */
export function sendsWhileFilling(partSize: number): boolean {
  return 2 * partSize <= STREAMED_PART_MEMORY_BYTES;
}
