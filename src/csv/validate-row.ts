import type { ColumnDefaults } from '../config/campaign-schema.js';
import type { ErrorCode } from '../errors/index.js';
import { COLUMNS, type Column, type HeaderMap } from './columns.js';
import {
  type FieldResult,
  parseAuth,
  parseEmail,
  parseFreeText,
  parseOfficeVersion,
  parsePrincipal,
  parseSite,
  parseYesNo,
} from './field-rules.js';
import { checkHostName, checkServerName, checkWorkstation } from './host-rules.js';
import { parseLogonName, parseMailbox } from './logon-name.js';
import { type ProxyParse, parseProxyUrl } from './proxy-url.js';
import { describeValue } from './text-rules.js';
import type { AcceptedRow, Rejection, UserSpec } from './user-spec.js';

/** Campaign defaults as CSV cell text (booleans → yes/no, `office: 16` → `16.0`). */
export type DefaultCells = Readonly<Partial<Record<Column, string>>>;

export function toDefaultCells(defaults: ColumnDefaults): DefaultCells {
  const cells: Partial<Record<Column, string>> = {};
  for (const [key, value] of Object.entries(defaults) as [Column, string | number | boolean | undefined][]) {
    if (value === undefined) continue;
    cells[key] = typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value);
  }
  return cells;
}

/** Returns the line of an earlier row with the same username, or null after recording this one. */
export type ClaimUsername = (username: string, line: number) => number | null;

/** `trimmedUsername`: the username cell as written, when spaces around it were removed (the caller warns). */
export type RowResult = { ok: true; row: AcceptedRow; trimmedUsername?: string } | { ok: false; rejection: Rejection };

const isSpace = (code: number): boolean => code === 32 || code === 9 || code === 0xa0;

/** A bounded memo of one check: the last key is compared first (most rosters repeat one value row after row). */
export class CheckMemo<V> {
  private readonly known = new Map<string, V>();
  private lastKey: string | undefined;
  private lastValue: V | undefined;

  constructor(private readonly compute: (key: string) => V) {}

  get(key: string): V {
    if (key === this.lastKey) return this.lastValue as V;
    let value = this.known.get(key);
    if (value === undefined && !this.known.has(key)) {
      if (this.known.size >= MEMO_LIMIT) this.known.clear();
      value = this.compute(key);
      this.known.set(key, value);
    }
    this.lastKey = key;
    this.lastValue = value;
    return value as V;
  }
}

/** Where each column of COLUMNS is read for one header and set of defaults (-1: not in the header). */
interface CellPlan {
  readonly header: HeaderMap;
  readonly defaults: DefaultCells;
  readonly indexes: Int32Array;
  readonly fallbacks: readonly (string | undefined)[];
}

/**
 * Per-roster memo of the checks whose values repeat on most rows (one proxy, a few Exchange servers), and of where
 * each column is read. Bounded: each check is cleared when it grows past MEMO_LIMIT distinct values.
 */
export interface RowMemo {
  readonly proxies: CheckMemo<ProxyParse>;
  readonly servers: CheckMemo<string | null>;
  readonly domains: CheckMemo<string | null>;
  readonly sites: CheckMemo<FieldResult<string>>;
  /** `domains` as parseEmail's callback, created once per roster rather than once per row. */
  readonly checkDomain: (domain: string) => string | null;
  plan: CellPlan | undefined;
}

const MEMO_LIMIT = 1024;

const checkEmailDomain = (domain: string): string | null => checkHostName(domain, 2);

export function createRowMemo(): RowMemo {
  const domains = new CheckMemo(checkEmailDomain);
  return {
    proxies: new CheckMemo(parseProxyUrl),
    servers: new CheckMemo(checkServerName),
    domains,
    sites: new CheckMemo(parseSite),
    checkDomain: (domain) => domains.get(domain),
    plan: undefined,
  };
}

const column = (name: Column): number => COLUMNS.indexOf(name);
const USERNAME = column('username');
const EMAIL = column('email');
const DISPLAY_NAME = column('display_name');
const MAILBOX = column('mailbox');
const EXCHANGE_SERVER = column('exchange_server');
const PROXY = column('proxy');
const AUTH = column('auth');
const MUTUAL_AUTH = column('mutual_auth');
const PRINCIPAL = column('principal');
const HTTP_FIRST_FAST = column('http_first_fast');
const HTTP_FIRST_SLOW = column('http_first_slow');
const HOST = column('host');
const SITE = column('site');
const OFFICE = column('office');
const PROFILE_NAME = column('profile_name');

