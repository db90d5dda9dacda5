import { type FieldResult, parseAccountName, parseEmail } from './field-rules.js';
import { checkHostName } from './host-rules.js';
import { countCharacters, describeControlCharacter, hasControlCharacter } from './text-rules.js';

/**
 * The forms a Windows user may be given in (pure): a logon name (`adupont`), a down-level logon name
 * (`CORP\adupont`) or a user principal name (`adupont@corp.example.com`), and the forms `mailbox` accepts.
 * Names Windows reserves for devices are refused: the staged file `<user>.prf` could not be created
 * ("Naming Files, Paths, and Namespaces", learn.microsoft.com/windows/win32/fileio/naming-a-file).
 */

const RESERVED = new Set([
  'CON',
  'PRN',
  'AUX',
  'NUL',
  ...Array.from({ length: 9 }, (_, i) => `COM${i + 1}`),
  ...Array.from({ length: 9 }, (_, i) => `LPT${i + 1}`),
  'COM¹',
  'COM²',
  'COM³',
  'LPT¹',
  'LPT²',
  'LPT³',
]);

/** The reason a name is a reserved device name (`CON`, `nul.txt`, `COM1`…), or undefined. */
export function reservedDeviceNameReason(name: string): string | undefined {
  const stem = (name.split('.')[0] ?? '').trimEnd().toUpperCase();
  return RESERVED.has(stem)
    ? `${stem} is a device name Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9)`
    : undefined;
}

/** NetBIOS domain name of a down-level logon name: 1-15 characters, no \ / : * ? " < > | (MS-ADTS). */
const NETBIOS_DOMAIN = /^[A-Za-z0-9][A-Za-z0-9!#$%&'()^_{}~.-]{0,14}$/;

const fail = <T>(reason: string): FieldResult<T> => ({ ok: false, reason });

/** `name`, `DOMAIN\name` or `name@upn.suffix`; the account part follows the logon-name rules. */
export function parseLogonName(value: string): FieldResult<string> {
  const slash = value.indexOf('\\');
  if (slash >= 0) {
    const domain = value.slice(0, slash);
    const account = value.slice(slash + 1);
    if (!NETBIOS_DOMAIN.test(domain)) {
      return fail('DOMAIN\\name: the domain must be a NetBIOS name of 1 to 15 letters, digits, . or -');
    }
    const parsed = parseAccountName(account);
    if (!parsed.ok) return fail(`DOMAIN\\name: ${parsed.reason}`);
    const reserved = reservedDeviceNameReason(account);
    return reserved ? fail(reserved) : { ok: true, value };
  }
  const at = value.lastIndexOf('@');
  if (at >= 0) {
    const account = value.slice(0, at);
    const parsed = parseAccountName(account.replace(/@/g, '_'));
    if (!parsed.ok || account.includes('@'))
      return fail(`user principal name: ${parsed.ok ? 'one @ only' : parsed.reason}`);
    const reason = checkHostName(value.slice(at + 1), 1);
    return reason ? fail(`user principal name suffix: ${reason}`) : { ok: true, value };
  }
  const parsed = parseAccountName(value);
  if (!parsed.ok) return parsed;
  const reserved = reservedDeviceNameReason(value);
  return reserved ? fail(reserved) : parsed;
}

/** `/o=Org/ou=Exchange Administrative Group (…)/cn=Recipients/cn=adupont` (case-insensitive labels). */
const LEGACY_DN = /^\/o=[^/]+(?:\/ou=[^/]+)*(?:\/cn=[^/]+)+$/i;

/**
 * `mailbox`: an SMTP address or a legacyExchangeDN (both resolve to exactly one mailbox), or an account / alias
 * name (resolved by ambiguous name resolution, a prefix match: `adupont` also matches `adupont83`).
 */
export function parseMailbox(value: string, checkDomain?: (domain: string) => string | null): FieldResult<string> {
  if (value.startsWith('/')) {
    if (hasControlCharacter(value)) return fail(describeControlCharacter(value));
    if (countCharacters(value) > 256) return fail('legacyExchangeDN longer than 256 characters');
    if (!LEGACY_DN.test(value) || value.trim() !== value) {
      return fail('not a legacyExchangeDN (expected /o=Org/ou=…/cn=Recipients/cn=name)');
    }
    return { ok: true, value };
  }
  if (value.includes('@')) return checkDomain ? parseEmail(value.trim(), checkDomain) : parseEmail(value.trim());
  return parseAccountName(value);
}
