// The plan of an archive, pure as pg_dump's is once its catalog is read: the nodes the family modules
// built are linked by their dependencies, selected by the filters, given their owners and grants,
// split into sections and ordered, and the tables whose rows are copied are put in loading order.
import { UnsupportedObjectsError } from "../../errors.ts";
import { ownerAndGrants, grants, type Access, type AccessByObject } from "../grants.ts";
import type { ObjectRef } from "../kinds.ts";
import type { TableData } from "../model.ts";
import { qualify } from "../quote.ts";
import { linkDependencies } from "./link.ts";
import type { DumpNode } from "./nodes.ts";
import { DependencyCycleError, dependencyOrder } from "./order.ts";
import { splitSections } from "./sections.ts";
import { selectNodes, type Filters } from "./select.ts";

export interface PlanInput {
  /** Every object's node, as the family modules built them from the catalog. */
  nodes: DumpNode[];
  /** pg_depend's edges: `classid:objid` → `classid:objid`. */
  depends: ReadonlyArray<readonly [string, string]>;
  /** Each extension member's `classid:objid` → the key of its extension's node. */
  members: ReadonlyMap<string, string>;
  /** `schema.name` of every table, view and sequence: what the table filters can name. */
  relations: ReadonlySet<string>;
  /** The object kinds the table filters name by their own name (relations). */
  relationKinds: ReadonlySet<string>;
  /**
   * The tables whose rows the archive can hold (neither partitioned nor foreign), keyed as their
   * nodes, with the keys of the tables their foreign keys reference.
   */
  tables: ReadonlyArray<{ key: string; schema: string; name: string; references: string[]; data: TableData }>;
}

export interface PlanOptions extends Filters {
  /** Tables (`schema.name`) whose definition is kept but whose rows are not. */
  excludeTableData?: string[];
  /** Owners, GRANTs (column grants too) and default privileges; the roles must exist where it is restored. */
  privileges?: boolean;
}

export interface Plan {
  /** Complete statements in dependency order, each ending in `;`. */
  preData: string[];
  postData: string[];
  /** What the archive creates, in the order it does. */
  objects: ObjectRef[];
  /** The kept tables' rows, referenced tables first where possible. */
  tables: TableData[];
  /** The owners and grants of the objects kept (the roles they name are the archive's). */
  accessUsed: Access[];
}

/** With `access`, the owners and grants of the objects kept are collected, and written when `privileges` asks. */
export function planArchive(input: PlanInput, options: PlanOptions, access?: AccessByObject): Plan {
  const nodes = input.nodes;
  linkDependencies(nodes, input.depends, input.members);
  const selected = selectNodes(nodes, input.relations, input.relationKinds, options);
  const accessUsed: Access[] = [];
  for (const n of selected) {
    const found = n.access === undefined ? undefined : access?.get(n.creates[0] ?? "");
    if (found === undefined || n.access === undefined) continue;
    accessUsed.push(found);
    if (options.privileges) n.statements = [...n.statements, ...ownerAndGrants(n.access, found)];
    for (const part of n.partGrants ?? []) {
      const partAccess = access?.get(part.row);
      if (partAccess === undefined) continue;
      accessUsed.push(partAccess);
      if (options.privileges) n.statements = [...n.statements, ...grants(part.grantOn, partAccess)];
    }
  }
  const { pre, post } = splitSections(selected);
  const preOrder = ordered(pre);
  const postOrder = ordered(post);
  const kept = new Set(selected.map((n) => n.key));
  const noData = new Set(options.excludeTableData ?? []);
  return {
    preData: preOrder.flatMap((n) => n.statements),
    postData: postOrder.flatMap((n) => n.statements),
    objects: [...preOrder, ...postOrder].flatMap((n) => n.refs),
    tables: dataOrder(input.tables.filter((t) => kept.has(t.key) && !noData.has(`${t.schema}.${t.name}`))).map((t) => t.data),
    accessUsed,
  };
}

function ordered(nodes: DumpNode[]): DumpNode[] {
  try {
    return dependencyOrder(nodes, "throw");
  } catch (error) {
    if (error instanceof DependencyCycleError) {
      throw new UnsupportedObjectsError(error.members.map((m) => `circular dependency through ${m}`));
    }
    throw error;
  }
}

/** Referenced tables first (cycles broken by name): foreign keys come after the data anyway. */
function dataOrder<T extends PlanInput["tables"][number]>(tables: T[]): T[] {
  return dependencyOrder(
    tables.map((t) => ({ key: t.key, rank: 0, sortName: qualify(t.schema, t.name), deps: t.references, table: t })),
    "break",
  ).map((n) => n.table);
}
