import type { UserSpec } from '../csv/user-spec.js';
import type { Stage, UserState } from '../rollout/states.js';
import type { StoredError, UserRecord, UserTransition } from './types.js';

/**
 * User record ⇄ Redis hash + spec string. Short field names and values ≤ 64 bytes keep the hash a listpack, and
 * the spec (stored apart, without the fields kept in the hash) keeps a user well under the 2 KB budget.
 *
 *   un username · dn displayName · ln line · sh specHash
 *   s state · r run · at attempts · h host · si site · fa firstAttemptAt · na nextAttemptAt
 *   e lastError JSON · ec lastError code (indexed) · cc its cause code (indexed too) · ck checksum · bk backup
 *   ov officeVersion · sg stage of the last step (apply | rollback) · pr why the deploy gate parks the user
 *   im the import that queued the user's current run (its settings are that import's) · oh `<run>:<since>` of a step on the workstation right now (kept across a new run until that step reports)
 *   wv the user's wave (assigned at import; its counters: store/wave-lua.ts)
 *   ca createdAt · ua updatedAt · fi finishedAt
 */
export function encodeSpec(spec: UserSpec): string {
  const { username: _u, displayName: _d, host: _h, site: _s, ...rest } = spec;
  return JSON.stringify(rest);
}

export function decodeUser(
  campaign: string,
  userKey: string,
  hash: Record<string, string>,
  specJson: string | null | undefined,
): UserRecord | undefined {
  if (hash['s'] === undefined) return undefined;
  const username = hash['un'] ?? '';
  const displayName = hash['dn'];
  const host = hash['h'];
  const site = hash['si'];
  // Skipped rows have no valid spec: only the username is known.
  const spec = {
    ...(JSON.parse(specJson ?? '{}') as Partial<UserSpec>),
    username,
    ...(displayName !== undefined && { displayName }),
    ...(host !== undefined && { host }),
    ...(site !== undefined && { site }),
  } as UserSpec;
  return {
    campaign,
    userKey,
    username,
    ...(displayName !== undefined && { displayName }),
    line: toNumber(hash['ln']) ?? 0,
    spec,
    specHash: hash['sh'] ?? '',
    state: hash['s'] as UserState,
    run: toNumber(hash['r']) ?? 0,
    attempts: toNumber(hash['at']) ?? 0,
    ...(host !== undefined && { host }),
    ...(site !== undefined && { site }),
    ...optionalNumber('firstAttemptAt', hash['fa']),
    ...optionalNumber('nextAttemptAt', hash['na']),
    ...(hash['e'] !== undefined && { lastError: JSON.parse(hash['e']) as StoredError }),
    ...(hash['ck'] !== undefined && { checksum: hash['ck'] }),
    ...(hash['bk'] !== undefined && { backup: hash['bk'] }),
    ...(hash['ov'] !== undefined && { officeVersion: hash['ov'] }),
    ...(hash['sg'] !== undefined && { stage: hash['sg'] as Stage }),
    ...(hash['pr'] !== undefined && { parkedReason: hash['pr'] }),
    ...decodeOnHost(hash['oh']),
    ...optionalNumber('importNo', hash['im']),
    ...optionalNumber('wave', hash['wv']),
    createdAt: toNumber(hash['ca']) ?? 0,
    updatedAt: toNumber(hash['ua']) ?? 0,
    ...optionalNumber('finishedAt', hash['fi']),
  };
}

export interface EncodedPatch {
  readonly set: Record<string, string>;
  readonly del: string[];
}

/** Transition patch → hash fields to set and to delete (`null` clears, `undefined` leaves as is). */
export function encodePatch(patch: UserTransition['patch']): EncodedPatch {
  const set: Record<string, string> = {};
  const del: string[] = [];
  if (!patch) return { set, del };
  const put = (field: string, value: string | number | null | undefined): void => {
    if (value === undefined) return;
    if (value === null) del.push(field);
    else set[field] = String(value);
  };
  put('at', patch.attempts);
  put('fa', patch.firstAttemptAt);
  put('na', patch.nextAttemptAt);
  put('ck', patch.checksum);
  put('bk', patch.backup);
  put('ov', patch.officeVersion);
  put('sg', patch.stage);
  put('pr', patch.parkedReason);
  put(
    'oh',
    patch.onHost === undefined || patch.onHost === null ? patch.onHost : `${patch.onHost.run}:${patch.onHost.since}`,
  );
  if (patch.lastError === null) del.push('e', 'ec', 'cc');
  else if (patch.lastError !== undefined) {
    set['e'] = encodeError(patch.lastError);
    set['ec'] = patch.lastError.code;
    if (patch.lastError.cause !== undefined) set['cc'] = patch.lastError.cause;
    else del.push('cc');
  }
  return { set, del };
}

/** Messages are bounded so one bad stderr cannot blow the per-user budget. */
export function encodeError(error: StoredError): string {
  return JSON.stringify({ ...error, message: error.message.slice(0, 500) });
}

function decodeOnHost(value: string | undefined): { onHost?: { run: number; since: number } } {
  if (value === undefined) return {};
  const [run, since] = value.split(':').map(Number);
  return Number.isFinite(run) && Number.isFinite(since)
    ? { onHost: { run: run as number, since: since as number } }
    : {};
}

function toNumber(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

function optionalNumber<K extends string>(key: K, value: string | undefined): Partial<Record<K, number>> {
  const number = toNumber(value);
  return number === undefined ? {} : ({ [key]: number } as Record<K, number>);
}