function planFor(memo: RowMemo, header: HeaderMap, defaults: DefaultCells): CellPlan {
  const known = memo.plan;
  if (known !== undefined && known.header === header && known.defaults === defaults) return known;
  const indexes = new Int32Array(COLUMNS.length);
  COLUMNS.forEach((name, at) => {
    indexes[at] = header.indexes.get(name) ?? -1;
  });
  const plan: CellPlan = { header, defaults, indexes, fallbacks: COLUMNS.map((name) => defaults[name]) };
  memo.plan = plan;
  return plan;
}

/**
 * Thrown inside validateRow and caught there, never escapes. Not an Error on purpose: a rejected row needs no stack
 * trace, and capturing one cost more than validating a hundred rows.
 */
class RowRejected {
  constructor(
    readonly column: Column | '*',
    readonly value: string,
    readonly reason: string,
    readonly code: ErrorCode,
  ) {}
}

function need<T>(result: FieldResult<T>, column: Column, value: string): T {
  if (result.ok) return result.value;
  throw new RowRejected(column, value, result.reason, 'FR_ERR_ROW_FIELD_INVALID');
}

const isPrintableAscii = (code: number): boolean => code > 32 && code < 127;

/** The cell of COLUMNS[at], or the campaign default when the column is absent or the cell blank. */
function readCell(cells: readonly string[], plan: CellPlan, at: number): string | undefined {
  const index = plan.indexes[at] ?? -1;
  const cell = index < 0 ? undefined : cells[index];
  // Most cells start with a printable character: skip trim() (an allocation) for them.
  if (cell !== undefined && cell !== '' && (isPrintableAscii(cell.charCodeAt(0)) || cell.trim() !== '')) return cell;
  return plan.fallbacks[at];
}

function requireCell(cells: readonly string[], plan: CellPlan, at: number): string {
  const value = readCell(cells, plan, at);
  if (value === undefined) {
    const name = COLUMNS[at] as Column;
    throw new RowRejected(name, '', `${name} is required`, 'FR_ERR_ROW_FIELD_REQUIRED');
  }
  return value;
}

const parseWorkstation = (value: string): FieldResult<string> => {
  const host = value.trim();
  const reason = checkWorkstation(host);
  return reason ? { ok: false, reason } : { ok: true, value: host.toLowerCase() };
};

