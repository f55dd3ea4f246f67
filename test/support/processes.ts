// Processes and waits for fault tests: the runtime a local runner started (the "worker" a test
// kills), and waiting on a state (a file, a session gone), never on a guess of how long it takes.
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * Start a script as a job in a worker-like child process (the local runner, tools/wm.ts) under
 * `runtime`, reading the Windmill mock `mockFile`. The runtime running the script is its child.
 */
export function startJob(runtime: string, script: string, args: Record<string, unknown>, mockFile: string): {
  job: ChildProcess;
  exited: Promise<void>;
} {
  const job = spawn(process.execPath, ["--import", "tsx", "tools/wm.ts", "--runtime", runtime, script, JSON.stringify(args)], {
    env: { ...process.env, WM_MOCKED_API_FILE: mockFile },
    stdio: ["ignore", "ignore", "ignore"],
  });
  const exited = new Promise<void>((resolve) => job.once("exit", () => resolve()));
  return { job, exited };
}

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
