import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { toProfileOptions } from '../../src/config/campaign-settings.js';
import type { UserSpec } from '../../src/csv/user-spec.js';
import { DEFAULT_PROFILE_OPTIONS, lintPrf, type ProfileOptions, renderProfile } from '../../src/profile/index.js';

/**
 * Golden PRFs in test/fixtures/prf/golden/, generated once and then reviewed line by line against
 * ../shared/reference/prf-format.md. What was checked by hand in every file:
 * - [General]: Custom=1; ProfileName; DefaultProfile=Yes; OverwriteProfile=Append + ModifyDefaultProfileIfPresent=TRUE
 *   (modify-default) or Yes + FALSE (create); BackupProfile=No; DefaultStore=Service1 (ref §1.2, §3, §7.3–7.4).
 * - [Service List]: ServiceEGS1=Exchange Global Section, Service1=Microsoft Exchange Server (+ ServiceX=Microsoft
 *   Outlook Client with cached mode); [Internet Account List] present and empty (ref §1.3).
 * - [ServiceEGS1]: RPCoverHTTPflags per ref §2 (0x0027 = 1+2+4+0x20; 0x0023 = Microsoft's own example 1+2+0x20;
 *   0x002f = all five documented bits, as the public script; 0x000b = 1+2+8; 0x0021 = 1+0x20), never 0x10;
 *   RPCProxyServer host only; RPCProxyPrincipalName only with mutual auth (msstd:host or msstd:*.domain);
 *   RPCProxyAuthScheme 0x0002 NTLM / 0x0001 Basic (Basic only with the SSL bit).
 * - [Service1]: OverwriteExistingService=Yes, UniqueService=Yes, MailboxName, HomeServer (ref §1.4).
 * - Section 6: [Microsoft Exchange Server] (MSEMS, MDBGUID 5494A1C0…), [Exchange Global Section] (SectionGUID
 *   13dbb0c8aa05101a9bb000aa002fc45a, RPC tags 0x6623/0x6622/0x6625/0x6627, the OCT-2010 variant of the real files),
 *   [Microsoft Outlook Client] only with cached mode; every value key above has its mapping line.
 * - Bytes: CRLF only, no BOM in ANSI; 'Zoé Müller' = 5A 6F E9 20 4D FC… in Windows-1252; Cyrillic in Windows-1251
 *   (iconv -f cp1251 reads it back); UTF-16LE file starts FF FE and keeps CRLF.
 */
