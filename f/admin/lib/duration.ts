// Durations as people read them, in every result and message of the bundle: `40 min`, `25 h`, `3 days`.

/** Whole minutes up to two hours, whole hours up to two days, then whole days. */
export function durationText(ms: number): string {
  const minutes = Math.max(0, Math.floor(ms / 60_000));
  if (minutes < 120) return `${minutes} min`;
  return minutes < 48 * 60 ? `${Math.floor(minutes / 60)} h` : `${Math.floor(minutes / 1440)} days`;
}
