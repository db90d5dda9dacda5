import { describe, expect, it } from 'vitest';
import type { UserSpec } from '../../src/csv/user-spec.js';
import { DEFAULT_PROFILE_OPTIONS, type LintFinding, lintPrf, renderProfile } from '../../src/profile/index.js';

/** Each crafted bad PRF is our own good output with one thing broken, so a finding can only come from that change. */
const spec: UserSpec = {
  username: 'jdoe',
  mailbox: 'jdoe',
  exchangeServer: 'exch01.corp.contoso.local',
  proxyHost: 'mail.contoso.com',
  ssl: true,
  auth: 'ntlm',
  mutualAuth: true,
  principal: 'msstd:mail.contoso.com',
  httpFirstFast: false,
  httpFirstSlow: true,
  office: '11.0',
  profileName: 'Outlook',
};

function goodText(): string {
  const result = renderProfile(spec, { ...DEFAULT_PROFILE_OPTIONS, cachedMode: true });
  if (!result.ok) throw new Error('fixture spec rejected');
  return result.artifact.text;
}

function lintText(text: string): LintFinding[] {
  return lintPrf(Buffer.from(text, 'latin1')).findings;
}

function broken(from: string, to: string): LintFinding[] {
  const text = goodText();
  if (!text.includes(from)) throw new Error(`fixture does not contain ${from}`);
  return lintText(text.replace(from, to));
}

function lineOf(text: string, needle: string): number {
  return text.slice(0, text.indexOf(needle)).split('\r\n').length;
}

const errorsOf = (findings: LintFinding[]) => findings.filter((f) => f.severity === 'error').map((f) => f.rule);

describe('lintPrf on our own output', () => {
  it('finds nothing at all', () => {
    expect(lintText(goodText())).toEqual([]);
  });
});

