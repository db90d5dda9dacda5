import { FleetError } from '../errors/index.js';
import type { RecordStore } from '../store/types.js';

/**
 * Windows folder names ignore case: campaigns `Paris` and `paris` would share one staging folder on every
 * workstation (and overwrite each other's profiles and backups). A new campaign whose name differs from an existing
 * one only by case is refused at import; re-importing into the very same name is fine.
 */
export async function assertNoCaseClash(store: RecordStore, name: string): Promise<void> {
  const lower = name.toLowerCase();
  const clash = (await store.listCampaigns()).find((c) => c.name !== name && c.name.toLowerCase() === lower);
  if (clash) {
    throw new FleetError(
      'FR_ERR_CAMPAIGN_NAME_INVALID',
      `campaign name "${name}" differs only by case from the existing campaign "${clash.name}": on Windows both ` +
        'would use the same staging folder; choose another name or import into the existing campaign',
    );
  }
}
