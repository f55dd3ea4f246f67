// How each catalog object is written as SQL: one small function per kind, from the typed
// definitions read by catalog.ts to complete statements ending in `;`. No I/O, no ordering.
import type {
  ColumnDef, ConstraintDef, EnumDef, ExtensionDef, FunctionDef, IndexDef, SchemaDef, SequenceDef,
  TableDef, TriggerDef, ViewDef,
} from "./catalog.ts";
import { qualify, quoteIdent, quoteLiteral } from "./quote.ts";

export function commentOn(target: string, text: string | undefined): string[] {
  return text === undefined ? [] : [`COMMENT ON ${target} IS ${quoteLiteral(text)};`];
}

/** IF NOT EXISTS always: `public` exists in every new database and the restorer relies on it. */
export function createSchema(schema: SchemaDef): string[] {
  const name = quoteIdent(schema.name);
  return [`CREATE SCHEMA IF NOT EXISTS ${name};`, ...commentOn(`SCHEMA ${name}`, schema.comment)];
}

export function createExtension(extension: ExtensionDef): string[] {
  const name = quoteIdent(extension.name);
  return [
    `CREATE EXTENSION IF NOT EXISTS ${name} WITH SCHEMA ${quoteIdent(extension.schema)};`,
    ...commentOn(`EXTENSION ${name}`, extension.comment),
  ];
}

export function createEnum(type: EnumDef): string[] {
  const name = qualify(type.schema, type.name);
  const labels = type.labels.map((label) => `    ${quoteLiteral(label)}`).join(",\n");
  return [`CREATE TYPE ${name} AS ENUM (\n${labels}\n);`, ...commentOn(`TYPE ${name}`, type.comment)];
}

export function createFunction(fn: FunctionDef): string[] {
  return [
    `${fn.definition.trimEnd()};`,
    ...commentOn(`FUNCTION ${qualify(fn.schema, fn.name)}(${fn.identityArgs})`, fn.comment),
  ];
}

/** Explicit values for every option, so the result never depends on the restoring server's defaults. */
function sequenceOptions(seq: SequenceDef): string {
  return (
    `START WITH ${seq.start} INCREMENT BY ${seq.increment} MINVALUE ${seq.min} MAXVALUE ${seq.max} ` +
    `CACHE ${seq.cache}${seq.cycle ? " CYCLE" : " NO CYCLE"}`
  );
}

export function createSequence(seq: SequenceDef): string[] {
  const name = qualify(seq.schema, seq.name);
  return [
    `CREATE ${seq.unlogged ? "UNLOGGED " : ""}SEQUENCE ${name} AS ${seq.type} ${sequenceOptions(seq)};`,
    ...commentOn(`SEQUENCE ${name}`, seq.comment),
  ];
}

/** Serial columns: the sequence exists before its table, and is tied to the column once both do. */
export function sequenceOwnedBy(seq: SequenceDef): string[] {
  if (seq.owner === undefined) return [];
  const column = `${qualify(seq.owner.schema, seq.owner.table)}.${quoteIdent(seq.owner.column)}`;
  return [`ALTER SEQUENCE ${qualify(seq.schema, seq.name)} OWNED BY ${column};`];
}

function columnClause(column: ColumnDef): string {
  const parts = [quoteIdent(column.name), column.type];
  if (column.collation !== undefined) parts.push(`COLLATE ${column.collation}`);
  if (column.generated) {
    parts.push(`GENERATED ALWAYS AS (${column.default}) STORED`);
  } else if (column.identity !== undefined) {
    const seq = column.identity.sequence;
    parts.push(
      `GENERATED ${column.identity.always ? "ALWAYS" : "BY DEFAULT"} AS IDENTITY ` +
        `(SEQUENCE NAME ${qualify(seq.schema, seq.name)} ${sequenceOptions(seq)})`,
    );
  } else if (column.default !== undefined) {
    parts.push(`DEFAULT ${column.default}`);
  }
  if (column.notNull) parts.push("NOT NULL");
  return parts.join(" ");
}