describe('lintPrf rules (one crafted defect each)', () => {
  const cases: [name: string, from: string, to: string, rule: string, severity: LintFinding['severity']][] = [
    ['flags without 0x1', 'RPCoverHTTPflags=0x0027', 'RPCoverHTTPflags=0x0026', 'rpc-flags', 'error'],
    ['flags with 0x10', 'RPCoverHTTPflags=0x0027', 'RPCoverHTTPflags=0x0037', 'rpc-flags', 'error'],
    ['flags with an unknown high bit', 'RPCoverHTTPflags=0x0027', 'RPCoverHTTPflags=0x0127', 'rpc-flags', 'error'],
    ['mutual auth without SSL', 'RPCoverHTTPflags=0x0027', 'RPCoverHTTPflags=0x0025', 'rpc-flags', 'error'],
    ['mutual auth without principal', 'RPCProxyPrincipalName=msstd:mail.contoso.com\r\n', '', 'rpc-principal', 'error'],
    [
      'principal without msstd:',
      'RPCProxyPrincipalName=msstd:mail.contoso.com',
      'RPCProxyPrincipalName=mail.contoso.com',
      'rpc-principal',
      'error',
    ],
    ['principal without mutual auth', 'RPCoverHTTPflags=0x0027', 'RPCoverHTTPflags=0x0023', 'rpc-principal', 'warning'],
    [
      'Basic without SSL',
      'RPCoverHTTPflags=0x0027\r\nRPCProxyServer=mail.contoso.com\r\nRPCProxyPrincipalName=msstd:mail.contoso.com\r\nRPCProxyAuthScheme=0x0002',
      'RPCoverHTTPflags=0x0021\r\nRPCProxyServer=mail.contoso.com\r\nRPCProxyAuthScheme=0x0001',
      'rpc-auth',
      'error',
    ],
    ['auth scheme as text', 'RPCProxyAuthScheme=0x0002', 'RPCProxyAuthScheme=Negotiate', 'value-type', 'error'],
    ['auth scheme Negotiate 0x10', 'RPCProxyAuthScheme=0x0002', 'RPCProxyAuthScheme=0x0010', 'rpc-auth', 'warning'],
    ['auth scheme unknown', 'RPCProxyAuthScheme=0x0002', 'RPCProxyAuthScheme=0x0004', 'rpc-auth', 'error'],
    [
      'proxy with scheme',
      'RPCProxyServer=mail.contoso.com',
      'RPCProxyServer=https://mail.contoso.com',
      'rpc-proxy',
      'error',
    ],
    [
      'proxy with port',
      'RPCProxyServer=mail.contoso.com',
      'RPCProxyServer=mail.contoso.com:8443',
      'rpc-proxy',
      'error',
    ],
    ['proxy empty', 'RPCProxyServer=mail.contoso.com', 'RPCProxyServer=', 'rpc-proxy', 'error'],
    ['decimal flags', 'RPCoverHTTPflags=0x0027', 'RPCoverHTTPflags=39', 'long-decimal', 'info'],
    ['RPC key with no mapping line', 'RPCProxyAuthScheme=PT_LONG,0x6627\r\n', '', 'unmapped-key', 'error'],
    [
      'RPC key in the Exchange service section',
      '[Service1]\r\n',
      '[Service1]\r\nRPCProxyServer=mail.contoso.com\r\n',
      'unmapped-key',
      'error',
    ],
    ['other unmapped key', 'UniqueService=Yes\r\n', 'UniqueService=Yes\r\nPassword=\r\n', 'unmapped-key', 'warning'],
    [
      'password value',
      'UniqueService=Yes\r\n',
      'UniqueService=Yes\r\nPassword=hunter2\r\n',
      'secret-in-prf',
      'warning',
    ],
    ['wrong type', 'RPCProxyServer=PT_UNICODE,0x6622', 'RPCProxyServer=PT_STRING8,0x6622', 'mapping-type-tag', 'error'],
    ['wrong tag', 'RPCoverHTTPflags=PT_LONG,0x6623', 'RPCoverHTTPflags=PT_LONG,0x6624', 'mapping-type-tag', 'error'],
    [
      'wrong wide tag type',
      'MailboxName=PT_STRING8,0x6607\r\nHomeServer=PT_STRING8,0x6608\r\nConfigFlags',
      'MailboxName=PT_STRING8,0x6607001f\r\nHomeServer=PT_STRING8,0x6608\r\nConfigFlags',
      'mapping-type-tag',
      'error',
    ],
    [
      'mapping line syntax',
      'CachedExchangeMode=PT_LONG,0x041f',
      'CachedExchangeMode=PT_LONG 0x041f',
      'mapping-syntax',
      'error',
    ],
    [
      'wrong section GUID',
      'SectionGUID=13dbb0c8aa05101a9bb000aa002fc45a',
      'SectionGUID=13dbb0c8aa05101a9bb000aa002fc45b',
      'mapping-identity',
      'error',
    ],
    [
      'missing mapping section',
      '[Microsoft Outlook Client]',
      '[Microsoft Outlook Clients]',
      'mapping-section-missing',
      'error',
    ],
    [
      'PT_BOOLEAN not a boolean',
      'CachedExchangeSlowDetect=TRUE',
      'CachedExchangeSlowDetect=maybe',
      'value-type',
      'warning',
    ],
    ['PT_LONG not a number', 'CachedExchangeMode=0x0002', 'CachedExchangeMode=two', 'value-type', 'error'],
    [
      'service section not listed',
      '[Internet Account List]\r\n',
      '[Internet Account List]\r\n\r\n[Service7]\r\nA=1\r\n',
      'orphan-section',
      'warning',
    ],
    ['DefaultStore not listed', 'DefaultStore=Service1', 'DefaultStore=Service9', 'default-store', 'error'],
    ['OverwriteProfile value', 'OverwriteProfile=Append', 'OverwriteProfile=Maybe', 'general-value', 'error'],
    [
      'DefaultProfile=No + OverwriteProfile=Yes',
      'DefaultProfile=Yes\r\nOverwriteProfile=Append',
      'DefaultProfile=No\r\nOverwriteProfile=Yes',
      'general-overwrite-not-default',
      'warning',
    ],
    [
      'value that would open a section',
      'ProfileName=Outlook',
      'ProfileName=[Service1]',
      'value-looks-like-section',
      'warning',
    ],
    ['control character in a value', 'ProfileName=Outlook', 'ProfileName=Out\u000blook', 'value-control-char', 'error'],
    ['lone CR inside a value', 'ProfileName=Outlook', 'ProfileName=Out\r[Service1]', 'lone-cr', 'error'],
    ['unclosed section header', '[Service1]', '[Service1', 'section-syntax', 'error'],
    ['duplicate key', 'Custom=1\r\n', 'Custom=1\r\nCustom=2\r\n', 'duplicate-key', 'warning'],
    ['duplicate section', '[Service1]', '[ServiceEGS1]', 'duplicate-section', 'warning'],
    ['stray text line', 'Custom=1\r\n', 'Custom=1\r\nhello\r\n', 'not-a-key', 'warning'],
    [
      'mailbox differs between sections',
      'UniqueService=Yes\r\nMailboxName=jdoe',
      'UniqueService=Yes\r\nMailboxName=jsmith',
      'exchange-mismatch',
      'warning',
    ],
    ['RPC keys without flags', 'RPCoverHTTPflags=0x0027\r\n', '', 'rpc-flags-missing', 'warning'],
    [
      'HomeServer as a NetBIOS name',
      'UniqueService=Yes\r\nMailboxName=jdoe\r\nHomeServer=exch01.corp.contoso.local',
      'UniqueService=Yes\r\nMailboxName=jdoe\r\nHomeServer=EXCH01',
      'home-server-netbios',
      'warning',
    ],
  ];

  it.each(cases)('%s → %s', (_name, from, to, rule, severity) => {
    const findings = broken(from, to);
    expect(findings.some((f) => f.rule === rule && f.severity === severity)).toBe(true);
  });

  it('points at the line of the defect', () => {
    const text = goodText().replace('RPCoverHTTPflags=0x0027', 'RPCoverHTTPflags=0x0037');
    const finding = lintText(text).find((f) => f.message.includes('0x10'));
    expect(finding?.line).toBe(lineOf(text, 'RPCoverHTTPflags=0x0037'));
  });

  it('accepts {{placeholders}} and %variables% without type errors', () => {
    const findings = broken('RPCoverHTTPflags=0x0027', 'RPCoverHTTPflags={{FLAGS}}');
    expect(errorsOf(findings)).toEqual([]);
    expect(errorsOf(broken('CachedExchangeMode=0x0002', 'CachedExchangeMode=%mode%'))).toEqual([]);
  });
});

