// The kinds of object an archive creates, by the names its manifest records (`objects[].kind`). The
// list is closed: a manifest naming another kind is refused, and every kind has its handler in
// registry.ts (a kind without one does not compile). A name, once written into a manifest, is never
// changed: manifests of every version name their objects with these.
export const OBJECT_KINDS = [
  // database-level (objects/database.ts)
  "schema",
  "extension",
  "event trigger",
  "publication",
  "large object",
  // types (objects/types.ts)
  "collation",
  "type",
  "domain",
  // tables and columns (objects/tables.ts)
  "table",
  "foreign table",
  "sequence",
  "view",
  "materialized view",
  // constraints and indexes (objects/constraints.ts)
  "constraint",
  "index",
  "statistics object",
  "trigger",
  "rule",
  // routines (objects/routines.ts)
  "function",
  "procedure",
  "aggregate",
  "cast",
  "language",
  "transform",
  // operators (objects/operators.ts)
  "access method",
  "operator",
  "operator family",
  "operator class",
  // encodings (objects/conversions.ts)
  "conversion",
  // text search (objects/text-search.ts)
  "text search parser",
  "text search template",
  "text search dictionary",
  "text search configuration",
  // foreign data (objects/foreign-data.ts)
  "foreign-data wrapper",
  "foreign server",
  "user mapping",
  // security (objects/security.ts)
  "policy",
  "default privileges",
] as const;

export type ObjectKind = (typeof OBJECT_KINDS)[number];

/** One object the archive creates, named so that a restore and a preview can compare databases. */
export interface ObjectRef {
  kind: ObjectKind;
  /** Schema of the object ("" for objects of the database itself: schemas, extensions, casts…). */
  schema: string;
  /** Name as PostgreSQL shows it; functions carry their argument types: `f(integer, text)`. */
  name: string;
  /** For constraints, indexes, triggers, rules and policies: the table (or domain) they belong to, same schema. */
  table?: string;
}

/**
 * An object found in a database, named as an archive would name it; it may be of a kind no archive
 * holds (a subscription, a comment no reader claims), which a restore reports but cannot bring back.
 */
export interface NamedObject {
  kind: string;
  schema: string;
  name: string;
}

/** An object of a restore's target that an in-place restore drops, with the statement that drops it. */
export interface OwnObject extends ObjectRef {
  drop: string;
}

/** The target's schemas an in-place restore drops whole, and those it keeps, dropping their objects one by one. */
export interface InPlaceScope {
  whole: string[];
  inside: string[];
}
