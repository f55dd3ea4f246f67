// A Windmill workspace for tests: the API stand-in holding the sample's resources the way the install
// guide creates them (the password in a secret variable, the resource referring to it as `$var:`).
import type { Sample } from "./sample.ts";
import { SAMPLE_DATABASE } from "./sample.ts";
import { WindmillApi } from "./windmill-api.ts";

export async function startWindmill(sample: Sample, settings: Record<string, unknown> = {}): Promise<WindmillApi> {
  const api = await new WindmillApi().start();
  api.variables.set("f/admin/database_password", sample.cluster.password);
  api.resources.set("f/admin/database", { ...sample.cluster.resource(SAMPLE_DATABASE), password: "$var:f/admin/database_password" });
  api.resources.set("f/admin/backup_settings", { backup_dir: sample.backupDir, ...settings });
  return api;
}
