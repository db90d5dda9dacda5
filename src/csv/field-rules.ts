import { checkHostName } from './host-rules.js';
import { countCharacters, describeControlCharacter, hasControlCharacter } from './text-rules.js';
import type { OfficeVersion, ProxyAuth } from './user-spec.js';

/** Field parsers (pure). Each returns the parsed value or `{ reason }`. */
export type FieldResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const ok = <T>(value: T): FieldResult<T> => ({ ok: true, value });
const fail = <T>(reason: string): FieldResult<T> => ({ ok: false, reason });

const FORBIDDEN_NAME_CHARS = /["/\\[\]:;|=,+*?<>@]/;
const LEADING_OR_TRAILING_BLANK_OR_DOT = /^[\s.]|[\s.]$/u;
/** FORBIDDEN_NAME_CHARS as a table over ASCII, for the fast path. */
const FORBIDDEN_NAME_CODES = new Uint8Array(128);
for (const char of '"/\\[]:;|=,+*?<>@') FORBIDDEN_NAME_CODES[char.charCodeAt(0)] = 1;

/**
 * True when `value` is certainly a valid account name: 1–64 printable ASCII characters, none forbidden, no space or
 * dot at either end. Among printable ASCII, `\s` is only the space and each character counts once, so this accepts
 * exactly what the full rules below accept; anything else takes the full rules (and their messages).
 */
function isPlainAccountName(value: string): boolean {
  const length = value.length;
  if (length === 0 || length > 64) return false;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(length - 1);
  if (first === 0x20 || first === 0x2e || last === 0x20 || last === 0x2e) return false;
  if (first === 0x27 && last === 0x27 && length > 1) return false; // wrapped in ' quotes: the full rules say why
  for (let i = 0; i < length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || FORBIDDEN_NAME_CODES[code] === 1) return false;
  }
  return true;
}

/** Windows logon name rules (also used for `mailbox`). */
export function parseAccountName(value: string): FieldResult<string> {
  if (isPlainAccountName(value)) return ok(value);
  const length = countCharacters(value);
  if (length < 1 || length > 64) return fail(`must be 1 to 64 characters (has ${length})`);
  if (hasControlCharacter(value)) return fail(describeControlCharacter(value));
  const forbidden = FORBIDDEN_NAME_CHARS.exec(value);
  if (forbidden) return fail(`character ${forbidden[0]} is not allowed (none of " / \\ [ ] : ; | = , + * ? < > @)`);
  if (LEADING_OR_TRAILING_BLANK_OR_DOT.test(value)) return fail('must not start or end with a space or a dot');
  if (value.length > 1 && value.startsWith("'") && value.endsWith("'")) {
    return fail("must not be wrapped in ' quotes (the PRF reader strips them)");
  }
  return ok(value);
}

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

export function parseEmail(
  value: string,
  checkDomain: (domain: string) => string | null = (domain) => checkHostName(domain, 2),
): FieldResult<string> {
  if (hasControlCharacter(value)) return fail(describeControlCharacter(value));
  const at = value.lastIndexOf('@');
  if (at <= 0) return fail('not an e-mail address (expected name@domain)');
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return fail(`invalid local part "${local.slice(0, 64)}"`);
  if (value.length > 254) return fail('e-mail address longer than 254 characters');
  const reason = checkDomain(domain);
  return reason ? fail(`e-mail domain: ${reason}`) : ok(value);
}

/** Free text for display (reports): any printable character, bounded. */
export function parseFreeText(value: string, max: number): FieldResult<string> {
  if (hasControlCharacter(value)) return fail(describeControlCharacter(value));
  const length = countCharacters(value);
  if (length > max) return fail(`longer than ${max} characters (has ${length})`);
  return ok(value);
}

const SITE = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,63}$/u;

/** Site labels end up in queue names and filters: keep them to a safe alphabet. */
export function parseSite(value: string): FieldResult<string> {
  if (!SITE.test(value)) {
    return fail(
      'site must be 1 to 64 letters, digits, spaces, dots, hyphens or underscores, starting with a letter or digit',
    );
  }
  return ok(value);
}

const TRUE_WORDS = new Set(['yes', 'true', '1']);
const FALSE_WORDS = new Set(['no', 'false', '0']);

const YES: FieldResult<boolean> = Object.freeze({ ok: true, value: true });
const NO: FieldResult<boolean> = Object.freeze({ ok: true, value: false });

export function parseYesNo(value: string): FieldResult<boolean> {
  if (value === 'yes') return YES; // the spellings of nearly every row, without allocating
  if (value === 'no') return NO;
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return YES;
  if (FALSE_WORDS.has(word)) return NO;
  return fail('expected yes/no (also true/false, 1/0)');
}

const NTLM: FieldResult<ProxyAuth> = Object.freeze({ ok: true, value: 'ntlm' });
const BASIC: FieldResult<ProxyAuth> = Object.freeze({ ok: true, value: 'basic' });

export function parseAuth(value: string): FieldResult<ProxyAuth> {
  const word = value === 'ntlm' || value === 'basic' ? value : value.trim().toLowerCase();
  if (word === 'ntlm') return NTLM;
  if (word === 'basic') return BASIC;
  return fail('expected ntlm or basic');
}

const OFFICE_BY_NAME: Readonly<Record<string, OfficeVersion>> = {
  '2003': '11.0',
  '2007': '12.0',
  '2010': '14.0',
  '2013': '15.0',
  '2016': '16.0',
  '2019': '16.0',
  '2021': '16.0',
  '2024': '16.0',
  '365': '16.0',
  '11': '11.0',
  '11.0': '11.0',
  '12': '12.0',
  '12.0': '12.0',
  '14': '14.0',
  '14.0': '14.0',
  '15': '15.0',
  '15.0': '15.0',
  '16': '16.0',
  '16.0': '16.0',
};

/** A Map, not a property lookup: `constructor` or `__proto__` must not read Object.prototype. One result per name. */
const OFFICE_RESULTS: ReadonlyMap<string, FieldResult<OfficeVersion>> = new Map(
  Object.entries(OFFICE_BY_NAME).map(([name, version]) => [name, Object.freeze(ok(version))]),
);

export function parseOfficeVersion(value: string): FieldResult<OfficeVersion> {
  return (
    OFFICE_RESULTS.get(value) ??
    OFFICE_RESULTS.get(value.trim()) ??
    fail('expected 2003, 2007, 2010, 2013, 2016 (or 2019/2021/2024/365) or 11.0 to 16.0')
  );
}

const MSSTD_PREFIX = /^msstd:/i;

/** `msstd:` + FQDN, or `msstd:*.` + a domain of two labels or more. */
export function parsePrincipal(value: string): FieldResult<string> {
  const text = value.trim();
  if (!MSSTD_PREFIX.test(text)) return fail('must start with msstd: (e.g. msstd:mail.contoso.com)');
  const name = text.slice('msstd:'.length);
  const host = name.startsWith('*.') ? name.slice(2) : name;
  const reason = checkHostName(host, 2);
  if (reason) return fail(`principal: ${reason}`);
  return ok(`msstd:${name.toLowerCase()}`);
}
