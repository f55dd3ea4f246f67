// Bounds the garbage a long stream leaves behind. A backup or a restore moves its data through
// short-lived buffers (socket reads, gzip blocks, COPY chunks) at hundreds of MB a second, and Bun's
// collector (JavaScriptCore) frees them lazily: a 500 MB row backed up under Bun peaked at 160 MB,
// 90 MB of it buffers already dropped. A full collection every 32 MiB of data (a few milliseconds
// each, over a heap of a few MB) held the same backup to 125 MB. Node's collector reacts to the
// memory its buffers hold outside the heap, and exposes no collection to call without a flag, so
// this does nothing there.

/** Data that passes between two collections. */
const COLLECT_EVERY_BYTES = 32 * 1024 * 1024;

/** Bun, when the runtime is Bun (its `gc(true)` collects synchronously). */
const bun = (globalThis as { Bun?: { gc(force: boolean): void } }).Bun;

/** A counter of bytes that runs the collector (under Bun) each time another 32 MiB went by. */
export function garbageBound(): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    if (bun === undefined) return;
    since += bytes;
    if (since < COLLECT_EVERY_BYTES) return;
    since = 0;
    bun.gc(true);
  };
}
