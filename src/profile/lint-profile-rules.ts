import type { ServiceBinding } from './lint-mapping-rules.js';
import { isPlaceholder, type LintContext } from './lint-types.js';
import { findEntry, findSection, type PrfEntry, type PrfSection } from './parse-prf.js';
import { decodeRpcFlags, parsePtLong, ROH_AUTH_SCHEME } from './rpc-flags.js';

const GENERAL_KEYS = new Set([
  'custom',
  'profilename',
  'defaultprofile',
  'overwriteprofile',
  'modifydefaultprofileifpresent',
  'backupprofile',
  'defaultstore',
]);

/** `[General]` (reference/prf-format.md §1.2, §7.3–7.4). */
export function lintGeneral(ctx: LintContext): void {
  const general = findSection(ctx.prf, 'General');
  if (!general) {
    ctx.report(
      1,
      'warning',
      'general-missing',
      'no [General] section: profile name and overwrite behaviour are left to Outlook',
    );
    return;
  }
  for (const entry of general.entries) {
    if (!GENERAL_KEYS.has(entry.key.toLowerCase())) {
      ctx.report(entry.line, 'info', 'general-unknown-key', `${entry.key} is not a [General] key known to this linter`);
    }
  }
  const overwrite = findEntry(general, 'OverwriteProfile');
  if (overwrite && !isPlaceholder(overwrite.value) && !/^(yes|no|append)$/i.test(overwrite.value)) {
    ctx.report(
      overwrite.line,
      'error',
      'general-value',
      `OverwriteProfile=${overwrite.value}: expected Yes, No or Append`,
    );
  }
  checkChoice(ctx, findEntry(general, 'DefaultProfile'), /^(yes|no)$/i, 'Yes or No');
  checkChoice(ctx, findEntry(general, 'ModifyDefaultProfileIfPresent'), /^(true|false)$/i, 'TRUE or FALSE');
  checkChoice(ctx, findEntry(general, 'BackupProfile'), /^(yes|no|true|false)$/i, 'No (or False)');
  const isDefault = findEntry(general, 'DefaultProfile');
  if (isDefault && /^no$/i.test(isDefault.value) && overwrite && /^yes$/i.test(overwrite.value)) {
    ctx.report(
      isDefault.line,
      'warning',
      'general-overwrite-not-default',
      'DefaultProfile=No with OverwriteProfile=Yes: Microsoft warns of unexpected results',
    );
  }
  const store = findEntry(general, 'DefaultStore');
  if (store && !isPlaceholder(store.value) && !findEntry(findSection(ctx.prf, 'Service List'), store.value)) {
    ctx.report(store.line, 'error', 'default-store', `DefaultStore=${store.value} is not listed in [Service List]`);
  }
}

function checkChoice(ctx: LintContext, entry: PrfEntry | undefined, allowed: RegExp, expected: string): void {
  if (entry && !isPlaceholder(entry.value) && !allowed.test(entry.value)) {
    ctx.report(entry.line, 'warning', 'general-value', `${entry.key}=${entry.value}: expected ${expected}`);
  }
}

const RPC_KEYS = ['RPCoverHTTPflags', 'RPCProxyServer', 'RPCProxyPrincipalName', 'RPCProxyAuthScheme'];

/** RPC-over-HTTP consistency in every value section that holds RPC keys (reference §2, §7.6–7.10). */
export function lintRpc(ctx: LintContext, bindings: readonly ServiceBinding[]): void {
  const mappingSections = new Set(bindings.map((binding) => binding.mapping));
  for (const section of ctx.prf.sections) {
    if (mappingSections.has(section) || section.name.toLowerCase() === 'exchange global section') continue;
    if (RPC_KEYS.some((key) => findEntry(section, key))) lintRpcSection(ctx, section);
  }
}

/** `[ServiceEGS1]` and the Exchange service both carry MailboxName/HomeServer: different values mean two mailboxes. */
export function lintExchangeConsistency(ctx: LintContext, bindings: readonly ServiceBinding[]): void {
  const egs = bindings.find((b) => b.mappingName.toLowerCase() === 'exchange global section')?.valueSection;
  const msems = bindings.find((b) => b.mappingName.toLowerCase() === 'microsoft exchange server')?.valueSection;
  if (!egs || !msems) return;
  for (const section of [egs, msems]) lintHomeServer(ctx, findEntry(section, 'HomeServer'));
  for (const key of ['MailboxName', 'HomeServer']) {
    const global = findEntry(egs, key);
    const service = findEntry(msems, key);
    if (global && service && global.value.toLowerCase() !== service.value.toLowerCase()) {
      ctx.report(service.line, 'warning', 'exchange-mismatch', `${key} differs from [${egs.name}] line ${global.line}`);
    }
  }
}

/**
 * A NetBIOS HomeServer (no dot) only resolves inside the LAN; over RPC over HTTP the proxy must reach it by name:
 * the FQDN of the Exchange 2003 back-end, or of the Exchange 2010 RPC Client Access server / CAS array.
 */
function lintHomeServer(ctx: LintContext, entry: PrfEntry | undefined): void {
  if (!entry || entry.value === '' || isPlaceholder(entry.value) || entry.value.includes('.')) return;
  ctx.report(
    entry.line,
    'warning',
    'home-server-netbios',
    `HomeServer ${entry.value} is a NetBIOS name: use the FQDN (Exchange 2003 back-end; 2010 RPC Client Access server or CAS array)`,
  );
}

