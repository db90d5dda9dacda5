import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UserSpec } from '../../src/csv/user-spec.js';
import { decodeCodePage, findUnrepresentable } from '../../src/profile/code-page.js';
import {
  DEFAULT_PROFILE_OPTIONS,
  decodeRpcFlags,
  lintPrf,
  type ProfileOptions,
  parsePrf,
  parsePtLong,
  readValue,
  renderProfile,
} from '../../src/profile/index.js';
import { profileOptionsArb, userSpecArb } from '../helpers/arbitraries.js';

/** The structure every generated PRF has, whatever the values: no value can add a section or a key. */
function expectedLayout(options: ProfileOptions, mutual: boolean): string[] {
  return [
    'General:Custom,ProfileName,DefaultProfile,OverwriteProfile,ModifyDefaultProfileIfPresent,BackupProfile,DefaultStore',
    `Service List:ServiceEGS1,Service1${options.cachedMode ? ',ServiceX' : ''}`,
    'Internet Account List:',
    `ServiceEGS1:MailboxName,HomeServer,RPCoverHTTPflags,RPCProxyServer,${mutual ? 'RPCProxyPrincipalName,' : ''}RPCProxyAuthScheme`,
    'Service1:OverwriteExistingService,UniqueService,MailboxName,HomeServer',
    ...(options.cachedMode ? ['ServiceX:CachedExchangeMode,CachedExchangeSlowDetect'] : []),
    'Microsoft Exchange Server:ServiceName,MDBGUID,MailboxName,HomeServer,OfflineAddressBookPath,OfflineFolderPathAndFilename',
    'Exchange Global Section:SectionGUID,MailboxName,HomeServer,ConfigFlags,RPCoverHTTPflags,RPCProxyServer,RPCProxyPrincipalName,RPCProxyAuthScheme,AccountName',
    ...(options.cachedMode
      ? [
          'Microsoft Outlook Client:SectionGUID,FormDirectoryPage,WebServicesLocation,ComposeWithWebServices,PromptWhenUsingWebServices,OpenWithWebServices,CachedExchangeMode,CachedExchangeSlowDetect',
        ]
      : []),
  ];
}

function decodeBytes(bytes: Uint8Array, options: ProfileOptions): string {
  if (options.encoding === 'utf16le') {
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xfe]);
    return Buffer.from(bytes.subarray(2)).toString('utf16le');
  }
  return decodeCodePage(bytes, options.codepage);
}

function checkRoundTrip(spec: UserSpec, options: ProfileOptions): void {
  const result = renderProfile(spec, options);
  if (!result.ok) {
    // The only acceptable refusal for a valid spec: a character the code page really lacks.
    const { rejection } = result;
    expect(rejection.code).toBe('FR_ERR_ROW_UNREPRESENTABLE');
    expect(findUnrepresentable(rejection.value, options.codepage)).toBeDefined();
    return;
  }
  const { artifact } = result;
  expect(decodeBytes(artifact.bytes, options)).toBe(artifact.text);
  expect(artifact.sha256).toBe(createHash('sha256').update(artifact.bytes).digest('hex'));

  const prf = parsePrf(artifact.text);
  expect(prf.oddLines).toEqual([]);
  expect(prf.sections.map((s) => `${s.name}:${s.entries.map((e) => e.key).join(',')}`)).toEqual(
    expectedLayout(options, spec.mutualAuth),
  );
  expect(readValue(prf, 'General', 'ProfileName')).toBe(spec.profileName);
  for (const section of ['ServiceEGS1', 'Service1']) {
    expect(readValue(prf, section, 'MailboxName')).toBe(spec.mailbox);
    expect(readValue(prf, section, 'HomeServer')).toBe(spec.exchangeServer);
  }
  expect(readValue(prf, 'ServiceEGS1', 'RPCProxyServer')).toBe(spec.proxyHost);
  const flags = decodeRpcFlags(parsePtLong(readValue(prf, 'ServiceEGS1', 'RPCoverHTTPflags') ?? '') ?? 0);
  expect(flags).toEqual({
    useRoh: true,
    ssl: spec.ssl,
    mutualAuth: spec.mutualAuth,
    httpFirstFast: spec.httpFirstFast,
    httpFirstSlow: spec.httpFirstSlow,
    unknownBits: 0,
  });
  expect(parsePtLong(readValue(prf, 'ServiceEGS1', 'RPCProxyAuthScheme') ?? '')).toBe(spec.auth === 'basic' ? 1 : 2);
  expect(readValue(prf, 'ServiceEGS1', 'RPCProxyPrincipalName')).toBe(
    spec.mutualAuth ? (spec.principal ?? `msstd:${spec.proxyHost}`) : undefined,
  );
  expect(lintPrf(artifact.bytes).findings.filter((f) => f.severity === 'error')).toEqual([]);

  const again = renderProfile(spec, options);
  expect(again.ok && Buffer.from(again.artifact.bytes).equals(Buffer.from(artifact.bytes))).toBe(true);
  expect(again.ok && again.artifact.sha256).toBe(artifact.sha256);
}

describe('renderProfile properties', () => {
  it('any valid spec → a PRF that parses back to the same settings, lints clean, same layout', () => {
    fc.assert(
      fc.property(userSpecArb('unicode'), profileOptionsArb(), (spec, options) => checkRoundTrip(spec, options)),
      { numRuns: 250 },
    );
  });

  it('a Windows-1252 spec always renders in the default options (no spurious rejection)', () => {
    fc.assert(
      fc.property(userSpecArb('latin1'), (spec) => {
        expect(renderProfile(spec, DEFAULT_PROFILE_OPTIONS).ok).toBe(true);
        checkRoundTrip(spec, DEFAULT_PROFILE_OPTIONS);
      }),
      { numRuns: 100 },
    );
  });

  it('UTF-16LE renders any profile name when mailbox and server are ASCII', () => {
    fc.assert(
      fc.property(userSpecArb('unicode'), userSpecArb('ascii'), (unicode, ascii) => {
        const spec = { ...ascii, profileName: unicode.profileName };
        const options = { ...DEFAULT_PROFILE_OPTIONS, encoding: 'utf16le' as const };
        expect(renderProfile(spec, options).ok).toBe(true);
        checkRoundTrip(spec, options);
      }),
      { numRuns: 100 },
    );
  });
});
