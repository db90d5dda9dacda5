import type { Column } from './columns.js';
import {
  parseAuth,
  parseEmail,
  parseFreeText,
  parseOfficeVersion,
  parsePrincipal,
  parseSite,
  parseYesNo,
} from './field-rules.js';
import { checkServerName, checkWorkstation } from './host-rules.js';
import { parseMailbox } from './logon-name.js';
import { parseProxyUrl } from './proxy-url.js';
import type { DefaultCells } from './validate-row.js';

export interface DefaultCellProblem {
  readonly column: Column;
  readonly reason: string;
}

const reasonOf = (result: { ok: true } | { ok: false; reason: string }): string | undefined =>
  result.ok ? undefined : result.reason;
const orUndefined = (reason: string | null): string | undefined => reason ?? undefined;

/** The rule of each column a campaign default may fill (the same functions validateRow applies to a cell). */
const RULES: Partial<Record<Column, (value: string) => string | undefined>> = {
  email: (value) => reasonOf(parseEmail(value.trim())),
  display_name: (value) => reasonOf(parseFreeText(value.trim(), 256)),
  mailbox: (value) => reasonOf(parseMailbox(value)),
  exchange_server: (value) => orUndefined(checkServerName(value.trim().toLowerCase())),
  proxy: (value) => reasonOf(parseProxyUrl(value)),
  auth: (value) => reasonOf(parseAuth(value)),
  mutual_auth: (value) => reasonOf(parseYesNo(value)),
  principal: (value) => reasonOf(parsePrincipal(value)),
  http_first_fast: (value) => reasonOf(parseYesNo(value)),
  http_first_slow: (value) => reasonOf(parseYesNo(value)),
  host: (value) => orUndefined(checkWorkstation(value.trim())),
  site: (value) => reasonOf(parseSite(value.trim())),
  office: (value) => reasonOf(parseOfficeVersion(value)),
  profile_name: (value) => reasonOf(parseFreeText(value, 64)),
};

/**
 * Campaign defaults checked once, by the rules of their columns: a bad default is one error in the campaign file,
 * not the same rejection on every row that leaves the cell empty.
 */
export function checkDefaultCells(cells: DefaultCells): DefaultCellProblem[] {
  const problems: DefaultCellProblem[] = [];
  for (const [column, value] of Object.entries(cells) as [Column, string | undefined][]) {
    const reason = value === undefined ? undefined : RULES[column]?.(value);
    if (reason !== undefined) problems.push({ column, reason });
  }
  const proxy = cells.proxy === undefined ? undefined : parseProxyUrl(cells.proxy);
  if (proxy?.ok && !proxy.ssl) {
    const auth = cells.auth === undefined ? undefined : parseAuth(cells.auth);
    if (auth?.ok && auth.value === 'basic') {
      problems.push({ column: 'auth', reason: `Basic authentication needs SSL but the proxy is http://${proxy.host}` });
    }
    const mutual = cells.mutual_auth === undefined ? undefined : parseYesNo(cells.mutual_auth);
    if (mutual?.ok && mutual.value) {
      problems.push({
        column: 'mutual_auth',
        reason: `mutual authentication needs SSL but the proxy is http://${proxy.host}`,
      });
    }
  }
  return problems;
}
