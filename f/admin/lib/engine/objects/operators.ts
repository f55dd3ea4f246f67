// The operators family: access methods, operators, operator families and operator classes. Each is
// read from the catalog with its comment and written back as pg_dump would restore it: families
// first (with their loose members), then the classes with the members they own; listed for an
// in-place restore, classes before families before operators.
import type pg from "pg";
import type { Comments } from "../comments.ts";
import type { InPlaceScope, OwnObject } from "../kinds.ts";
import { node, owned, ref, type CatalogRow, type DumpNode } from "../plan/nodes.ts";
import { qualify, quoteIdent } from "../quote.ts";
import { CATALOG, commentOn, notExtensionMember, qualifiedName, rows, userSchema } from "../sql.ts";

export interface AccessMethodDef {
  oid: number;
  name: string;
  /** pg_am.amtype: i an index method, t a table method. */
  type: "i" | "t";
  /** regproc of its handler. */
  handler: string;
  comment?: string;
}

export interface OperatorDef {
  oid: number;
  schema: string;
  name: string;
  /** format_type of the operands; no left operand for a prefix operator. */
  left?: string;
  right: string;
  /** regproc of the function behind it, and of its estimators. */
  function: string;
  restrict?: string;
  join?: string;
  /** `OPERATOR("s".<>)`, as CREATE OPERATOR names another operator. */
  commutator?: string;
  negator?: string;
  hashes: boolean;
  merges: boolean;
  comment?: string;
}

/** One operator or support function of a family or class, in the form CREATE OPERATOR CLASS and ALTER OPERATOR FAMILY take. */
export interface OperatorMember {
  /** pg_amop or pg_amproc, and the row's OID: the catalog rows the statement creates. */
  classId: number;
  oid: number;
  clause: string;
}

export interface OperatorFamilyDef {
  oid: number;
  schema: string;
  name: string;
  method: string;
  /** Members that belong to the family itself (ALTER OPERATOR FAMILY … ADD), not to one of its classes. */
  members: OperatorMember[];
  comment?: string;
}

export interface OperatorClassDef {
  oid: number;
  schema: string;
  name: string;
  method: string;
  isDefault: boolean;
  /** format_type of the indexed type, and of what the index stores when it differs. */
  type: string;
  storage?: string;
  /** Quoted `schema.name` of its family. */
  family: string;
  members: OperatorMember[];
  comment?: string;
}

/** How an operator is named in the archive's object list and by DROP OPERATOR: `===(integer, integer)`. */
export function operatorSignature(name: string, left: string | undefined | null, right: string): string {
  return `${name}(${left ?? "NONE"}, ${right})`;
}

/** The name of a class or family in the object list: `int4_ops USING btree`. */
export function methodScopedName(name: string, method: string): string {
  return `${name} USING ${method}`;
}

/** Access methods made by CREATE ACCESS METHOD; the built-in ones and extensions' come with the server. */
export async function readAccessMethods(client: pg.ClientBase, comments: Comments): Promise<AccessMethodDef[]> {
  const found = await rows<AccessMethodDef>(
    client,
    `SELECT a.oid, a.amname AS name, a.amtype::text AS type, a.amhandler::pg_catalog.regproc::text AS handler
       FROM pg_catalog.pg_am a WHERE a.oid >= 16384 AND ${notExtensionMember("pg_am", "a.oid")}`,
  );
  return found.map((a) => ({ ...a, comment: comments.take(CATALOG.pg_am, a.oid) }));
}

/** `OPERATOR("s".op)` of an operator OID column, or NULL. */
const operatorReference = (column: string) =>
  `(SELECT pg_catalog.format('OPERATOR(%I.%s)', rn.nspname, r.oprname) FROM pg_catalog.pg_operator r
      JOIN pg_catalog.pg_namespace rn ON rn.oid = r.oprnamespace WHERE r.oid = ${column})`;

