// The restore for bad days: one file, built from this library by tools/build-rescue.ts into
// rescue/windmill-pg-backup-restore.mjs, that restores a backup with plain Node (20 or newer) and
// nothing installed: no Windmill, no npm, no node_modules. The same checks as restore_database:
// every part of the archive proven against its manifest before it is used, one transaction,
// verification before COMMIT, a pre-restore backup first. Without --yes it only previews. A zstd
// archive (.sql.zst) reads with the bundled pure-JS decoder where Node's zlib has no zstd. An
// encrypted archive (.sql.gz.age, .sql.zst.age) opens with an age identity file or a passphrase file; a signed
// manifest is verified with the public key given (and then required).
import { readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { identityToRecipient } from "age-encryption";
import { ed25519PublicKey, hmacSecret, type VerifyingKey } from "../f/admin/lib/crypto/signing.ts";
import type { DatabaseTarget } from "../f/admin/lib/engine/connection.ts";
import { identitiesIn, type Keyring } from "../f/admin/lib/operations/keys.ts";
import { previewMarkdown, previewRestore } from "../f/admin/lib/operations/preview.ts";
import { restoreBackup } from "../f/admin/lib/operations/restore.ts";
import { BackupSettings } from "../f/admin/lib/settings.ts";
import { LocalStorage } from "../f/admin/lib/storage/local.ts";

const USAGE = `usage: node windmill-pg-backup-restore.mjs ARCHIVE.sql.gz|ARCHIVE.sql.zst[.age] [options]

Restores a backup of windmill-pg-backup (the .manifest.json must sit beside it) into PostgreSQL.
Without --yes it only previews what the restore would do, and changes nothing.

The database: --database postgres://USER@HOST:PORT/DBNAME (sslmode=… as a query parameter), or libpq's
variables PGHOST, PGPORT, PGUSER, PGDATABASE, PGSSLMODE. The password: PGPASSWORD (keep it out of the
command line, which other users of the machine can see), or in the URL.

  --target NAME              restore into this database instead (created when missing)
  --tables a.b,c.d           replace only these tables' rows
  --yes                      restore (DESTRUCTIVE: replaces the database's contents)
  --no-pre-restore-backup    do not back up the target first (by default it is, into --backup-dir)
  --backup-dir DIR           where the pre-restore backup goes (default: the archive's directory)
  --create-roles             create the roles the backup names that the server lacks (no login, no password)
  --identity FILE            an encrypted archive (.sql.gz.age, .sql.zst.age): the age identity file that opens it (as age -i);
                             the pre-restore backup is then encrypted to that identity's recipient
  --passphrase-file FILE     an encrypted archive made with a passphrase: the file holding it
  --verify-key KEY           an Ed25519 public key (base64, or a PEM file) that must have signed the manifest;
                             repeat for several. With one, unsigned manifests are refused unless --allow-unsigned
  --hmac-secret-file FILE    the HMAC secret the manifests were signed with (as --verify-key)
  --allow-unsigned           restore a backup whose manifest is not signed even though a key was given
  --json                     print the whole result as JSON
  --help`;

type Env = Record<string, string | undefined>;

/** The database from a URL or libpq's environment variables. */
function databaseFrom(url: string | undefined, env: Env): DatabaseTarget {
  const sslmodes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
  const sslmodeOf = (value: string | undefined): DatabaseTarget["sslmode"] => {
    if (value === undefined || value === "") return "prefer";
    if (!(sslmodes as readonly string[]).includes(value)) throw new Error(`sslmode ${value} is not one of ${sslmodes.join(", ")}`);
    return value as DatabaseTarget["sslmode"];
  };
  if (url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error("--database must be a URL such as postgres://user@127.0.0.1:5432/family_brain");
    }
    if (!["postgres:", "postgresql:"].includes(parsed.protocol)) throw new Error("--database must start with postgres://");
    return {
      host: decodeURIComponent(parsed.hostname) || "127.0.0.1",
      port: Number(parsed.port || 5432),
      user: decodeURIComponent(parsed.username) || env.PGUSER || "postgres",
      password: decodeURIComponent(parsed.password) || env.PGPASSWORD || "",
      dbname: decodeURIComponent(parsed.pathname.replace(/^\//, "")) || env.PGDATABASE || "postgres",
      sslmode: sslmodeOf(parsed.searchParams.get("sslmode") ?? env.PGSSLMODE),
    };
  }
  if (!env.PGHOST || !env.PGDATABASE) {
    throw new Error("give the database: --database postgres://USER@HOST:PORT/DBNAME, or PGHOST and PGDATABASE");
  }
  return {
    host: env.PGHOST,
    port: Number(env.PGPORT || 5432),
    user: env.PGUSER || "postgres",
    password: env.PGPASSWORD || "",
    dbname: env.PGDATABASE,
    sslmode: sslmodeOf(env.PGSSLMODE),
  };
}

/** The keys from the command line: files are read now, and never printed. */
async function keyringFrom(values: {
  identity?: string;
  "passphrase-file"?: string;
  "verify-key"?: string[];
  "hmac-secret-file"?: string;
  "allow-unsigned"?: boolean;
}): Promise<Keyring> {
  const read = (file: string) => readFileSync(resolve(file), "utf8");
  const identities = values.identity ? identitiesIn(read(values.identity)) : [];
  if (values.identity && identities.length === 0) throw new Error(`${values.identity} holds no age identity (AGE-SECRET-KEY-1… line)`);
  const passphrases = values["passphrase-file"] ? [read(values["passphrase-file"]).replace(/\r?\n$/, "")] : [];
  const verifying: VerifyingKey[] = (values["verify-key"] ?? []).map((key) =>
    ed25519PublicKey(key.trim().startsWith("-----") || !/^[A-Za-z0-9+/=\s]+$/.test(key) ? read(key) : key)
  );
  if (values["hmac-secret-file"]) verifying.push(hmacSecret(read(values["hmac-secret-file"]).replace(/\r?\n$/, "")));
  const recipients = await Promise.all(identities.map((identity) => identityToRecipient(identity)));
  return {
    opening: () => {
      if (identities.length === 0 && passphrases.length === 0) {
        return Promise.reject(
          new Error("the archive is encrypted: give --identity FILE (the age identity file, as age -i) or --passphrase-file FILE"),
        );
      }
      return Promise.resolve({ identities, passphrases });
    },
    verifying: () => Promise.resolve(verifying),
    requireSignature: verifying.length > 0 && !values["allow-unsigned"],
    openingSource: [values.identity && `--identity ${values.identity}`, values["passphrase-file"] && `--passphrase-file`].filter(Boolean)
      .join(" and ") || "none given",
    sealing: () =>
      Promise.resolve(recipients.length > 0 ? { sealing: { recipients }, method: "age-x25519" as const, recipients } : undefined),
    signingKey: () => Promise.resolve(undefined),
  };
}

async function main(argv: string[], env: Env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      database: { type: "string" },
      target: { type: "string" },
      tables: { type: "string" },
      yes: { type: "boolean", default: false },
      "no-pre-restore-backup": { type: "boolean", default: false },
      "backup-dir": { type: "string" },
      "create-roles": { type: "boolean", default: false },
      identity: { type: "string" },
      "passphrase-file": { type: "string" },
      "verify-key": { type: "string", multiple: true },
      "hmac-secret-file": { type: "string" },
      "allow-unsigned": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new Error(`give one archive\n${USAGE}`);
  const archive = resolve(positionals[0]!);
  const database = databaseFrom(values.database, env);
  const backupDir = resolve(values["backup-dir"] ?? dirname(archive));
  const settings = BackupSettings.parse({ backup_dir: backupDir });
  const source = new LocalStorage(dirname(archive), { access: "read" });
  const backupName = basename(archive);
  const tables = values.tables ? values.tables.split(",").map((t) => t.trim()).filter((t) => t !== "") : [];
  const progress = (message: string) => process.stderr.write(`${message}\n`);
  const keys = await keyringFrom(values);

  if (!values.yes) {
    const preview = await previewRestore({ database, source, backupName, targetDatabase: values.target ?? database.dbname, tables, keys });
    const { manifest: _, ...details } = preview;
    console.log(
      values.json
        ? JSON.stringify({ status: "dry_run", changed: "nothing", ...details }, null, 2)
        : previewMarkdown(preview, "Run the same command again with --yes to restore."),
    );
    return 0;
  }
  const preRestore = !values["no-pre-restore-backup"];
  const outcome = await restoreBackup({
    database,
    settings,
    source,
    storage: preRestore ? new LocalStorage(backupDir, { access: "write" }) : source,
    backupName,
    confirm: true,
    createPreRestoreBackup: preRestore,
    ...(values.target === undefined ? {} : { targetDatabase: values.target }),
    tables,
    createRoles: values["create-roles"],
    keys,
    onProgress: (message) => progress(message),
  });
  const { manifest: _, ...result } = outcome;
  if (values.json) {
    console.log(JSON.stringify({ status: "success", ...result }, null, 2));
  } else {
    const checks = outcome.verification.tables;
    console.log(`Restored ${outcome.backup} into ${outcome.target_database}: ${checks.length} tables, ` +
      `${checks.reduce((n, t) => n + t.found_rows, 0)} rows, verification ${outcome.verification.passed ? "passed" : "FAILED"} ` +
      `(${checks.filter((t) => t.match).length}/${checks.length} tables match the backup's rows and content digests).`);
    if (outcome.pre_restore_backup) {
      console.log(`Pre-restore backup: ${backupDir}/${outcome.pre_restore_backup} (restore it the same way to go back).`);
    }
    if (outcome.dropped_objects.length > 0) {
      console.log(
        `Dropped (not in the backup): ${
          outcome.dropped_objects.map((o) => `${o.kind} ${o.schema ? `${o.schema}.` : ""}${o.name}`).join(", ")
        }`,
      );
    }
  }
  return 0;
}

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
