import { isPlaceholder, type LintContext } from './lint-types.js';
import {
  EXCHANGE_GLOBAL_SECTION,
  KNOWN_IDENTITIES,
  KNOWN_MAPPINGS,
  MAPPING_IDENTITY_KEYS,
  PROP_TYPES,
  type PropType,
  SERVICE_DIRECTIVES,
} from './mapping-blocks.js';
import { findEntry, findSection, type PrfSection } from './parse-prf.js';
import { parsePtLong } from './rpc-flags.js';

/** A value section (`[Service1]`, `[ServiceEGS1]`, `[Account1]`) and the mapping section that names its keys. */
export interface ServiceBinding {
  readonly valueSectionName: string;
  readonly valueSection: PrfSection | undefined;
  readonly mappingName: string;
  readonly mapping: PrfSection | undefined;
  readonly listLine: number;
}

const MAPPING_LINE = /^(PT_[A-Z0-9_]+)\s*,\s*0x([0-9a-f]{4}|[0-9a-f]{8})$/i;
const VALUE_SECTION_NAME = /^(Service(EGS)?\d+|Account\d+)$/i;
/** Keys whose loss breaks an RPC-over-HTTP profile: unmapped = error, not warning. */
const CRITICAL_KEYS = new Set([...(KNOWN_MAPPINGS.get(EXCHANGE_GLOBAL_SECTION.toLowerCase())?.keys() ?? [])]);
/** Value checks of these are done by the RPC rules, with better messages. */
const RPC_OWNED_KEYS = new Set(['rpcoverhttpflags', 'rpcproxyauthscheme']);
const PROP_TYPE_CODES: Record<PropType, number> = {
  PT_STRING8: 0x1e,
  PT_UNICODE: 0x1f,
  PT_LONG: 0x3,
  PT_BOOLEAN: 0xb,
  PT_BINARY: 0x102,
  PT_SYSTIME: 0x40,
};

/** Resolves `[Service List]` and `[Internet Account List]` into value/mapping section pairs. */
export function bindServices(ctx: LintContext): ServiceBinding[] {
  const bindings: ServiceBinding[] = [];
  for (const listName of ['Service List', 'Internet Account List']) {
    for (const entry of findSection(ctx.prf, listName)?.entries ?? []) {
      if (isPlaceholder(entry.value)) continue;
      bindings.push({
        valueSectionName: entry.key,
        valueSection: findSection(ctx.prf, entry.key),
        mappingName: entry.value,
        mapping: findSection(ctx.prf, entry.value),
        listLine: entry.line,
      });
    }
  }
  return bindings;
}

export function lintMappings(ctx: LintContext, bindings: readonly ServiceBinding[]): void {
  const listed = new Set(bindings.map((binding) => binding.valueSectionName.toLowerCase()));
  const mappingSections = new Set<PrfSection>();
  for (const binding of bindings) {
    if (!binding.mapping) {
      ctx.report(binding.listLine, 'error', 'mapping-section-missing', `no [${binding.mappingName}] mapping section`);
    } else {
      mappingSections.add(binding.mapping);
    }
  }
  for (const section of ctx.prf.sections) {
    if (KNOWN_MAPPINGS.has(section.name.toLowerCase())) mappingSections.add(section);
    if (VALUE_SECTION_NAME.test(section.name) && !listed.has(section.name.toLowerCase())) {
      ctx.report(
        section.line,
        'warning',
        'orphan-section',
        `[${section.name}] is not listed in [Service List] or [Internet Account List]`,
      );
    }
  }
  for (const section of mappingSections) lintMappingSection(ctx, section);
  for (const binding of bindings) {
    if (binding.valueSection && binding.mapping) lintValueSection(ctx, binding.valueSection, binding.mapping);
  }
}

