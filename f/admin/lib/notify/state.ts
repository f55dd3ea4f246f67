// The open incidents, kept in a small file beside the backups (`.windmill-pg-backup-alerts.json`):
// the backup volume is where every job of the bundle already writes, it outlives the database (whose
// restore would roll a table back) and it is there when the database is down. A hidden name: no
// listing, retention or sweep of the bundle ever sees it. Read and written under a lock file, each
// write whole (temp file, rename).
import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { BackupError } from "../errors.ts";
import type { Incident } from "./incidents.ts";

export const STATE_FILE = ".windmill-pg-backup-alerts.json";
const LOCK_FILE = ".windmill-pg-backup-alerts.lock";
/** A lock older than this was left by a killed job (a send times out after 15 s per channel). */
const STALE_LOCK_MS = 5 * 60_000;
const LOCK_WAIT_MS = 60_000;

const IncidentSchema = z.object({
  key: z.string(),
  severity: z.enum(["critical", "warning"]),
  message: z.string(),
  opened_at: z.string(),
  notified_at: z.string().nullable(),
});

const StateSchema = z.object({
  format: z.literal("windmill-pg-backup.alerts"),
  version: z.literal(1),
  /** By database, then by incident key. */
  incidents: z.record(z.string(), z.record(z.string(), IncidentSchema)),
});
type State = z.infer<typeof StateSchema>;

const emptyState = (): State => ({ format: "windmill-pg-backup.alerts", version: 1, incidents: {} });

/** The state, or an empty one when there is none yet; a damaged file is started afresh (better a repeated alert than none). */
async function readState(directory: string): Promise<{ state: State; note?: string }> {
  let text: string;
  try {
    text = await readFile(join(directory, STATE_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { state: emptyState() };
    throw error;
  }
  const parsed = StateSchema.safeParse((() => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  })());
  return parsed.success ? { state: parsed.data } : { state: emptyState(), note: `${STATE_FILE} was unreadable and started afresh` };
}

async function writeState(directory: string, state: State): Promise<void> {
  const temp = join(directory, `${STATE_FILE}.${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await writeFile(temp, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
    await rename(temp, join(directory, STATE_FILE));
  } finally {
    await rm(temp, { force: true });
  }
}

async function acquireLock(directory: string): Promise<() => Promise<void>> {
  const path = join(directory, LOCK_FILE);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(path, "wx", 0o600);
      await handle.writeFile(`${hostname()} ${process.pid} ${new Date().toISOString()}\n`);
      await handle.close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > STALE_LOCK_MS) await rm(path, { force: true });
    else if (Date.now() > deadline) throw new BackupError(`${path} has been held for ${Math.round(age / 1000)} s by another job`);
    else await new Promise((done) => setTimeout(done, 200));
  }
}

/** The open incidents of `database` (for the health check, which reads them without changing them). */
export async function readIncidents(directory: string, database: string): Promise<Record<string, Incident>> {
  return (await readState(directory)).state.incidents[database] ?? {};
}

/**
 * Change the open incidents of `database` under the lock: `work` gets them and returns the new ones
 * (and a value handed back). Returns a note when the file had to be started afresh.
 */
export async function updateIncidents<T>(
  directory: string,
  database: string,
  work: (incidents: Record<string, Incident>) => Promise<{ incidents: Record<string, Incident>; value: T }>,
): Promise<{ value: T; note?: string }> {
  const release = await acquireLock(directory);
  try {
    const { state, note } = await readState(directory);
    const { incidents, value } = await work(state.incidents[database] ?? {});
    if (Object.keys(incidents).length > 0) state.incidents[database] = incidents;
    else delete state.incidents[database];
    await writeState(directory, state);
    return { value, ...(note ? { note } : {}) };
  } finally {
    await release();
  }
}
