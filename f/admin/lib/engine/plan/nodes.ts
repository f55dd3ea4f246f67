// The plan's unit, as pg_dump's DumpableObject is its: one statement group of the archive with its
// kind tag, the catalog rows it creates, the rows it needs beyond pg_depend, and how its owner and
// grants are named. The family modules (objects/) build them from what they read; the plan links,
// selects, sections and orders them.
import type { ObjectKind, ObjectRef } from "../kinds.ts";
import { qualify, quoteIdent } from "../quote.ts";
import { RANK, type NodeKind, type SortNode } from "./order.ts";

/** A catalog row as pg_depend and pg_description name it: the OID of its catalog and its own. */
export type CatalogRow = [classId: number, oid: number];

export interface DumpNode extends SortNode {
  kind: NodeKind;
  statements: string[];
  /** What the node creates that a manifest lists; none for attaches, refreshes, OWNED BY and the like. */
  refs: ObjectRef[];
  /** `classid:objid` of every catalog row this node creates. */
  creates: string[];
  /** `classid:objid` of catalog rows that must exist first, beyond pg_depend (a partition's parent). */
  needs: string[];
  /** How ALTER … OWNER TO and GRANT name the object (`TABLE "s"."t"`), for the privileges option. */
  access?: { owner: string; grantOn?: string };
  /** Parts with grants of their own but the node's owner (a table's identity sequences): `classid:objid` → GRANT target. */
  partGrants?: Array<{ row: string; grantOn: string }>;
  /**
   * A shell type: it stands in for the base type `typeKey` for the nodes that create one of `rows`
   * (the type's I/O functions, which the whole type needs in turn).
   */
  shellOf?: { typeKey: string; rows: string[] };
}

export const rowKey = ([classId, oid]: CatalogRow): string => `${classId}:${oid}`;

export function node(
  kind: NodeKind,
  key: string,
  label: string,
  statements: string[],
  creates: CatalogRow[],
  refs: ObjectRef[],
  needs: CatalogRow[] = [],
): DumpNode {
  return { kind, key, rank: RANK[kind], sortName: `${kind} ${label}`, deps: [], statements, refs, creates: creates.map(rowKey),
    needs: needs.map(rowKey) };
}

/** `grantOn` "" means GRANT names the object as ALTER … OWNER does; absent, the kind takes no GRANT. */
export function owned(n: DumpNode, owner: string, grantOn?: string, partGrants?: DumpNode["partGrants"]): DumpNode {
  return {
    ...n,
    access: { owner, ...(grantOn === undefined ? {} : { grantOn: grantOn === "" ? owner : grantOn }) },
    ...(partGrants === undefined || partGrants.length === 0 ? {} : { partGrants }),
  };
}

export function ref(kind: ObjectKind, schema: string, name: string, table?: string): ObjectRef {
  return table === undefined ? { kind, schema, name } : { kind, schema, name, table };
}

/** The sort label of an object that belongs to a table (a constraint, a trigger): `"s"."t" "name"`. */
export function memberLabel(schema: string, table: string, name: string): string {
  return `${qualify(schema, table)} ${quoteIdent(name)}`;
}