/**
 * Operators with a function. A shell (no function) exists only because another operator names it
 * as commutator or negator, and CREATE OPERATOR of that one makes it again, as pg_dump relies on.
 */
export async function readOperators(client: pg.ClientBase, comments: Comments): Promise<OperatorDef[]> {
  const found = await rows<{
    oid: number;
    schema: string;
    name: string;
    left: string | null;
    right: string;
    function: string;
    restrict: string | null;
    join: string | null;
    commutator: string | null;
    negator: string | null;
    hashes: boolean;
    merges: boolean;
  }>(
    client,
    `SELECT o.oid, n.nspname AS schema, o.oprname AS name,
            CASE WHEN o.oprleft <> 0 THEN pg_catalog.format_type(o.oprleft, NULL) END AS left,
            pg_catalog.format_type(o.oprright, NULL) AS right, o.oprcode::pg_catalog.regproc::text AS function,
            CASE WHEN o.oprrest <> 0 THEN o.oprrest::pg_catalog.regproc::text END AS restrict,
            CASE WHEN o.oprjoin <> 0 THEN o.oprjoin::pg_catalog.regproc::text END AS join,
            ${operatorReference("o.oprcom")} AS commutator, ${operatorReference("o.oprnegate")} AS negator,
            o.oprcanhash AS hashes, o.oprcanmerge AS merges
       FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
      WHERE o.oprcode <> 0 AND ${userSchema("n")} AND ${notExtensionMember("pg_operator", "o.oid")}`,
  );
  return found.map(({ left, restrict, join, commutator, negator, ...o }) => ({
    ...o,
    ...(left === null ? {} : { left }),
    ...(restrict === null ? {} : { restrict }),
    ...(join === null ? {} : { join }),
    ...(commutator === null ? {} : { commutator }),
    ...(negator === null ? {} : { negator }),
    comment: comments.take(CATALOG.pg_operator, o.oid),
  }));
}

/**
 * Operator families and classes, with their members. A member made by CREATE OPERATOR CLASS depends
 * on its class (internally); one added by ALTER OPERATOR FAMILY depends on the family only.
 */
