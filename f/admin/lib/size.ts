// Sizes as people read them: a megabyte is 1,048,576 bytes in every result and message of the bundle.
export const MEGABYTE = 1_048_576;

/** Megabytes with two decimals, for results (`size_mb`). */
export function megabytes(bytes: number): number {
  return Math.round((bytes / MEGABYTE) * 100) / 100;
}

/** Megabytes with one decimal, for sentences: `12.3`. */
export function megabytesText(bytes: number): string {
  return (bytes / MEGABYTE).toFixed(1);
}
