// Windmill's own TypeScript parser (the WebAssembly build the platform uses to read `main`), so
// that the local runner and the script metadata see a script's signature exactly as Windmill does.
import { readFileSync } from "node:fs";

export type ParsedType = "bool" | "int" | "float" | "object" | { str: string[] | null } | Record<string, unknown>;
export interface ParsedArg {
  name: string;
  typ: ParsedType;
  default: unknown;
  has_default: boolean;
}
export interface MainSignature {
  args?: ParsedArg[];
  auto_kind?: string | null;
}

/** The parser module, initialised once. */
export async function windmillParser(): Promise<typeof import("windmill-parser-wasm-ts")> {
  const parser = await import("windmill-parser-wasm-ts");
  parser.initSync({ module: readFileSync(new URL(import.meta.resolve("windmill-parser-wasm-ts/windmill_parser_wasm_bg.wasm"))) });
  return parser;
}

export async function parseMainSignature(source: string): Promise<MainSignature> {
  return JSON.parse((await windmillParser()).parse_deno(source)) as MainSignature;
}
