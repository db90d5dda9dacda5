import type { CampaignFile } from '../config/campaign-schema.js';
import type { CampaignState } from '../rollout/states.js';
import type { CampaignRecord } from './types.js';
import { decodeHalt, decodeWaveProgress, encodeWaveRule } from './wave-codec.js';

/** Campaign record ⇄ Redis hash (settings as JSON; the validated campaign file holds no secret by construction). */

/** Fields only the state scripts change once the campaign exists. */
export const STATE_FIELDS = ['state', 'stateReason', 'createdAt', 'startedAt', 'finishedAt'] as const;
/** Fields only the import script writes (beginImport/progressImport/endImport/failImport). */
const IMPORT_STATES = ['writing', 'complete'] as const;

export function encodeCampaign(record: CampaignRecord): Record<string, string> {
  const fields: Record<string, string> = {
    name: record.name,
    state: record.state,
    stateReason: record.stateReason,
    csvFile: record.csvFile,
    csvSha256: record.csvSha256,
    settings: JSON.stringify(record.settings),
    imports: String(record.imports),
    totalUsers: String(record.totalUsers),
    rejectedRows: String(record.rejectedRows),
    createdAt: String(record.createdAt),
    updatedAt: String(record.updatedAt),
    // The waves' rule as the Lua enforcer reads it at every move ('' = no waves); where they stand is Lua's alone.
    wRule: encodeWaveRule(record.settings),
  };
  if (record.waves !== undefined) fields['wCount'] = String(record.waves.count);
  if (record.waves?.sizes !== undefined) fields['wSizes'] = record.waves.sizes.join(',');
  if (record.startedAt !== undefined) fields['startedAt'] = String(record.startedAt);
  if (record.finishedAt !== undefined) fields['finishedAt'] = String(record.finishedAt);
  return fields;
}

export function decodeCampaign(hash: Record<string, string>): CampaignRecord | undefined {
  if (hash['name'] === undefined || hash['state'] === undefined) return undefined;
  const startedAt = hash['startedAt'];
  const finishedAt = hash['finishedAt'];
  return {
    name: hash['name'],
    state: hash['state'] as CampaignState,
    stateReason: hash['stateReason'] ?? '',
    csvFile: hash['csvFile'] ?? '',
    csvSha256: hash['csvSha256'] ?? '',
    settings: JSON.parse(hash['settings'] ?? '{}') as CampaignFile,
    imports: Number(hash['imports'] ?? 0),
    totalUsers: Number(hash['totalUsers'] ?? 0),
    rejectedRows: Number(hash['rejectedRows'] ?? 0),
    createdAt: Number(hash['createdAt'] ?? 0),
    updatedAt: Number(hash['updatedAt'] ?? 0),
    ...(startedAt !== undefined && { startedAt: Number(startedAt) }),
    ...(finishedAt !== undefined && { finishedAt: Number(finishedAt) }),
    ...((IMPORT_STATES as readonly string[]).includes(hash['importState'] ?? '') && {
      importState: hash['importState'] as (typeof IMPORT_STATES)[number],
    }),
    ...(hash['importTotal'] !== undefined && { importTotal: Number(hash['importTotal']) }),
    ...(hash['importWritten'] !== undefined && { importWritten: Number(hash['importWritten']) }),
    ...(hash['importError'] !== undefined && { importError: hash['importError'] }),
    ...decodeWaveProgress(hash),
    ...decodeHalt(hash),
  };
}