export async function readOperatorClasses(client: pg.ClientBase, comments: Comments): Promise<{
  families: OperatorFamilyDef[];
  classes: OperatorClassDef[];
}> {
  const families = await rows<Omit<OperatorFamilyDef, "members">>(
    client,
    `SELECT f.oid, n.nspname AS schema, f.opfname AS name, a.amname AS method
       FROM pg_catalog.pg_opfamily f JOIN pg_catalog.pg_namespace n ON n.oid = f.opfnamespace
       JOIN pg_catalog.pg_am a ON a.oid = f.opfmethod
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_opfamily", "f.oid")}`,
  );
  const classes = await rows<Omit<OperatorClassDef, "members" | "storage"> & { storage: string | null }>(
    client,
    `SELECT c.oid, n.nspname AS schema, c.opcname AS name, a.amname AS method, c.opcdefault AS "isDefault",
            pg_catalog.format_type(c.opcintype, NULL) AS type,
            CASE WHEN c.opckeytype <> 0 THEN pg_catalog.format_type(c.opckeytype, NULL) END AS storage,
            ${qualifiedName("fn.nspname", "f.opfname")} AS family
       FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_namespace n ON n.oid = c.opcnamespace
       JOIN pg_catalog.pg_am a ON a.oid = c.opcmethod
       JOIN pg_catalog.pg_opfamily f ON f.oid = c.opcfamily JOIN pg_catalog.pg_namespace fn ON fn.oid = f.opfnamespace
      WHERE ${userSchema("n")} AND ${notExtensionMember("pg_opclass", "c.oid")}`,
  );
  const type = (column: string) => `CASE WHEN ${column} <> 0 THEN pg_catalog.format_type(${column}, NULL) ELSE 'NONE' END`;
  const owningClass = (catalog: string, oid: string) =>
    `(SELECT d.refobjid FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.${catalog}'::pg_catalog.regclass AND d.objid = ${oid}
         AND d.refclassid = 'pg_catalog.pg_opclass'::pg_catalog.regclass AND d.deptype = 'i' LIMIT 1)`;
  const members = await rows<{ classId: number; oid: number; family: number; owner: number | null; clause: string }>(
    client,
    `SELECT ${CATALOG.pg_amop} AS "classId", m.oid, m.amopfamily AS family, ${owningClass("pg_amop", "m.oid")} AS owner,
            pg_catalog.format('OPERATOR %s %I.%s(%s, %s)', m.amopstrategy, opn.nspname, op.oprname, ${type("m.amoplefttype")}, ${
      type("m.amoprighttype")
    })
              || CASE WHEN m.amoppurpose = 'o' THEN ' FOR ORDER BY ' || ${qualifiedName("sfn.nspname", "sf.opfname")} ELSE '' END AS clause,
            1 AS part, m.amopstrategy AS number, m.amoplefttype AS lefttype, m.amoprighttype AS righttype
       FROM pg_catalog.pg_amop m
       JOIN pg_catalog.pg_operator op ON op.oid = m.amopopr JOIN pg_catalog.pg_namespace opn ON opn.oid = op.oprnamespace
       LEFT JOIN pg_catalog.pg_opfamily sf ON sf.oid = m.amopsortfamily LEFT JOIN pg_catalog.pg_namespace sfn ON sfn.oid = sf.opfnamespace
      WHERE m.amopfamily = ANY($1::pg_catalog.oid[])
     UNION ALL
     SELECT ${CATALOG.pg_amproc}, m.oid, m.amprocfamily, ${owningClass("pg_amproc", "m.oid")},
            pg_catalog.format('FUNCTION %s (%s, %s) %s', m.amprocnum, ${type("m.amproclefttype")}, ${type("m.amprocrighttype")},
              m.amproc::pg_catalog.regprocedure::text),
            2, m.amprocnum, m.amproclefttype, m.amprocrighttype
       FROM pg_catalog.pg_amproc m WHERE m.amprocfamily = ANY($1::pg_catalog.oid[])
      ORDER BY part, number, lefttype, righttype`,
    [families.map((f) => f.oid)],
  );
  const member = ({ classId, oid, clause }: { classId: number; oid: number; clause: string }): OperatorMember => ({ classId, oid, clause });
  return {
    families: families.map((f) => ({
      ...f,
      members: members.filter((m) => m.family === f.oid && m.owner === null).map(member),
      comment: comments.take(CATALOG.pg_opfamily, f.oid),
    })),
    classes: classes.map(({ storage, ...c }) => ({
      ...c,
      ...(storage === null ? {} : { storage }),
      members: members.filter((m) => m.owner === c.oid).map(member),
      comment: comments.take(CATALOG.pg_opclass, c.oid),
    })),
  };
}

export function createAccessMethod(method: AccessMethodDef): string[] {
  const name = quoteIdent(method.name);
  return [
    `CREATE ACCESS METHOD ${name} TYPE ${method.type === "t" ? "TABLE" : "INDEX"} HANDLER ${method.handler};`,
    ...commentOn(`ACCESS METHOD ${name}`, method.comment),
  ];
}