/** `WITH (key='value', …)`: quoted values are accepted for every option and survive any content. */
function withOptions(options: readonly string[]): string {
  if (options.length === 0) return "";
  const pairs = options.map((option) => {
    const eq = option.indexOf("=");
    return `${option.slice(0, eq)}=${quoteLiteral(option.slice(eq + 1))}`;
  });
  return ` WITH (${pairs.join(", ")})`;
}

/** Validated CHECK constraints go inside CREATE TABLE; keys and foreign keys wait for post-data. */
export function createTable(table: TableDef): string[] {
  const name = qualify(table.schema, table.name);
  const lines = [
    ...table.columns.map(columnClause),
    ...table.checks.map((check) => `CONSTRAINT ${quoteIdent(check.name)} ${check.definition}`),
  ];
  const body = lines.length === 0 ? "()" : `(\n    ${lines.join(",\n    ")}\n)`;
  return [
    `CREATE ${table.unlogged ? "UNLOGGED " : ""}TABLE ${name} ${body}${withOptions(table.options)};`,
    ...commentOn(`TABLE ${name}`, table.comment),
    ...table.columns.flatMap((column) => commentOn(`COLUMN ${name}.${quoteIdent(column.name)}`, column.comment)),
    ...table.checks.flatMap((check) => commentOn(`CONSTRAINT ${quoteIdent(check.name)} ON ${name}`, check.comment)),
    ...table.columns.flatMap((column) =>
      column.identity ? commentOn(`SEQUENCE ${qualify(column.identity.sequence.schema, column.identity.sequence.name)}`, column.identity.sequence.comment) : [],
    ),
  ];
}

export function createView(view: ViewDef): string[] {
  const name = qualify(view.schema, view.name);
  const query = view.query.trim().replace(/;$/, "");
  return [
    `CREATE VIEW ${name}${withOptions(view.options)} AS\n${query};`,
    ...commentOn(`VIEW ${name}`, view.comment),
    ...view.columns.flatMap((column) => commentOn(`COLUMN ${name}.${quoteIdent(column.name)}`, column.comment)),
  ];
}

/** ONLY, as pg_dump writes it: the table has no children (inheritance is refused upstream). */
export function addConstraint(constraint: ConstraintDef): string[] {
  const table = qualify(constraint.schema, constraint.table);
  return [
    `ALTER TABLE ONLY ${table} ADD CONSTRAINT ${quoteIdent(constraint.name)} ${constraint.definition};`,
    ...commentOn(`CONSTRAINT ${quoteIdent(constraint.name)} ON ${table}`, constraint.comment),
    ...commentOn(`INDEX ${qualify(constraint.schema, constraint.name)}`, constraint.indexComment),
  ];
}

export function createIndex(index: IndexDef): string[] {
  return [`${index.definition};`, ...commentOn(`INDEX ${qualify(index.schema, index.name)}`, index.comment)];
}

const TRIGGER_STATE: Record<string, string | undefined> = { D: "DISABLE", R: "ENABLE REPLICA", A: "ENABLE ALWAYS" };

export function createTrigger(trigger: TriggerDef): string[] {
  const table = qualify(trigger.schema, trigger.table);
  const state = TRIGGER_STATE[trigger.enabled];
  return [
    `${trigger.definition};`,
    ...(state === undefined ? [] : [`ALTER TABLE ${table} ${state} TRIGGER ${quoteIdent(trigger.name)};`]),
    ...commentOn(`TRIGGER ${quoteIdent(trigger.name)} ON ${table}`, trigger.comment),
  ];
}

export function copyStatements(table: TableDef): { columns: string[]; copyIn: string; copyOut: string } {
  const columns = table.columns.filter((column) => !column.generated).map((column) => quoteIdent(column.name));
  // A table without columns still has rows; COPY takes no column list then, as `()` is a syntax error.
  const name = qualify(table.schema, table.name);
  const target = columns.length === 0 ? name : `${name} (${columns.join(", ")})`;
  return { columns, copyIn: `COPY ${target} FROM stdin;`, copyOut: `COPY ${target} TO STDOUT` };
}

export function setval(schema: string, name: string, lastValue: string, isCalled: boolean): string {
  return `SELECT pg_catalog.setval(${quoteLiteral(qualify(schema, name))}, ${lastValue}, ${isCalled});`;
}
