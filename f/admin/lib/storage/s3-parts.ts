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
