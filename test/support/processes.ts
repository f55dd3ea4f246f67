// Processes and waits for fault tests: the runtime a local runner started (the "worker" a test
// kills), and waiting on a state (a file, a session gone), never on a guess of how long it takes.
import { readdirSync, readFileSync } from "node:fs";

/** The processes whose parent is `pid`, read from /proc (Linux). */
export function childrenOf(pid: number): number[] {
  return readdirSync("/proc").filter((n) => /^\d+$/.test(n)).flatMap((n) => {
    try {
      const stat = readFileSync(`/proc/${n}/stat`, "utf8");
      return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid ? [Number(n)] : [];
    } catch {
      return [];
    }
  });
}

/** Polls `probe` until it gives a value (not undefined or false); fails after about a minute. */
export async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  for (let i = 0; i < 3000; i++) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never happened: ${what}`);
}
