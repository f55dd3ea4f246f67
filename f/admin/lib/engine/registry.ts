// Every object kind an archive can hold, with its handler, as Kysely keeps a visitor per node kind:
// typed Record<ObjectKind, KindHandler>, so a kind without its handler does not compile. The handler
// names the family module that reads, writes and lists the kind, says whether previews show it and
// whether the table filters name it, and how an in-place restore clears the target's own objects of
// that kind: listed by its family and dropped at its place in the drop order, or taken along by
// what it belongs to.
import type pg from "pg";
import type { InPlaceScope, ObjectKind, OwnObject } from "./kinds.ts";
import { listStatistics } from "./objects/constraints.ts";
import { listConversions } from "./objects/conversions.ts";
import { listEventTriggers, listLargeObjects, listPublications, listSchemas } from "./objects/database.ts";
import { listServers, listUserMappings, listWrappers } from "./objects/foreign-data.ts";
import { listAccessMethods, listOperatorClasses, listOperators } from "./objects/operators.ts";
import { listCasts, listLanguages, listRoutines, listTransforms } from "./objects/routines.ts";
import { listDefaultPrivileges } from "./objects/security.ts";
import { listRelations } from "./objects/tables.ts";
import { listTextSearch } from "./objects/text-search.ts";
import { listCollations, listTypes } from "./objects/types.ts";

/** Lists the target's own objects of some kinds (those of `scope.inside` for kinds that live in a schema). */
export type Lister = (client: pg.ClientBase, scope: InPlaceScope) => Promise<OwnObject[]>;

export type Family = "database" | "types" | "tables" | "constraints" | "routines" | "operators" | "conversions" | "text search"
  | "foreign data" | "security";

export interface KindHandler {
  /** The module under objects/ that reads, writes and lists it. */
  family: Family;
  /** Previews name it among what a restore creates or drops (an index follows its table). */
  shown: boolean;
  /** A relation: the table filters (include_tables, exclude_tables) name it by its own name. */
  relation: boolean;
  /**
   * An in-place restore drops the target's own: `order` places the kind in the drop order (a kind
   * goes before what would take it along unreported, and database-wide kinds before schemas dropped
   * whole), `list` finds them. Or they go `with` what they belong to.
   */
  inPlace: { order: number; list: Lister } | { with: string };
}

const kind = (family: Family, inPlace: KindHandler["inPlace"], traits: { shown?: boolean; relation?: boolean } = {}): KindHandler => ({
  family,
  inPlace,
  shown: traits.shown ?? false,
  relation: traits.relation ?? false,
});

export const KINDS: Record<ObjectKind, KindHandler> = {
  "default privileges": kind("security", { order: 1, list: listDefaultPrivileges }, { shown: true }),
  "large object": kind("database", { order: 2, list: listLargeObjects }),
  "event trigger": kind("database", { order: 3, list: listEventTriggers }),
  publication: kind("database", { order: 4, list: listPublications }),
  cast: kind("routines", { order: 5, list: listCasts }),
  "user mapping": kind("foreign data", { order: 6, list: listUserMappings }),
  "foreign server": kind("foreign data", { order: 7, list: listServers }),
  "foreign-data wrapper": kind("foreign data", { order: 8, list: listWrappers }),
  transform: kind("routines", { order: 9, list: listTransforms }, { shown: true }),
  language: kind("routines", { order: 10, list: listLanguages }, { shown: true }),
  "access method": kind("operators", { order: 11, list: listAccessMethods }, { shown: true }),
  schema: kind("database", { order: 12, list: listSchemas }, { shown: true }),
  "statistics object": kind("constraints", { order: 13, list: listStatistics }),
  "operator class": kind("operators", { order: 14, list: listOperatorClasses }, { shown: true }),
  "operator family": kind("operators", { order: 15, list: listOperatorClasses }, { shown: true }),
  operator: kind("operators", { order: 16, list: listOperators }, { shown: true }),
  view: kind("tables", { order: 17, list: listRelations }, { shown: true, relation: true }),
  "materialized view": kind("tables", { order: 18, list: listRelations }, { shown: true, relation: true }),
  table: kind("tables", { order: 19, list: listRelations }, { shown: true, relation: true }),
  "foreign table": kind("tables", { order: 19, list: listRelations }, { shown: true, relation: true }),
  sequence: kind("tables", { order: 20, list: listRelations }, { shown: true, relation: true }),
  function: kind("routines", { order: 21, list: listRoutines }, { shown: true }),
  procedure: kind("routines", { order: 21, list: listRoutines }, { shown: true }),
  aggregate: kind("routines", { order: 21, list: listRoutines }, { shown: true }),
  type: kind("types", { order: 22, list: listTypes }, { shown: true }),
  domain: kind("types", { order: 22, list: listTypes }, { shown: true }),
  "text search configuration": kind("text search", { order: 23, list: listTextSearch }),
  "text search dictionary": kind("text search", { order: 24, list: listTextSearch }),
  "text search parser": kind("text search", { order: 25, list: listTextSearch }, { shown: true }),
  "text search template": kind("text search", { order: 26, list: listTextSearch }, { shown: true }),
  collation: kind("types", { order: 27, list: listCollations }, { shown: true }),
  conversion: kind("conversions", { order: 28, list: listConversions }, { shown: true }),
  extension: kind("database", { with: "the archive's CREATE EXTENSION IF NOT EXISTS, which keeps an installed one" }),
  constraint: kind("constraints", { with: "its table or domain" }),
  index: kind("constraints", { with: "its table" }),
  trigger: kind("constraints", { with: "its table" }),
  rule: kind("constraints", { with: "its table" }),
  policy: kind("security", { with: "its table" }),
};

/** The object kinds the table filters name by their own name. */
export const RELATION_KINDS: ReadonlySet<ObjectKind> = new Set((Object.keys(KINDS) as ObjectKind[]).filter((k) => KINDS[k].relation));

/**
 * The target's own objects, everything an in-place restore drops, in the order it drops them; each
 * family's lister runs once. Schemas are dropped whole unless the archive has them or an extension
 * lives in them; in those, objects are dropped one by one.
 */
export async function listOwnObjects(client: pg.ClientBase, scope: InPlaceScope): Promise<OwnObject[]> {
  const order = (k: ObjectKind) => {
    const inPlace = KINDS[k].inPlace;
    return "order" in inPlace ? inPlace.order : Number.POSITIVE_INFINITY;
  };
  const listers = new Set(Object.values(KINDS).flatMap((h) => ("list" in h.inPlace ? [h.inPlace.list] : [])));
  const found: OwnObject[] = [];
  for (const list of listers) found.push(...(await list(client, scope)));
  return found.sort((a, b) => order(a.kind) - order(b.kind));
}