/** An operator's own name is made of symbols only; its schema is quoted. */
export function operatorName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${name}`;
}

/** CREATE OPERATOR of a commutator or negator that does not exist yet leaves a shell that its own CREATE fills in. */
export function createOperator(operator: OperatorDef): string[] {
  const name = operatorName(operator.schema, operator.name);
  const options = [
    `FUNCTION = ${operator.function}`,
    ...(operator.left === undefined ? [] : [`LEFTARG = ${operator.left}`]),
    `RIGHTARG = ${operator.right}`,
    ...(operator.commutator === undefined ? [] : [`COMMUTATOR = ${operator.commutator}`]),
    ...(operator.negator === undefined ? [] : [`NEGATOR = ${operator.negator}`]),
    ...(operator.restrict === undefined ? [] : [`RESTRICT = ${operator.restrict}`]),
    ...(operator.join === undefined ? [] : [`JOIN = ${operator.join}`]),
    ...(operator.hashes ? ["HASHES"] : []),
    ...(operator.merges ? ["MERGES"] : []),
  ];
  return [
    `CREATE OPERATOR ${name} (\n    ${options.join(",\n    ")}\n);`,
    ...commentOn(`OPERATOR ${name} (${operator.left ?? "NONE"}, ${operator.right})`, operator.comment),
  ];
}

/** The family, then its loose members: its classes add theirs when they are created. */
export function createOperatorFamily(family: OperatorFamilyDef): string[] {
  const name = `${qualify(family.schema, family.name)} USING ${quoteIdent(family.method)}`;
  return [
    `CREATE OPERATOR FAMILY ${name};`,
    ...(family.members.length === 0
      ? []
      : [`ALTER OPERATOR FAMILY ${name} ADD\n    ${family.members.map((m) => m.clause).join(",\n    ")};`]),
    ...commentOn(`OPERATOR FAMILY ${name}`, family.comment),
  ];
}

/** CREATE OPERATOR CLASS needs at least one item: a class without members states its storage. */
export function createOperatorClass(opclass: OperatorClassDef): string[] {
  const name = `${qualify(opclass.schema, opclass.name)} USING ${quoteIdent(opclass.method)}`;
  const items = [
    ...(opclass.storage === undefined ? [] : [`STORAGE ${opclass.storage}`]),
    ...opclass.members.map((m) => m.clause),
  ];
  if (items.length === 0) items.push(`STORAGE ${opclass.type}`);
  return [
    `CREATE OPERATOR CLASS ${qualify(opclass.schema, opclass.name)}${opclass.isDefault ? " DEFAULT" : ""} FOR TYPE ${opclass.type} ` +
    `USING ${quoteIdent(opclass.method)} FAMILY ${opclass.family} AS\n    ${items.join(",\n    ")};`,
    ...commentOn(`OPERATOR CLASS ${name}`, opclass.comment),
  ];
}

/** Access methods, operators, and operator families (with their loose members) before their classes. */
export function operatorNodes(
  c: { accessMethods: AccessMethodDef[]; operators: OperatorDef[]; operatorFamilies: OperatorFamilyDef[];
    operatorClasses: OperatorClassDef[] },
): DumpNode[] {
  const { pg_am, pg_opclass, pg_operator, pg_opfamily } = CATALOG;
  return [
    ...c.accessMethods.map((a) =>
      node("access method", `${pg_am}:${a.oid}`, quoteIdent(a.name), createAccessMethod(a), [[pg_am, a.oid]], [
        ref("access method", "", a.name),
      ])
    ),
    ...c.operators.map((o) =>
      owned(
        node("operator", `${pg_operator}:${o.oid}`, operatorName(o.schema, operatorSignature(o.name, o.left, o.right)), createOperator(o), [
          [pg_operator, o.oid],
        ], [ref("operator", o.schema, operatorSignature(o.name, o.left, o.right))]),
        `OPERATOR ${operatorName(o.schema, o.name)} (${o.left ?? "NONE"}, ${o.right})`,
      )
    ),
    ...c.operatorFamilies.map((f) =>
      owned(
        node("operator family", `${pg_opfamily}:${f.oid}`, `${qualify(f.schema, f.name)} ${f.method}`, createOperatorFamily(f), [[
          pg_opfamily,
          f.oid,
        ], ...f.members.map((m): CatalogRow => [m.classId, m.oid])], [
          ref("operator family", f.schema, methodScopedName(f.name, f.method)),
        ]),
        `OPERATOR FAMILY ${qualify(f.schema, f.name)} USING ${quoteIdent(f.method)}`,
      )
    ),
    ...c.operatorClasses.map((x) =>
      owned(
        node("operator class", `${pg_opclass}:${x.oid}`, `${qualify(x.schema, x.name)} ${x.method}`, createOperatorClass(x), [[pg_opclass,
          x.oid], ...x.members.map((m): CatalogRow => [m.classId, m.oid])], [
          ref("operator class", x.schema, methodScopedName(x.name, x.method)),
        ]),
        `OPERATOR CLASS ${qualify(x.schema, x.name)} USING ${quoteIdent(x.method)}`,
      )
    ),
  ];
}

/** A hand-made access method takes its classes and tables along. */
export async function listAccessMethods(client: pg.ClientBase): Promise<OwnObject[]> {
  return (await rows<{ name: string }>(
    client,
    `SELECT a.amname AS name FROM pg_catalog.pg_am a WHERE a.oid >= 16384 AND ${notExtensionMember("pg_am", "a.oid")} ORDER BY 1`,
  )).map(({ name }) => ({ kind: "access method", schema: "", name, drop: `DROP ACCESS METHOD IF EXISTS ${quoteIdent(name)} CASCADE` }));
}

/** Classes before their families, both before the operators they hold (which would take them along unreported). */
export async function listOperatorClasses(client: pg.ClientBase, scope: InPlaceScope): Promise<OwnObject[]> {
  const found = await rows<{ kind: "operator class" | "operator family"; keyword: string; schema: string; name: string; method: string }>(
    client,
    `SELECT 'operator class' AS kind, 'OPERATOR CLASS' AS keyword, n.nspname AS schema, c.opcname AS name, a.amname AS method
       FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_namespace n ON n.oid = c.opcnamespace JOIN pg_catalog.pg_am a ON a.oid = c.opcmethod
      WHERE n.nspname = ANY($1) AND ${notExtensionMember("pg_opclass", "c.oid")}
     UNION ALL
     SELECT 'operator family', 'OPERATOR FAMILY', n.nspname, f.opfname, a.amname
       FROM pg_catalog.pg_opfamily f JOIN pg_catalog.pg_namespace n ON n.oid = f.opfnamespace JOIN pg_catalog.pg_am a ON a.oid = f.opfmethod
      WHERE n.nspname = ANY($1) AND ${notExtensionMember("pg_opfamily", "f.oid")}
      ORDER BY 1, 3, 4, 5`,
    [scope.inside],
  );
  return found.map((c) => ({
    kind: c.kind,
    schema: c.schema,
    name: methodScopedName(c.name, c.method),
    drop: `DROP ${c.keyword} IF EXISTS ${qualify(c.schema, c.name)} USING ${quoteIdent(c.method)} CASCADE`,
  }));
}

/** Shell operators (only named as another's commutator or negator) are made again by that one's CREATE. */
export async function listOperators(client: pg.ClientBase, scope: InPlaceScope): Promise<OwnObject[]> {
  const operators = await rows<{ schema: string; name: string; left: string | null; right: string }>(
    client,
    `SELECT n.nspname AS schema, o.oprname AS name, CASE WHEN o.oprleft <> 0 THEN pg_catalog.format_type(o.oprleft, NULL) END AS left,
            pg_catalog.format_type(o.oprright, NULL) AS right
       FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
      WHERE n.nspname = ANY($1) AND o.oprcode <> 0 AND ${notExtensionMember("pg_operator", "o.oid")} ORDER BY 1, 2, 3, 4`,
    [scope.inside],
  );
  return operators.map((o) => ({
    kind: "operator",
    schema: o.schema,
    name: operatorSignature(o.name, o.left, o.right),
    drop: `DROP OPERATOR IF EXISTS ${operatorName(o.schema, o.name)} (${o.left ?? "NONE"}, ${o.right}) CASCADE`,
  }));
}