function lintMappingSection(ctx: LintContext, section: PrfSection): void {
  const lower = section.name.toLowerCase();
  const known = KNOWN_MAPPINGS.get(lower);
  const identities = KNOWN_IDENTITIES.get(lower);
  for (const [key, expected] of identities ?? []) {
    const entry = findEntry(section, key);
    if (!entry) {
      ctx.report(section.line, 'error', 'mapping-identity', `[${section.name}] has no ${key} (expected ${expected})`);
    } else if (entry.value.toLowerCase() !== expected.toLowerCase()) {
      ctx.report(entry.line, 'error', 'mapping-identity', `${entry.key}=${entry.value}, expected ${expected}`);
    }
  }
  for (const entry of section.entries) {
    const key = entry.key.toLowerCase();
    if (MAPPING_IDENTITY_KEYS.has(key)) continue;
    const match = MAPPING_LINE.exec(entry.value);
    if (!match) {
      ctx.report(entry.line, 'error', 'mapping-syntax', `${entry.key}=${entry.value} is not "PT_TYPE,0xTAG"`);
      continue;
    }
    const type = (match[1] ?? '').toUpperCase() as PropType;
    const tag = Number.parseInt(match[2] ?? '0', 16);
    const wide = (match[2] ?? '').length === 8;
    if (!PROP_TYPES.includes(type)) {
      ctx.report(entry.line, 'warning', 'mapping-type', `${entry.key}: unknown property type ${type}`);
      continue;
    }
    const expected = known?.get(key);
    if (!expected) continue;
    const id = wide ? tag >>> 16 : tag;
    const typeOk = type === expected.type && (!wide || (tag & 0xffff) === PROP_TYPE_CODES[type]);
    if (!typeOk || id !== expected.id) {
      const want = `${expected.type},0x${expected.id.toString(16).padStart(4, '0')}`;
      ctx.report(entry.line, 'error', 'mapping-type-tag', `${entry.key}=${entry.value}, expected ${want}`);
    }
  }
}

function lintValueSection(ctx: LintContext, section: PrfSection, mapping: PrfSection): void {
  for (const entry of section.entries) {
    const key = entry.key.toLowerCase();
    if (SERVICE_DIRECTIVES.has(key)) continue;
    const mapped = findEntry(mapping, entry.key);
    if (!mapped || MAPPING_IDENTITY_KEYS.has(key)) {
      const critical = CRITICAL_KEYS.has(key);
      const where = critical && mapping.name.toLowerCase() !== EXCHANGE_GLOBAL_SECTION.toLowerCase();
      ctx.report(
        entry.line,
        critical ? 'error' : 'warning',
        'unmapped-key',
        `${entry.key} has no mapping line in [${mapping.name}]: Outlook ignores it silently${
          where ? ' (RPC over HTTP keys belong in the [ServiceEGS1] section)' : ''
        }`,
      );
      if (key === 'password' && entry.value !== '') {
        ctx.report(entry.line, 'warning', 'secret-in-prf', 'a password does not belong in a PRF');
      }
      continue;
    }
    if (key === 'password' && entry.value !== '') {
      ctx.report(entry.line, 'warning', 'secret-in-prf', 'a password in a PRF is readable by anyone with the file');
    }
    if (RPC_OWNED_KEYS.has(key) || isPlaceholder(entry.value)) continue;
    lintValueType(ctx, entry.line, entry.key, entry.value, mapped.value);
  }
}

function lintValueType(ctx: LintContext, line: number, key: string, value: string, mapping: string): void {
  const type = MAPPING_LINE.exec(mapping)?.[1]?.toUpperCase();
  if (type === 'PT_LONG' && parsePtLong(value) === undefined) {
    ctx.report(line, value === '' ? 'warning' : 'error', 'value-type', `${key}=${value} is not a number (PT_LONG)`);
  } else if (type === 'PT_BOOLEAN' && value !== '' && !/^(true|false|yes|no|0|1)$/i.test(value)) {
    ctx.report(line, 'warning', 'value-type', `${key}=${value} is not a boolean (PT_BOOLEAN)`);
  }
}
