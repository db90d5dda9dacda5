import { checkHostName } from './host-rules.js';

/**
 * RPC proxy as written by an admin: `https://host`, `http://host` or a bare `host` (= https).
 * Outlook's RPCProxyServer takes the host name only, so a port, path, query or user-info is refused, never dropped.
 */
export type ProxyParse = { ok: true; host: string; ssl: boolean } | { ok: false; reason: string };

export function parseProxyUrl(raw: string): ProxyParse {
  const value = raw.trim();
  if (value === '') return { ok: false, reason: 'empty proxy' };
  let rest = value;
  let ssl = true;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value);
  if (scheme) {
    const name = (scheme[1] ?? '').toLowerCase();
    if (name !== 'https' && name !== 'http') return { ok: false, reason: `scheme "${name}" is not http or https` };
    ssl = name === 'https';
    rest = value.slice(scheme[0].length);
  }
  if (rest.includes('@')) return { ok: false, reason: 'user-info (user@) is not allowed in the proxy' };
  const stop = rest.search(/[/?#]/);
  if (stop >= 0) {
    const tail = rest.slice(stop);
    if (tail !== '/') {
      const kind = tail.startsWith('/') ? 'path' : tail.startsWith('?') ? 'query' : 'fragment';
      return { ok: false, reason: `a ${kind} is not allowed in the proxy (host name only)` };
    }
    rest = rest.slice(0, stop);
  }
  if (rest.startsWith('[') || /:\d*$/.test(rest)) {
    return { ok: false, reason: 'a port is not allowed in the proxy (Outlook refuses host:port; 443 is implied)' };
  }
  const reason = checkHostName(rest);
  if (reason) return { ok: false, reason: `proxy host: ${reason}` };
  return { ok: true, host: rest.toLowerCase(), ssl };
}