function lintRpcSection(ctx: LintContext, section: PrfSection): void {
  const flagsEntry = findEntry(section, 'RPCoverHTTPflags');
  const proxy = findEntry(section, 'RPCProxyServer');
  const principal = findEntry(section, 'RPCProxyPrincipalName');
  const scheme = findEntry(section, 'RPCProxyAuthScheme');
  if (!flagsEntry) {
    ctx.report(
      section.line,
      'warning',
      'rpc-flags-missing',
      `[${section.name}] sets RPC proxy keys without RPCoverHTTPflags`,
    );
    return;
  }
  if (isPlaceholder(flagsEntry.value)) return;
  const value = parsePtLong(flagsEntry.value);
  if (value === undefined) {
    ctx.report(flagsEntry.line, 'error', 'value-type', `RPCoverHTTPflags=${flagsEntry.value} is not a number`);
    return;
  }
  noteDecimal(ctx, flagsEntry);
  const flags = decodeRpcFlags(value);
  const at = flagsEntry.line;
  if (!flags.useRoh)
    ctx.report(at, 'error', 'rpc-flags', 'bit 0x1 (connect using HTTP) is not set: the proxy settings do nothing');
  if (flags.unknownBits & 0x10) ctx.report(at, 'error', 'rpc-flags', 'bit 0x10 is undocumented: never set it');
  if (flags.unknownBits & ~0x10) {
    ctx.report(at, 'error', 'rpc-flags', `undocumented bits 0x${(flags.unknownBits & ~0x10).toString(16)} are set`);
  }
  if (flags.mutualAuth && !flags.ssl)
    ctx.report(at, 'error', 'rpc-flags', 'mutual authentication (0x4) without SSL (0x2)');
  if (flags.mutualAuth && !principal?.value) {
    ctx.report(at, 'error', 'rpc-principal', 'mutual authentication (0x4) without RPCProxyPrincipalName');
  }
  if (principal?.value && !isPlaceholder(principal.value)) {
    if (!flags.mutualAuth)
      ctx.report(
        principal.line,
        'warning',
        'rpc-principal',
        'principal name set but mutual authentication (0x4) is off',
      );
    if (!/^msstd:(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(principal.value)) {
      ctx.report(
        principal.line,
        'error',
        'rpc-principal',
        `${principal.value}: expected msstd:<FQDN> or msstd:*.<domain>`,
      );
    }
  }
  lintScheme(ctx, scheme, flags.ssl);
  lintProxy(ctx, proxy, flags.useRoh, section);
}

function lintScheme(ctx: LintContext, scheme: PrfEntry | undefined, ssl: boolean): void {
  if (!scheme || isPlaceholder(scheme.value)) return;
  const value = parsePtLong(scheme.value);
  if (value === undefined) {
    ctx.report(
      scheme.line,
      'error',
      'value-type',
      `RPCProxyAuthScheme=${scheme.value} is not a number (0x0001 Basic, 0x0002 NTLM)`,
    );
    return;
  }
  noteDecimal(ctx, scheme);
  if (value === ROH_AUTH_SCHEME.basic && !ssl) {
    ctx.report(scheme.line, 'error', 'rpc-auth', 'Basic authentication without SSL (0x2): Outlook will not send it');
  } else if (value === ROH_AUTH_SCHEME.negotiate) {
    ctx.report(
      scheme.line,
      'warning',
      'rpc-auth',
      "Negotiate (0x10) is not on Microsoft's list for this property; support is unverified",
    );
  } else if (value !== ROH_AUTH_SCHEME.basic && value !== ROH_AUTH_SCHEME.ntlm) {
    ctx.report(
      scheme.line,
      'error',
      'rpc-auth',
      `RPCProxyAuthScheme=${scheme.value}: expected 0x0001 (Basic) or 0x0002 (NTLM)`,
    );
  }
}

function lintProxy(ctx: LintContext, proxy: PrfEntry | undefined, useRoh: boolean, section: PrfSection): void {
  if (!proxy?.value) {
    if (useRoh)
      ctx.report(proxy?.line ?? section.line, 'error', 'rpc-proxy', 'RPC over HTTP is on but RPCProxyServer is empty');
    return;
  }
  if (isPlaceholder(proxy.value)) return;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(proxy.value)) {
    ctx.report(proxy.line, 'error', 'rpc-proxy', `${proxy.value}: host name only, without http:// or https://`);
  } else if (/:\d*$/.test(proxy.value)) {
    ctx.report(proxy.line, 'error', 'rpc-proxy', `${proxy.value}: Outlook refuses a port in the proxy name`);
  } else if (!/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/.test(proxy.value)) {
    ctx.report(proxy.line, 'error', 'rpc-proxy', `${proxy.value}: not a host name`);
  }
}

function noteDecimal(ctx: LintContext, entry: PrfEntry): void {
  if (!/^0x/i.test(entry.value)) {
    ctx.report(entry.line, 'info', 'long-decimal', `${entry.key} in decimal: every known sample writes 0x hex`);
  }
}
