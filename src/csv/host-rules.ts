/**
 * Host names (RFC 1123), NetBIOS names and IP literals (pure, no `net` module).
 */

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** One pass over the characters: true when `value` is certainly a valid host name (the common case). */
function isPlainHostName(value: string, minLabels: number): boolean {
  if (value.length === 0 || value.length > 253) return false;
  let labels = 1;
  let labelStart = 0;
  let allDigits = true;
  for (let i = 0; i <= value.length; i++) {
    const code = i < value.length ? value.charCodeAt(i) : 0x2e;
    if (code === 0x2e) {
      const length = i - labelStart;
      if (length === 0 || length > 63 || value.charCodeAt(i - 1) === 0x2d) return false;
      if (i < value.length) {
        labels++;
        labelStart = i + 1;
        allDigits = true;
      }
      continue;
    }
    const digit = code >= 0x30 && code <= 0x39;
    const letter = (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a);
    if (!digit) allDigits = false;
    if (!digit && !letter && !(code === 0x2d && i !== labelStart)) return false;
  }
  return labels >= minLabels && !(labels > 1 && allDigits);
}

/** `null` when valid, otherwise the reason. `minLabels` = 2 demands a fully-qualified name. */
export function checkHostName(value: string, minLabels = 1): string | null {
  if (isPlainHostName(value, minLabels)) return null;
  if (value.length === 0) return 'empty host name';
  if (value.length > 253) return 'host name longer than 253 characters';
  if (value.endsWith('.')) return 'host name ends with a dot';
  const labels = value.split('.');
  for (const label of labels) {
    if (label.length === 0) return 'host name has an empty label (two dots in a row?)';
    if (label.length > 63) return `label "${label.slice(0, 20)}…" is longer than 63 characters`;
    if (!LABEL.test(label)) {
      return `label "${label}" is not a valid RFC 1123 label (letters, digits and inner hyphens only)`;
    }
  }
  if (labels.length < minLabels) return 'not a fully-qualified domain name (needs a dot, e.g. mail.contoso.com)';
  if (labels.length > 1 && /^\d+$/.test(labels[labels.length - 1] ?? '')) {
    return 'the last label is all digits (not a host name; an IP address?)';
  }
  return null;
}

/** NetBIOS name (one label, ≤ 15 characters) or FQDN. */
export function checkServerName(value: string): string | null {
  const reason = checkHostName(value);
  if (reason) return reason;
  if (!value.includes('.') && value.length > 15) return 'a NetBIOS name has at most 15 characters (use the FQDN)';
  return null;
}

export function isIpv4(value: string): boolean {
  return IPV4.test(value);
}

export function isIpv6(value: string): boolean {
  let text = value;
  let groupsNeeded = 8;
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    if (!isIpv4(text.slice(lastColon + 1))) return false;
    text = `${text.slice(0, lastColon + 1)}0`;
    groupsNeeded = 7;
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const parse = (part: string): string[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    return groups.every((group) => HEX_GROUP.test(group)) ? groups : null;
  };
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (!head || !tail) return false;
  const count = head.length + tail.length;
  return halves.length === 2 ? count < groupsNeeded : count === groupsNeeded;
}

/** Workstation: host name (single label allowed) or IPv4/IPv6 literal (IPv6 without brackets). */
export function checkWorkstation(value: string): string | null {
  const first = value.charCodeAt(0) | 0x20;
  // Starts with a letter and has no colon: not an IP literal, only the host-name rules apply (the common case).
  if (first >= 0x61 && first <= 0x7a && !value.includes(':')) return checkHostName(value);
  if (isIpv4(value)) return null;
  if (value.startsWith('[') || value.endsWith(']')) {
    // `[::1]` is URL/known_hosts notation; as a host it would be looked up in DNS and retried for days.
    const inner = value.replace(/^\[|\]$/g, '');
    return isIpv6(inner)
      ? `write the IPv6 address without brackets (${inner}); the port comes from the campaign's ssh settings`
      : 'brackets are not part of a host name';
  }
  if (value.includes(':')) return isIpv6(value) ? null : 'not a valid IPv6 address';
  if (/^[\d.]+$/.test(value)) return 'not a valid IPv4 address';
  return checkHostName(value);
}
