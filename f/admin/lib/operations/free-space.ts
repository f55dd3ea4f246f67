// The free-space check before a local backup: an estimate of the archive from the size of the
// tables' data (indexes are rebuilt, not stored) and a compression ratio, compared with what the
// disk has, so a backup fails at once with numbers instead of filling the disk halfway.
import { BackupError } from "../errors.ts";
import { megabytesText } from "../size.ts";

const mb = (bytes: number): string => `${megabytesText(bytes)} MB`;

export interface FreeSpaceInput {
  /** Heap and TOAST bytes of the tables whose rows the archive holds. */
  tableBytes: number;
  /** Archive bytes per byte of table data (settings.archive_size_ratio); 0 turns the check off. */
  ratio: number;
  freeBytes: number;
  location: string;
}

export function estimateArchiveBytes(tableBytes: number, ratio: number): number {
  return Math.ceil(tableBytes * ratio);
}

/** Throws when the estimate does not fit; returns the estimate otherwise. */
export function checkFreeSpace({ tableBytes, ratio, freeBytes, location }: FreeSpaceInput): number {
  const estimate = estimateArchiveBytes(tableBytes, ratio);
  if (estimate > freeBytes) {
    throw new BackupError(
      `Not enough free space in ${location}: ${mb(freeBytes)} free (${freeBytes} bytes), but the backup is estimated at ` +
        `${mb(estimate)} (${estimate} bytes: ${mb(tableBytes)} of table data × archive_size_ratio ${ratio}). Nothing was written. ` +
        "Free space there or give the volume more, lower the retention in f/admin/backup_settings, or, if your data compresses " +
        "better than that, lower archive_size_ratio there.",
    );
  }
  return estimate;
}
