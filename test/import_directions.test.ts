// The bundle's layers and which may import which (docs/engine.md draws them), read from the import
// statements of every module under f/admin: scripts → operations → engine, archive, storage → nothing
// back up; only the scripts and lib/windmill know Windmill; SQL is sent by the engine alone; the plan
// imports nothing that reaches pg; no module imports another that imports it back.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "f", "admin");

type Layer =
  | "scripts"
  | "windmill"
  | "operations"
  | "engine"
  | "plan"
  | "archive"
  | "storage"
  | "retention"
  | "health"
  | "notify"
  | "settings"
  | "crypto"
  | "base";

/** What each layer may import, besides itself. */
const MAY_IMPORT: Record<Layer, readonly Layer[]> = {
  scripts: ["windmill", "operations", "settings", "storage", "archive", "retention", "health", "notify", "base"],
  windmill: ["operations", "engine", "settings", "storage", "archive", "retention", "notify", "base"],
  operations: ["engine", "archive", "storage", "retention", "health", "settings", "crypto", "base"],
  engine: ["plan", "archive", "base"],
  plan: ["base"],
  archive: ["storage", "crypto", "base"],
  storage: ["crypto", "base"],
  retention: ["archive", "base"],
  // Pure judgements of what the storages and the audit trail say, and telling people about them.
  health: ["archive", "base"],
  notify: ["base"],
  settings: ["archive", "retention", "storage", "base"],
  // Encryption and signatures: pure, over bytes and keys; storage, archive and operations use them.
  crypto: ["base"],
  base: [],
};

/** Modules a layer may reach into beyond MAY_IMPORT: the pure vocabulary of the engine. */
const ALSO: Partial<Record<Layer, readonly string[]>> = {
  // The plan's own vocabulary: kinds, quoting, grants and the dump's shape, none of which reaches pg.
  plan: ["lib/engine/kinds.ts", "lib/engine/quote.ts", "lib/engine/grants.ts", "lib/engine/model.ts"],
  // A manifest names its objects by the closed list of kinds.
  archive: ["lib/engine/kinds.ts"],
};

/** npm packages and the layers that may load them at run time (type imports are free). */
const PACKAGES: Record<string, readonly Layer[]> = {
  "windmill-client": ["windmill"],
  pg: ["engine"],
  "pg-copy-streams": ["engine"],
  "libpg-query": ["engine"],
  "@aws-sdk/client-s3": ["storage"],
  croner: ["health"],
  nodemailer: ["notify"],
  zod: ["scripts", "windmill", "archive", "retention", "notify", "settings"],
  "age-encryption": ["crypto"],
  "@noble/ciphers": ["crypto"],
  fzstd: ["archive"],
};

function layerOf(file: string): Layer {
  if (!file.startsWith("lib/")) return "scripts";
  if (file.startsWith("lib/engine/plan/")) return "plan";
  const area = file.split("/")[1]!;
  if (["windmill", "operations", "engine", "archive", "storage", "retention", "health", "notify", "crypto"].includes(area)) {
    return area as Layer;
  }
  if (file === "lib/settings.ts") return "settings";
  return "base";
}

interface Import {
  from: string;
  /** A module of the bundle (relative to f/admin), or a package name. */
  target: string;
  local: boolean;
  typeOnly: boolean;
}

function modules(dir = ROOT): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return modules(path);
    return name.endsWith(".ts") ? [relative(ROOT, path)] : [];
  });
}

