// Windmill's own TypeScript parser (the WebAssembly build the platform uses to read `main`), so
// that the local runner and the script metadata see a script's signature exactly as Windmill does.
import { readFileSync } from "node:fs";

export type ParsedType = "bool" | "int" | "float" | "object" | { str: string[] | null } | Record<string, unknown>;
export interface ParsedArg { name: string; typ: ParsedType; default: unknown; has_default: boolean }
export interface MainSignature { args?: ParsedArg[]; auto_kind?: string | null }

export async function parseMainSignature(source: string): Promise<MainSignature> {
  const parser = await import("windmill-parser-wasm-ts");
  parser.initSync({ module: readFileSync(new URL(import.meta.resolve("windmill-parser-wasm-ts/windmill_parser_wasm_bg.wasm"))) });
  return JSON.parse(parser.parse_deno(source)) as MainSignature;
}
