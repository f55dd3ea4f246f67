// Script arguments are input from outside (the UI form, the job API, a schedule, a flow step): each
// script parses them with a zod schema here, and a wrong one gets an error that names the argument.
// A flow step whose optional input was left out by the caller receives null, not undefined (so the
// default of `main`'s parameter does not apply): null then means "not given" for every argument
// that has a default, and the schema's default applies.
import { z } from "zod";
import { BACKUP_TYPES } from "../archive/name.ts";
import { BackupError } from "../errors.ts";

export function parseScriptArgs<T extends z.ZodObject>(schema: T, raw: Record<string, unknown>): z.infer<T> {
  const given = Object.fromEntries(Object.entries(raw).map(([name, value]) => {
    const field = schema.shape[name] as z.ZodType | undefined;
    return [name, value === null && field !== undefined && field.safeParse(undefined).success ? undefined : value];
  }));
  const parsed = schema.safeParse(given);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => `${issue.path.join(".") || "arguments"}: ${issue.message}`).join("; ");
  throw new BackupError(`Invalid argument ${details}.`);
}

/** The backup types a person or a schedule may ask for (pre-restore backups are the restore's own). */
export const BackupTypeArg = z.enum(BACKUP_TYPES.filter((t) => t !== "pre_restore") as ["daily", "weekly", "monthly", "manual"]);
