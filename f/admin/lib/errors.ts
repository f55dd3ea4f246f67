// Typed errors of the library. Each says what failed, on which object, and what the user can do;
// the scripts let them propagate so that Windmill marks the job failed and fires on_failure.

/** A problem the user can fix (bad input, missing resource, refused operation). */
export class BackupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The database holds objects this version cannot reproduce: a backup would be silently incomplete. */
export class UnsupportedObjectsError extends BackupError {
  constructor(readonly objects: readonly string[]) {
    super(
      `The database has ${objects.length} object(s) this backup cannot reproduce yet, so no backup was written ` +
        `(an incomplete backup would look complete): ${objects.slice(0, 50).join("; ")}` +
        (objects.length > 50 ? `; and ${objects.length - 50} more` : ""),
    );
  }
}

/** An archive or manifest failed an integrity check. */
export class ArchiveIntegrityError extends BackupError {}

/** A restore was refused before anything changed. */
export class RestoreRefusedError extends BackupError {}
