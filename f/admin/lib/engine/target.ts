// The databases of a server that restores and drills write into: whether one exists, one created
// from template0 with an archive's encoding and locale (and the backed-up database's owner and
// grants, as pg_dump --create gives them), one dropped. Run on a connection to another database.
import type pg from "pg";
import type { Manifest } from "../archive/manifest.ts";
import { BackupError } from "../errors.ts";
import { applyDatabaseAccess } from "./objects/database.ts";
import { quoteIdent, quoteLiteral } from "./quote.ts";
import { rows } from "./sql.ts";

export async function databaseExists(client: pg.ClientBase, name: string): Promise<boolean> {
  return (await rows(client, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", [name])).length > 0;
}

/**
 * Create `name` with the archive's encoding and locale (UTF8 and the server's default locale for an
 * archive made by pg_dump, which does not record them), then the backed-up database's owner and
 * grants when the manifest has them (privileges option).
 */
export async function createDatabase(
  client: pg.ClientBase,
  name: string,
  manifest: Pick<Manifest, "server" | "database_access"> | undefined,
): Promise<void> {
  const server = manifest?.server;
  const icu = server?.locale_provider === "i" && server.icu_locale
    ? ` LOCALE_PROVIDER icu ICU_LOCALE ${quoteLiteral(server.icu_locale)}`
    : "";
  const locale = server ? ` LC_COLLATE ${quoteLiteral(server.lc_collate)} LC_CTYPE ${quoteLiteral(server.lc_ctype)}${icu}` : "";
  const encoding = server?.encoding ?? "UTF8";
  try {
    await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 ENCODING ${quoteLiteral(encoding)}${locale}`);
  } catch (error) {
    throw new BackupError(
      `Cannot create database ${JSON.stringify(name)} with the backup's encoding ${encoding}${
        server ? ` and locale ${server.lc_collate}` : ""
      }: ${(error as Error).message}. ` +
        "Create it yourself (CREATE DATABASE … TEMPLATE template0) and run the restore again.",
      { cause: error },
    );
  }
  if (manifest?.database_access) {
    await applyDatabaseAccess(client, name, manifest.database_access).catch(async (error: unknown) => {
      await client.query(`DROP DATABASE ${quoteIdent(name)}`);
      throw new BackupError(
        `Cannot give database ${JSON.stringify(name)} the backup's owner and grants: ${(error as Error).message}. Nothing was restored.`,
        { cause: error },
      );
    });
  }
}

/** Drop `name` if it exists; `force` ends its sessions first (a drill's throwaway database). */
export async function dropDatabase(client: pg.ClientBase, name: string, options: { force?: boolean } = {}): Promise<void> {
  await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}${options.force ? " WITH (FORCE)" : ""}`);
}
