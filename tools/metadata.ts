// `npm run metadata`: keeps each script's `.script.yaml` argument schema equal to what Windmill's
// own parser reads from `main` (names, types, enums, defaults, order), keeping the summary,
// description, timeout and per-argument descriptions written by hand; and the custom resource types
// of resources/ equal to the zod schemas that read those resources; and the health check's table of
// schedules (f/admin/lib/health/schedule-table.ts) equal to schedules/. `--check` only compares.
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, stringify } from "yaml";
import { z } from "zod";
import { AlertSettings } from "../f/admin/lib/notify/channels.ts";
import { BackupSettings, SeedS3Resource } from "../f/admin/lib/settings.ts";
import { parseMainSignature, type ParsedArg, type ParsedType } from "./windmill-parser.ts";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const SCRIPTS_DIR = join(repoRoot, "f", "admin");

function jsonSchemaType(typ: ParsedType): Record<string, unknown> {
  if (typ === "bool") return { type: "boolean" };
  if (typ === "int") return { type: "integer" };
  if (typ === "float") return { type: "number" };
  if (typeof typ === "object" && "str" in typ) {
    const values = typ.str as string[] | null;
    return values ? { type: "string", enum: values } : { type: "string" };
  }
  if (typeof typ === "object" && "object" in typ) return { type: "object" };
  if (typeof typ === "object" && "list" in typ) return { type: "array", items: jsonSchemaType(typ.list as ParsedType) };
  throw new Error(`unsupported argument type ${JSON.stringify(typ)}: use a primitive, a string union or a list of them`);
}

/** The schema Windmill derives from `main`, with the descriptions of `previous` carried over. */
export function schemaFor(args: ParsedArg[], previous: Record<string, { description?: string }> = {}) {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object",
    order: args.map((a) => a.name),
    properties: Object.fromEntries(args.map((a) => [a.name, {
      ...jsonSchemaType(a.typ),
      description: previous[a.name]?.description ?? "",
      ...(a.has_default ? { default: a.default } : {}),
    }])),
    required: args.filter((a) => !a.has_default).map((a) => a.name),
  };
}

export function scriptFiles(): string[] {
  return readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith(".ts")).map((f) => join(SCRIPTS_DIR, f));
}

export async function expectedMetadata(script: string): Promise<{ path: string; current: string; expected: string }> {
  const signature = await parseMainSignature(readFileSync(script, "utf8"));
  if (!signature.args) throw new Error(`${script}: Windmill's parser cannot read this script`);
  const path = script.replace(/\.ts$/, ".script.yaml");
  const current = readFileSync(path, "utf8");
  const metadata = parse(current) as Record<string, unknown> & { schema?: { properties?: Record<string, { description?: string }> } };
  const expected = stringify({ ...metadata, schema: schemaFor(signature.args, metadata.schema?.properties) }, { lineWidth: 0 });
  return { path, current, expected };
}

/** The bundle's custom resource types, generated from the zod schemas that read the resources. */
const RESOURCE_TYPES: Record<string, { description: string; schema: z.ZodType }> = {
  c_backup_settings: { description: "Settings of the windmill-pg-backup scripts (f/admin/backup_settings); every field is optional.",
    schema: BackupSettings },
  c_s3_backup_config: { description: "S3 bucket for windmill-pg-backup's off-site copies, in the seed's shape (f/admin/s3_backup_config).",
    schema: SeedS3Resource },
  c_backup_alerts: {
    description:
      "Who hears about failed backups, failed drills and unhealthy reports (f/admin/backup_alerts): a Slack-compatible webhook, " +
      "e-mail through a Windmill smtp resource, or both.",
    schema: AlertSettings,
  },
};

export function expectedResourceTypes(): Array<{ path: string; current: string; expected: string }> {
  return Object.entries(RESOURCE_TYPES).map(([name, { description, schema }]) => {
    const path = join(repoRoot, "resources", `${name}.resource-type.yaml`);
    const expected = stringify({ description, schema: z.toJSONSchema(schema, { io: "input" }) }, { lineWidth: 0 });
    return { path, current: existsSync(path) ? readFileSync(path, "utf8") : "", expected };
  });
}

/** What each schedule runs, as the health check needs it: the flows of the bundle's schedules. */
const RUNS: Record<string, "backup" | "drill" | "health"> = {
  "f/admin/scheduled_backup": "backup",
  "f/admin/backup_drill": "drill",
  "f/admin/scheduled_health_check": "health",
};

/** The health check's table of schedules: what it expects when, read from schedules/ (scripts cannot read files of the repository in Windmill). */
export function expectedScheduleTable(): { path: string; current: string; expected: string } {
  const dir = join(repoRoot, "schedules");
  const entries = readdirSync(dir).filter((f) => f.endsWith(".schedule.yaml")).sort().flatMap((file) => {
    const spec = parse(readFileSync(join(dir, file), "utf8")) as { schedule: string; script_path: string; enabled?: boolean;
      args?: Record<string, unknown> };
    const runs = RUNS[spec.script_path];
    if (!runs) return [];
    const type = runs === "backup" ? `, backupType: ${JSON.stringify(spec.args?.backup_type)}` : "";
    const path = `f/admin/${file.slice(0, -".schedule.yaml".length)}`;
    return [
      `  { path: ${JSON.stringify(path)}, cron: ${JSON.stringify(spec.schedule)}, runs: ${JSON.stringify(runs)}${type}, enabled: ${
        spec.enabled !== false
      } },`,
    ];
  });
  const expected = [
    "// Generated by `npm run metadata` from schedules/*.schedule.yaml (test/script_metadata.test.ts keeps it equal): the",
    "// schedules the health check expects backups and drills from. The time zone is the settings' time_zone.",
    'import type { ScheduleEntry } from "./schedule.ts";',
    "",
    "export const SCHEDULES: readonly ScheduleEntry[] = [",
    ...entries,
    "];",
    "",
  ].join("\n");
  const path = join(SCRIPTS_DIR, "lib", "health", "schedule-table.ts");
  return { path, current: existsSync(path) ? readFileSync(path, "utf8") : "", expected };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check");
  let stale = 0;
  const files = [...await Promise.all(scriptFiles().map(expectedMetadata)), ...expectedResourceTypes(), expectedScheduleTable()];
  for (const { path, current, expected } of files) {
    if (current === expected) continue;
    stale += 1;
    if (check) console.error(`${path} is stale (it must match main's signature or the resource's schema): run npm run metadata`);
    else writeFileSync(path, expected);
  }
  process.exitCode = check && stale > 0 ? 1 : 0;
}
