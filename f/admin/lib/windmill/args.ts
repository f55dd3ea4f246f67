// Script arguments are input from outside (the UI form, the job API, a schedule): each script parses
// them with a zod schema here, and a wrong one gets an error that names the argument.
import type { z } from "zod";
import { BackupError } from "../errors.ts";

export function parseScriptArgs<T extends z.ZodType>(schema: T, raw: Record<string, unknown>): z.infer<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((issue) => `${issue.path.join(".") || "arguments"}: ${issue.message}`).join("; ");
  throw new BackupError(`Invalid argument ${details}.`);
}
