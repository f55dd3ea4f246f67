// The usual test setup: a throwaway server holding the sample family_brain database, a temp
// directory for backups, and the Windmill mock pointing at both. `configure` rewrites the mock
// (other settings, more resources); `stop` removes everything.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, type Cluster } from "./cluster.ts";
import { createFamilyBrainDatabase } from "./family-brain.ts";
import { mockWindmill } from "./judge.ts";

export const SAMPLE_DATABASE = "family_brain";

export interface Sample {
  cluster: Cluster;
  dir: string;
  backupDir: string;
  mockFile: string;
  /** Point the mock at the sample database with these backup settings (and other resources). */
  configure(settings?: Record<string, unknown>, resources?: Record<string, unknown>): string;
  stop(): Promise<void>;
}

export async function startSample(label: string, options: { settings?: Record<string, unknown>; extraSql?: string } = {}): Promise<Sample> {
  const cluster = await startCluster();
  await cluster.createDatabase(SAMPLE_DATABASE);
  const client = await cluster.connect(SAMPLE_DATABASE);
  try {
    await createFamilyBrainDatabase(client);
    if (options.extraSql) await client.query(options.extraSql);
  } finally {
    await client.end();
  }
  const dir = mkdtempSync(join(tmpdir(), `wpb-${label}-`));
  const backupDir = join(dir, "backups");
  const configure = (settings: Record<string, unknown> = options.settings ?? {}, resources: Record<string, unknown> = {}) =>
    mockWindmill(dir, {
      "f/admin/database": cluster.resource(SAMPLE_DATABASE),
      "f/admin/backup_settings": { backup_dir: backupDir, ...settings },
      ...resources,
    });
  const mockFile = configure();
  return {
    cluster,
    dir,
    backupDir,
    mockFile,
    configure,
    stop: async () => {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
