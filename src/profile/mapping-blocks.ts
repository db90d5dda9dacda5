/**
 * Section-6 mapping blocks: key name → MAPI property type and tag. A value key without a mapping line is
 * silently ignored by Outlook (reference/prf-format.md §0.3, §7.1), so the renderer writes these blocks
 * verbatim and the linter checks files against them.
 *
 * Text is copied line for line from Office Customization Tool exports (the 2010-era "variant B" seen in
 * three of the real files, reference §1.5), including the tags' letter case (`0x660E`, `0x041f`).
 */
export type PropType = 'PT_STRING8' | 'PT_UNICODE' | 'PT_LONG' | 'PT_BOOLEAN' | 'PT_BINARY' | 'PT_SYSTIME';

export const PROP_TYPES: readonly PropType[] = [
  'PT_STRING8',
  'PT_UNICODE',
  'PT_LONG',
  'PT_BOOLEAN',
  'PT_BINARY',
  'PT_SYSTIME',
];

export interface MappingLine {
  readonly key: string;
  readonly type: PropType;
  /** Tag as written (4 hex digits = property id). */
  readonly tag: string;
}

export interface MappingBlock {
  readonly section: string;
  /** Identity lines (ServiceName, MDBGUID, SectionGUID), not mappings. */
  readonly identity: readonly (readonly [string, string])[];
  readonly lines: readonly MappingLine[];
}

export const EXCHANGE_SERVER_SECTION = 'Microsoft Exchange Server';
export const EXCHANGE_GLOBAL_SECTION = 'Exchange Global Section';
export const OUTLOOK_CLIENT_SECTION = 'Microsoft Outlook Client';

/** Byte-order form of the MAPI global profile section GUID {C8B0DB13-05AA-1A10-9BB0-00AA002FC45A}. */
export const EXCHANGE_GLOBAL_SECTION_GUID = '13dbb0c8aa05101a9bb000aa002fc45a';
export const OUTLOOK_CLIENT_SECTION_GUID = '0a0d020000000000c000000000000046';
export const MSEMS_MDBGUID = '5494A1C0297F101BA58708002B2A2517';

export const MAPPING_BLOCKS: readonly MappingBlock[] = [
  {
    section: EXCHANGE_SERVER_SECTION,
    identity: [
      ['ServiceName', 'MSEMS'],
      ['MDBGUID', MSEMS_MDBGUID],
    ],
    lines: [
      { key: 'MailboxName', type: 'PT_STRING8', tag: '0x6607' },
      { key: 'HomeServer', type: 'PT_STRING8', tag: '0x6608' },
      { key: 'OfflineAddressBookPath', type: 'PT_STRING8', tag: '0x660E' },
      { key: 'OfflineFolderPathAndFilename', type: 'PT_STRING8', tag: '0x6610' },
    ],
  },
  {
    section: EXCHANGE_GLOBAL_SECTION,
    identity: [['SectionGUID', EXCHANGE_GLOBAL_SECTION_GUID]],
    lines: [
      { key: 'MailboxName', type: 'PT_STRING8', tag: '0x6607' },
      { key: 'HomeServer', type: 'PT_STRING8', tag: '0x6608' },
      { key: 'ConfigFlags', type: 'PT_LONG', tag: '0x6601' },
      { key: 'RPCoverHTTPflags', type: 'PT_LONG', tag: '0x6623' },
      { key: 'RPCProxyServer', type: 'PT_UNICODE', tag: '0x6622' },
      { key: 'RPCProxyPrincipalName', type: 'PT_UNICODE', tag: '0x6625' },
      { key: 'RPCProxyAuthScheme', type: 'PT_LONG', tag: '0x6627' },
      { key: 'AccountName', type: 'PT_UNICODE', tag: '0x6620' },
    ],
  },
  {
    section: OUTLOOK_CLIENT_SECTION,
    identity: [['SectionGUID', OUTLOOK_CLIENT_SECTION_GUID]],
    lines: [
      { key: 'FormDirectoryPage', type: 'PT_STRING8', tag: '0x0270' },
      { key: 'WebServicesLocation', type: 'PT_STRING8', tag: '0x0271' },
      { key: 'ComposeWithWebServices', type: 'PT_BOOLEAN', tag: '0x0272' },
      { key: 'PromptWhenUsingWebServices', type: 'PT_BOOLEAN', tag: '0x0273' },
      { key: 'OpenWithWebServices', type: 'PT_BOOLEAN', tag: '0x0274' },
      { key: 'CachedExchangeMode', type: 'PT_LONG', tag: '0x041f' },
      { key: 'CachedExchangeSlowDetect', type: 'PT_BOOLEAN', tag: '0x0420' },
    ],
  },
];

/**
 * Type and property id the linter expects for keys it knows, per mapping section (lower-cased names).
 * Adds the "variant A" keys (CachedExchangeConfigFlags, OfflineFolderPath) that other OCT builds emit.
 */
export const KNOWN_MAPPINGS: ReadonlyMap<string, ReadonlyMap<string, { type: PropType; id: number }>> = buildKnown();

/** Keys in a mapping section that identify it rather than map a property. */
export const MAPPING_IDENTITY_KEYS: ReadonlySet<string> = new Set([
  'servicename',
  'mdbguid',
  'sectionguid',
  'accounttype',
]);

/** Per-section expected identity values (lower-cased section name → key → value, compared case-insensitively). */
export const KNOWN_IDENTITIES: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map(
  MAPPING_BLOCKS.map((block) => [
    block.section.toLowerCase(),
    new Map(block.identity.map(([key, value]) => [key.toLowerCase(), value])),
  ]),
);

/** Processor directives in a value section: they steer the import and need no mapping line. */
export const SERVICE_DIRECTIVES: ReadonlySet<string> = new Set([
  'overwriteexistingservice',
  'uniqueservice',
  'conversionprohibited',
]);

/** Mapping blocks as PRF text, CRLF line endings, a blank line between blocks. */
export function renderMappingText(sections: readonly string[]): string {
  return MAPPING_BLOCKS.filter((block) => sections.includes(block.section))
    .map((block) =>
      [
        `[${block.section}]`,
        ...block.identity.map(([key, value]) => `${key}=${value}`),
        ...block.lines.map((line) => `${line.key}=${line.type},${line.tag}`),
        '',
      ].join('\r\n'),
    )
    .join('\r\n');
}

function buildKnown(): Map<string, Map<string, { type: PropType; id: number }>> {
  const known = new Map<string, Map<string, { type: PropType; id: number }>>();
  for (const block of MAPPING_BLOCKS) {
    known.set(
      block.section.toLowerCase(),
      new Map(
        block.lines.map((line) => [line.key.toLowerCase(), { type: line.type, id: Number.parseInt(line.tag, 16) }]),
      ),
    );
  }
  known.get(EXCHANGE_GLOBAL_SECTION.toLowerCase())?.set('cachedexchangeconfigflags', { type: 'PT_LONG', id: 0x6629 });
  known.get(EXCHANGE_SERVER_SECTION.toLowerCase())?.set('offlinefolderpath', { type: 'PT_STRING8', id: 0x6610 });
  return known;
}
