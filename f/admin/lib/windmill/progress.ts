// Job progress and log lines. Inside a Windmill job the progress bar moves; elsewhere (tests, the
// local runner, a mocked API) progress is skipped silently, and a failing progress call never
// fails the job.
import * as wmill from "windmill-client";

export type ProgressReporter = (message: string, percent: number) => void;

export function jobProgress(): ProgressReporter {
  const inJob = Boolean(process.env.WM_JOB_ID) && !process.env.WM_MOCKED_API_FILE;
  let last = -1;
  // One report at a time, in order: concurrent requests may reach Windmill out of order, and the
  // bar would then go back (90 arriving before 79).
  let queue: Promise<unknown> = Promise.resolve();
  return (message, percent) => {
    console.log(`[${new Date().toISOString()}] ${message}`);
    const value = Math.max(0, Math.min(99, Math.round(percent)));
    if (!inJob || value <= last) return;
    last = value;
    queue = queue.then(() => wmill.setProgress(value)).catch(() => undefined);
  };
}
