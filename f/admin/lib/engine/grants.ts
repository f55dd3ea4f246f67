// Owners and grants as SQL: an object's owner and its GRANTs written exactly as the source has them,
// and the REVOKEs and GRANTs that turn one set of privileges into another. Pure text, used by the
// plan (owners and grants of the objects kept) and by the restore (privileges put back in place).
import { quoteIdent } from "./quote.ts";

/** One GRANT: a role (null for PUBLIC), the privileges it has, and whether it may pass them on. */
export interface Grant {
  grantee: string | null;
  privileges: string[];
  grantable: boolean;
}

export interface Access {
  owner: string;
  /** null: the default privileges, nothing to write. */
  grants: Grant[] | null;
  /** Column grants of a table or view: column name → grants. */
  columns: Array<{ column: string; grants: Grant[] }>;
}

/** The database's own owner and GRANT … ON DATABASE, for a database a restore creates. */
export interface DatabaseAccess {
  owner: string;
  /** null: PostgreSQL's defaults (CONNECT and TEMPORARY for PUBLIC). */
  grants: Grant[] | null;
}

/** Owner and grants by catalog row, `classid:oid` as pg_depend names it. */
export type AccessByObject = Map<string, Access>;

/** How GRANT and REVOKE name a grantee. */
export const grantee = (grant: Grant) => (grant.grantee === null ? "PUBLIC" : quoteIdent(grant.grantee));

/**
 * The owner, then the grants exactly as the source has them: the defaults are revoked first (from
 * PUBLIC and the owner), so that what is granted afterwards is the whole list. `grantOn` is absent
 * for kinds that take no GRANT (collations, event triggers, publications).
 */
export function ownerAndGrants(target: { owner: string; grantOn?: string }, access: Access): string[] {
  return [`ALTER ${target.owner} OWNER TO ${quoteIdent(access.owner)};`,
    ...(target.grantOn === undefined ? [] : grants(target.grantOn, access))];
}

/** The object's grants and its columns', exactly as the source has them (see ownerAndGrants). */
export function grants(on: string, access: Access): string[] {
  const objectGrants = access.grants === null ? [] : [
    `REVOKE ALL ON ${on} FROM PUBLIC;`,
    `REVOKE ALL ON ${on} FROM ${quoteIdent(access.owner)};`,
    ...access.grants.map((g) => `GRANT ${g.privileges.join(", ")} ON ${on} TO ${grantee(g)}${g.grantable ? " WITH GRANT OPTION" : ""};`),
  ];
  const columns = access.columns.flatMap((c) =>
    c.grants.map((g) =>
      `GRANT ${g.privileges.map((p) => `${p} (${quoteIdent(c.column)})`).join(", ")} ON ${on} TO ${grantee(g)}${
        g.grantable ? " WITH GRANT OPTION" : ""
      };`
    )
  );
  return [...objectGrants, ...columns];
}

/**
 * The REVOKEs and GRANTs that turn the privileges `from` into `to` on an object that exists
 * already (an extension's member, a pg_catalog object, a schema a restore keeps), per grantee,
 * revokes first. A column's privileges take the column in each privilege.
 */
export function aclChanges(on: string, column: string | null, from: Grant[], to: Grant[]): string[] {
  const held = (grants: Grant[]) => {
    const byGrantee = new Map<string, Map<string, boolean>>();
    for (const g of grants) {
      const key = grantee(g);
      const privileges = byGrantee.get(key) ?? new Map<string, boolean>();
      for (const p of g.privileges) privileges.set(p, (privileges.get(p) ?? false) || g.grantable);
      byGrantee.set(key, privileges);
    }
    return byGrantee;
  };
  const before = held(from);
  const after = held(to);
  const list = (privileges: string[]) => privileges.map((p) => (column === null ? p : `${p} (${quoteIdent(column)})`)).join(", ");
  const revokes: string[] = [];
  const grantsToMake: string[] = [];
  for (const who of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const had = before.get(who) ?? new Map<string, boolean>();
    const has = after.get(who) ?? new Map<string, boolean>();
    const gone = [...had.keys()].filter((p) => !has.has(p));
    const optionGone = [...had.keys()].filter((p) => has.get(p) === false && had.get(p) === true);
    const plain = [...has.keys()].filter((p) => has.get(p) === false && !had.has(p));
    const withOption = [...has.keys()].filter((p) => has.get(p) === true && had.get(p) !== true);
    if (gone.length > 0) revokes.push(`REVOKE ${list(gone)} ON ${on} FROM ${who} CASCADE;`);
    if (optionGone.length > 0) revokes.push(`REVOKE GRANT OPTION FOR ${list(optionGone)} ON ${on} FROM ${who} CASCADE;`);
    if (plain.length > 0) grantsToMake.push(`GRANT ${list(plain)} ON ${on} TO ${who};`);
    if (withOption.length > 0) grantsToMake.push(`GRANT ${list(withOption)} ON ${on} TO ${who} WITH GRANT OPTION;`);
  }
  return [...revokes, ...grantsToMake];
}