/** MailboxName defaults to the account part of the user name (never `DOMAIN\` nor a UPN suffix). */
function defaultMailbox(name: string): string {
  const slash = name.indexOf('\\');
  if (slash >= 0) return name.slice(slash + 1);
  const at = name.lastIndexOf('@');
  return at >= 0 ? name.slice(0, at) : name;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Validates one record against the column contract; the first problem found is reported, columns in the order below.
 * Written without per-row closures: this runs 100k times a file.
 */
export function validateRow(
  cells: readonly string[],
  line: number,
  header: HeaderMap,
  defaults: DefaultCells,
  claimUsername: ClaimUsername,
  memo: RowMemo = createRowMemo(),
): RowResult {
  let username: string | undefined;
  try {
    if (cells.length !== header.width) {
      const reason = `the row has ${cells.length} field(s), the header has ${header.width}`;
      throw new RowRejected('*', describeValue(cells.join(',')), reason, 'FR_ERR_ROW_FIELD_COUNT');
    }
    const plan = planFor(memo, header, defaults);
    const cellName = requireCell(cells, plan, USERNAME);
    // Excel exports pad cells ("pmercier "): trimmed like the other columns, and the caller says so.
    const padded = isSpace(cellName.charCodeAt(0)) || isSpace(cellName.charCodeAt(cellName.length - 1));
    const rawName = padded ? cellName.trim() : cellName;
    const name = need(parseLogonName(rawName), 'username', rawName);
    const firstLine = claimUsername(name, line);
    if (firstLine !== null) {
      const reason = `duplicate username (first seen on line ${firstLine})`;
      throw new RowRejected('username', name, reason, 'FR_ERR_ROW_DUPLICATE');
    }
    username = name;

    const emailCell = readCell(cells, plan, EMAIL);
    const email =
      emailCell === undefined ? undefined : need(parseEmail(emailCell.trim(), memo.checkDomain), 'email', emailCell);
    const displayCell = readCell(cells, plan, DISPLAY_NAME);
    const displayName =
      displayCell === undefined ? undefined : need(parseFreeText(displayCell.trim(), 256), 'display_name', displayCell);
    const mailboxCell = readCell(cells, plan, MAILBOX);
    const mailbox =
      mailboxCell === undefined
        ? defaultMailbox(name)
        : need(parseMailbox(mailboxCell, memo.checkDomain), 'mailbox', mailboxCell);
    const exchangeRaw = requireCell(cells, plan, EXCHANGE_SERVER);
    const exchangeServer = exchangeRaw.trim().toLowerCase();
    const serverReason = memo.servers.get(exchangeServer);
    if (serverReason) throw new RowRejected('exchange_server', exchangeRaw, serverReason, 'FR_ERR_ROW_FIELD_INVALID');

    const proxyRaw = requireCell(cells, plan, PROXY);
    const proxy = memo.proxies.get(proxyRaw);
    if (!proxy.ok) throw new RowRejected('proxy', proxyRaw, proxy.reason, 'FR_ERR_ROW_FIELD_INVALID');

    const authCell = readCell(cells, plan, AUTH);
    const auth = authCell === undefined ? 'ntlm' : need(parseAuth(authCell), 'auth', authCell);
    if (auth === 'basic' && !proxy.ssl) {
      const reason = `Basic authentication needs SSL but the proxy is http://${proxy.host}; use https://`;
      throw new RowRejected('auth', authCell ?? 'basic', reason, 'FR_ERR_ROW_FIELD_INVALID');
    }
    const mutualCell = readCell(cells, plan, MUTUAL_AUTH);
    const mutualAuth = mutualCell === undefined ? false : need(parseYesNo(mutualCell), 'mutual_auth', mutualCell);
    if (mutualAuth && !proxy.ssl) {
      const reason = `mutual authentication needs SSL but the proxy is http://${proxy.host}; use https://`;
      throw new RowRejected('mutual_auth', mutualCell ?? 'yes', reason, 'FR_ERR_ROW_FIELD_INVALID');
    }
    // A principal without mutual auth is not written to the PRF, so a campaign-wide default does not reject rows.
    let principal: string | undefined;
    if (mutualAuth) {
      const principalCell = readCell(cells, plan, PRINCIPAL);
      principal =
        principalCell === undefined
          ? `msstd:${proxy.host}`
          : need(parsePrincipal(principalCell), 'principal', principalCell);
    }
    const fastCell = readCell(cells, plan, HTTP_FIRST_FAST);
    const httpFirstFast = fastCell === undefined ? false : need(parseYesNo(fastCell), 'http_first_fast', fastCell);
    const slowCell = readCell(cells, plan, HTTP_FIRST_SLOW);
    const httpFirstSlow = slowCell === undefined ? true : need(parseYesNo(slowCell), 'http_first_slow', slowCell);
    const hostCell = readCell(cells, plan, HOST);
    const host = hostCell === undefined ? undefined : need(parseWorkstation(hostCell), 'host', hostCell);
    const siteCell = readCell(cells, plan, SITE);
    const site = siteCell === undefined ? undefined : need(memo.sites.get(siteCell.trim()), 'site', siteCell);
    const officeCell = readCell(cells, plan, OFFICE);
    const office = officeCell === undefined ? '11.0' : need(parseOfficeVersion(officeCell), 'office', officeCell);
    const profileCell = readCell(cells, plan, PROFILE_NAME);
    const profileName =
      profileCell === undefined ? 'Outlook' : need(parseFreeText(profileCell, 64), 'profile_name', profileCell);

    // Built imperatively (no spreads): this runs 100k times a file.
    const spec: Mutable<UserSpec> = {
      username: name,
      mailbox,
      exchangeServer,
      proxyHost: proxy.host,
      ssl: proxy.ssl,
      auth,
      mutualAuth,
      httpFirstFast,
      httpFirstSlow,
      office,
      profileName,
    };
    if (email !== undefined) spec.email = email;
    if (displayName !== undefined) spec.displayName = displayName;
    if (principal !== undefined) spec.principal = principal;
    if (host !== undefined) spec.host = host;
    if (site !== undefined) spec.site = site;
    return padded ? { ok: true, row: { line, spec }, trimmedUsername: cellName } : { ok: true, row: { line, spec } };
  } catch (error) {
    if (!(error instanceof RowRejected)) throw error;
    const rejection: Mutable<Rejection> = {
      line,
      column: error.column,
      value: describeValue(error.value),
      reason: error.reason,
      code: error.code,
    };
    if (username !== undefined) rejection.username = username;
    return { ok: false, rejection };
  }
}