const IMPORT = /^(?:import|export)\s+(type\s+)?(?:([^"';]*?)\s+from\s+)?["']([^"']+)["'];?/gm;

function importsOf(file: string): Import[] {
  const source = readFileSync(join(ROOT, file), "utf8");
  return [...source.matchAll(IMPORT)].map((m) => {
    const [, typeKeyword, clause = "", specifier = ""] = m;
    const names = /\{([^}]*)\}/.exec(clause)?.[1]?.split(",").map((n) => n.trim()).filter(Boolean) ?? [];
    const typeOnly = Boolean(typeKeyword) ||
      (names.length > 0 && !/^[^{]*\w[^{]*,?\s*\{/.test(clause) && names.every((n) => n.startsWith("type ")));
    const local = specifier.startsWith(".");
    const target = local
      ? relative(ROOT, resolve(dirname(join(ROOT, file)), specifier))
      : specifier.startsWith("node:")
      ? specifier
      : specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
    return { from: file, target, local, typeOnly };
  });
}

const FILES = modules();
const IMPORTS = FILES.flatMap(importsOf);

test("every module is where a layer expects it, and each import goes the allowed way", () => {
  const wrong = IMPORTS.filter((i) => i.local).flatMap((i) => {
    const from = layerOf(i.from);
    const to = layerOf(i.target);
    if (from === to || MAY_IMPORT[from].includes(to) || ALSO[from]?.includes(i.target)) return [];
    return [`${i.from} (${from}) imports ${i.target} (${to})`];
  });
  assert.deepEqual(wrong, []);
});

test("the engine reads an archive only through the ProvenArchive it is handed, never storage", () => {
  const wrong = IMPORTS.filter((i) => layerOf(i.from) === "engine" && i.target === "lib/archive/reader.ts" && !i.typeOnly)
    .map((i) => `${i.from} loads lib/archive/reader.ts (it may name ProvenArchive as a type only)`);
  assert.deepEqual(wrong, []);
  assert.ok(IMPORTS.some((i) => i.from === "lib/engine/restore.ts" && i.target === "lib/archive/reader.ts" && i.typeOnly));
});

test("only lib/windmill loads windmill-client; only the engine loads pg; only storage loads the AWS SDK; only archive the zstd decoder", () => {
  const wrong = IMPORTS.filter((i) => !i.local && !i.typeOnly && !i.target.startsWith("node:")).flatMap((i) => {
    const allowed = PACKAGES[i.target];
    if (allowed === undefined) return [`${i.from} imports ${i.target}, a package this test does not know: add it to PACKAGES`];
    return allowed.includes(layerOf(i.from)) ? [] : [`${i.from} (${layerOf(i.from)}) loads ${i.target}`];
  });
  assert.deepEqual(wrong, []);
});

test("the plan reaches nothing that knows pg, not even for a type", () => {
  const reaches = new Map<string, Set<string>>();
  const closure = (file: string): Set<string> => {
    const known = reaches.get(file);
    if (known) return known;
    const found = new Set<string>();
    reaches.set(file, found);
    for (const i of IMPORTS.filter((x) => x.from === file)) {
      found.add(i.target);
      if (i.local) { for (const further of closure(i.target)) found.add(further); }
    }
    return found;
  };
  const plan = FILES.filter((f) => layerOf(f) === "plan");
  assert.ok(plan.length >= 5, "the plan's modules are found");
  const wrong = plan.flatMap((f) =>
    [...closure(f)].filter((t) => t === "pg" || t.startsWith("lib/engine/objects/")).map((t) => `${f} reaches ${t}`)
  );
  assert.deepEqual(wrong, []);
});

test("SQL is sent by the engine alone: no query() outside lib/engine", () => {
  const wrong = FILES.filter((f) => layerOf(f) !== "engine" && layerOf(f) !== "plan")
    .filter((f) => /\.query(<[^>]*>)?\(/.test(readFileSync(join(ROOT, f), "utf8")));
  assert.deepEqual(wrong, []);
});

test("no module imports one that imports it back, types included", () => {
  const graph = new Map<string, string[]>();
  for (const i of IMPORTS.filter((x) => x.local)) graph.set(i.from, [...(graph.get(i.from) ?? []), i.target]);
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === "done") return;
    if (state.get(file) === "open") {
      cycles.push([...path.slice(path.indexOf(file)), file].join(" → "));
      return;
    }
    state.set(file, "open");
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, "done");
  };
  for (const file of FILES) visit(file, []);
  assert.deepEqual(cycles, []);
});

test("the import reader sees the imports it must judge", () => {
  const restore = importsOf("restore_database.ts");
  assert.ok(restore.some((i) => i.target === "lib/operations/restore.ts" && !i.typeOnly));
  assert.ok(restore.some((i) => i.target === "lib/storage/storage.ts" && i.typeOnly));
  assert.ok(importsOf("lib/engine/catalog.ts").some((i) => i.target === "pg" && i.typeOnly));
});