const base: UserSpec = {
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
const noMutual = { mutualAuth: false, principal: undefined } as const;

const CASES: { file: string; spec: UserSpec; options: ProfileOptions; flags: string; scheme: string }[] = [
  { file: 'ntlm-ssl-mutual.prf', spec: base, options: DEFAULT_PROFILE_OPTIONS, flags: '0x0027', scheme: '0x0002' },
  {
    file: 'basic-ssl-create.prf',
    spec: { ...base, ...noMutual, username: 'asmith', mailbox: 'asmith', auth: 'basic' },
    options: { ...DEFAULT_PROFILE_OPTIONS, mode: 'create' },
    flags: '0x0023',
    scheme: '0x0001',
  },
  {
    file: 'http-first-fast-slow-cached.prf',
    spec: { ...base, httpFirstFast: true, principal: 'msstd:*.contoso.com' },
    options: { ...DEFAULT_PROFILE_OPTIONS, cachedMode: true },
    flags: '0x002f',
    scheme: '0x0002',
  },
  {
    file: 'cp1252-zoe-muller.prf',
    spec: {
      ...base,
      ...noMutual,
      username: 'françois',
      mailbox: 'françois',
      profileName: 'Zoé Müller',
      httpFirstFast: true,
      httpFirstSlow: false,
    },
    options: DEFAULT_PROFILE_OPTIONS,
    flags: '0x000b',
    scheme: '0x0002',
  },
  {
    file: 'cp1251-cyrillic.prf',
    spec: {
      ...base,
      ...noMutual,
      ssl: false,
      username: 'иванов',
      mailbox: 'иванов',
      profileName: 'Почта Иванова',
      exchangeServer: 'EXCH01',
    },
    options: { ...DEFAULT_PROFILE_OPTIONS, codepage: 1251 },
    flags: '0x0021',
    scheme: '0x0002',
  },
  {
    file: 'utf16le-unicode-name.prf',
    spec: { ...base, profileName: 'Outlook 李王 Ωλ' },
    options: { ...DEFAULT_PROFILE_OPTIONS, encoding: 'utf16le', mode: 'create' },
    flags: '0x0027',
    scheme: '0x0002',
  },
  {
    // DOMAIN\name user, SMTP mailbox (resolves to exactly one mailbox, unlike an alias prefix-matched by ANR).
    file: 'domain-user-smtp-mailbox.prf',
    spec: { ...base, ...noMutual, username: 'CORP\\jdoe', mailbox: 'john.doe@contoso.com' },
    options: DEFAULT_PROFILE_OPTIONS,
    flags: '0x0023',
    scheme: '0x0002',
  },
  {
    // UPN user, legacyExchangeDN mailbox (Exchange 2003/2010 form; '=', spaces and parentheses stay literal).
    file: 'upn-user-legacy-dn-mailbox.prf',
    spec: {
      ...base,
      ...noMutual,
      username: 'jdoe@corp.contoso.com',
      mailbox: '/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=jdoe',
    },
    options: DEFAULT_PROFILE_OPTIONS,
    flags: '0x0023',
    scheme: '0x0002',
  },
];

function readGolden(file: string): Buffer {
  return readFileSync(new URL(`../fixtures/prf/golden/${file}`, import.meta.url));
}

describe('renderProfile golden files', () => {
  for (const c of CASES) {
    it(`${c.file}: byte-identical to the reviewed file`, () => {
      const result = renderProfile(c.spec, c.options);
      if (!result.ok) throw new Error(`rejected: ${result.rejection.reason}`);
      expect(Buffer.from(result.artifact.bytes).equals(readGolden(c.file))).toBe(true);
      // DOMAIN\\name is staged as DOMAIN+name.prf (\\ is a path separator; + is never in an account name).
      expect(result.artifact.fileName).toBe(`${c.spec.username.replace('\\', '+')}.prf`);
      expect(result.artifact.text).toContain(`\r\nRPCoverHTTPflags=${c.flags}\r\n`);
      expect(result.artifact.text).toContain(`\r\nRPCProxyAuthScheme=${c.scheme}\r\n`);
      const findings = lintPrf(result.artifact.bytes).findings.filter((f) => f.severity !== 'info');
      // A NetBIOS HomeServer (EXCH01) is legal but draws the home-server-netbios warning, once per section.
      const netbios = c.spec.exchangeServer.includes('.') ? [] : ['home-server-netbios', 'home-server-netbios'];
      expect(findings.map((f) => f.rule)).toEqual(netbios);
    });
  }

  it('writes Windows-1252 bytes for accented names, with CRLF and no BOM', () => {
    const bytes = readGolden('cp1252-zoe-muller.prf');
    expect(bytes.includes(Buffer.from([0x5a, 0x6f, 0xe9, 0x20, 0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x0d, 0x0a]))).toBe(
      true,
    );
    expect(bytes[0]).toBe(0x3b);
    expect(bytes.toString('latin1').replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it('writes Windows-1251 bytes for Cyrillic names', () => {
    const bytes = readGolden('cp1251-cyrillic.prf');
    // "Почта" in Windows-1251.
    expect(bytes.includes(Buffer.from([0xcf, 0xee, 0xf7, 0xf2, 0xe0]))).toBe(true);
  });

  it('writes UTF-16LE with a BOM and CRLF when asked', () => {
    const bytes = readGolden('utf16le-unicode-name.prf');
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xfe]);
    const text = bytes.subarray(2).toString('utf16le');
    expect(text).toContain('\r\nProfileName=Outlook 李王 Ωλ\r\n');
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  });

  it('names the cached-mode service ServiceX, as the Office Customization Tool writes it', () => {
    const text = readGolden('http-first-fast-slow-cached.prf').toString('latin1');
    expect(text).toContain('\r\nServiceX=Microsoft Outlook Client\r\n');
    expect(text).toContain('\r\n[ServiceX]\r\nCachedExchangeMode=0x0002\r\n');
    expect(text).not.toContain('Service2');
  });
});

describe('Outlook version policy (campaign profile.office_policy)', () => {
  const policy = campaignFileSchema.parse({}).profile.office_policy;
  const options = toProfileOptions(campaignFileSchema.parse({}));

  it('skips a 16.0 row by default with its own code and a reason naming Autodiscover', () => {
    expect(policy).toEqual({ office_16: 'skip', mailbox_on_exchange_2013_or_later: false });
    const result = renderProfile({ ...base, office: '16.0' }, options);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rejection).toMatchObject({ code: 'FR_ERR_OFFICE_POLICY_SKIPPED', column: 'office' });
    expect(result.rejection.reason).toContain('Autodiscover');
    // Other versions render as before.
    expect(renderProfile({ ...base, office: '15.0' }, options).ok).toBe(true);
  });

  it('skips 15.0 too when the mailboxes are on Exchange 2013 or later, and renders 16.0 when told to apply', () => {
    const file = campaignFileSchema.parse({
      profile: { office_policy: { office_16: 'apply', mailbox_on_exchange_2013_or_later: true } },
    });
    const strict = toProfileOptions(file);
    const skipped = renderProfile({ ...base, office: '15.0' }, strict);
    expect(skipped.ok ? undefined : skipped.rejection.code).toBe('FR_ERR_OFFICE_POLICY_SKIPPED');
    expect(renderProfile({ ...base, office: '16.0' }, strict).ok).toBe(true);
  });

  it('refuses a user name that would stage a reserved device file (CON.prf)', () => {
    for (const username of ['nul', 'COM1', 'con.x']) {
      const result = renderProfile({ ...base, username }, DEFAULT_PROFILE_OPTIONS);
      expect(result.ok ? undefined : result.rejection.code).toBe('FR_ERR_PROFILE_UNSAFE_VALUE');
    }
    // CORP\\nul is staged as CORP+nul.prf: not a device name.
    expect(renderProfile({ ...base, username: 'CORP\\nul' }, DEFAULT_PROFILE_OPTIONS).ok).toBe(true);
  });
});