describe('lintPrf encodings and line endings', () => {
  it('says which encoding, and notes the BOM', () => {
    const text = goodText();
    const utf16 = lintPrf(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    expect(utf16.encoding).toBe('utf-16le-bom');
    expect(errorsOf(utf16.findings)).toEqual([]);
    const utf8bom = lintPrf(Buffer.from(`\ufeff${text}`, 'utf8'));
    expect(utf8bom.encoding).toBe('utf-8-bom');
    expect(utf8bom.findings).toContainEqual(expect.objectContaining({ rule: 'bom', severity: 'warning', line: 1 }));
    expect(lintPrf(Buffer.from(text, 'latin1')).encoding).toBe('ansi');
  });

  it('reports bare LF and mixed line endings as warnings', () => {
    const lf = lintPrf(Buffer.from(goodText().replace(/\r\n/g, '\n'), 'latin1'));
    expect(lf.lineEndings).toBe('lf');
    expect(lf.findings).toContainEqual(expect.objectContaining({ rule: 'line-endings', severity: 'warning' }));
    const mixed = lintPrf(Buffer.from(goodText().replace('Custom=1\r\n', 'Custom=1\n'), 'latin1'));
    expect(mixed.lineEndings).toBe('mixed');
    expect(mixed.findings).toContainEqual(expect.objectContaining({ rule: 'line-endings', line: 5 }));
  });

  it('reports UTF-16 big-endian and NUL bytes as errors', () => {
    const be = Buffer.from(goodText(), 'utf16le').swap16();
    expect(errorsOf(lintPrf(Buffer.concat([Buffer.from([0xfe, 0xff]), be])).findings)).toContain('encoding');
    expect(errorsOf(lintPrf(Buffer.from(goodText(), 'utf16le')).findings)).toContain('nul-bytes');
  });

  it('does not crash on empty or binary input', () => {
    expect(errorsOf(lintPrf(new Uint8Array()).findings)).toEqual(['not-a-prf']);
    const noise = Uint8Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256);
    expect(() => lintPrf(noise)).not.toThrow();
  });

  it('calls a file without any [section] not a PRF: one error, not a warning per line', () => {
    const csv = Buffer.from('username,mailbox\nalice,alice\nbob,bob\n');
    expect(lintPrf(csv).findings).toEqual([expect.objectContaining({ rule: 'not-a-prf', severity: 'error', line: 1 })]);
    const binary = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 1, 2]);
    expect(errorsOf(lintPrf(binary).findings)).toEqual(['not-a-prf', 'nul-bytes']);
  });
});
