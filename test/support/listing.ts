// list_backups as the tests call it: positionally, as a worker does, in its default table view (the
// html view has its own test, test/backup_chart).
import { type ListingRow, main } from "../../f/admin/list_backups.ts";

export const listBackups = (...args: Parameters<typeof main>) => main(...args) as Promise<ListingRow[]>;
