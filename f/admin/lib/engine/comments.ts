// Comments (pg_description) read once for the whole schema and claimed by the reader of each object
// kind; what no reader claims is an object the archive would lose silently, so the backup refuses it.
/** Comments keyed by the object they describe; each reader claims its own. */
export class Comments {
  private readonly byObject = new Map<string, { text: string; what: string; classId: number; oid: number }>();
  private readonly claimed = new Set<string>();

  constructor(rowsRead: Array<{ classoid: number; objoid: number; objsubid: number; description: string; what: string }>) {
    for (const row of rowsRead) {
      this.byObject.set(`${row.classoid}:${row.objoid}:${row.objsubid}`, {
        text: row.description, what: row.what, classId: row.classoid, oid: row.objoid,
      });
    }
  }

  take(classId: number, oid: number, subId = 0): string | undefined {
    const key = `${classId}:${oid}:${subId}`;
    this.claimed.add(key);
    return this.byObject.get(key)?.text;
  }

  /** Comments on objects no reader wrote: the archive would lose them silently. */
  unclaimed(members: ReadonlyMap<string, number>): string[] {
    return [...this.byObject.entries()]
      .filter(([key, c]) => !this.claimed.has(key) && !members.has(`${c.classId}:${c.oid}`))
      .map(([, c]) => c.what)
      .sort();
  }
}
