// The backup drill's clean-up: the throwaway database a drill restored into is dropped, and only a
// database named drill_…, never the one the resource points at.
import { withConnection, type DatabaseTarget } from "../engine/connection.ts";
import { dropDatabase } from "../engine/target.ts";
import { BackupError } from "../errors.ts";

export const DRILL_DATABASE = /^drill_[a-z0-9_]+$/;

export async function dropDrillDatabase(database: DatabaseTarget, name: string): Promise<void> {
  if (!DRILL_DATABASE.test(name)) {
    throw new BackupError(`Refusing to drop ${JSON.stringify(name)}: a drill database is named drill_<lowercase letters, digits, _>.`);
  }
  if (name === database.dbname) throw new BackupError(`Refusing to drop ${name}: it is the database the resource points at.`);
  await withConnection(database, "windmill-pg-backup: drill clean-up", (client) => dropDatabase(client, name, { force: true }));
}
