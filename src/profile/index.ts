export { findUnsafeReason } from './check-prf-value.js';
export {
  codePageLabel,
  decodeCodePage,
  findUnrepresentable,
  isSupportedCodePage,
  SINGLE_BYTE_CODE_PAGES,
} from './code-page.js';
export {
  type DecodedPrf,
  decodePrfBytes,
  detectLineEndings,
  type LineEndings,
  type PrfEncoding,
} from './decode-prf-bytes.js';
export { hasLintErrors, lintPrf } from './lint-prf.js';
export type { LintFinding, LintReport, LintSeverity } from './lint-types.js';
export {
  EXCHANGE_GLOBAL_SECTION,
  EXCHANGE_GLOBAL_SECTION_GUID,
  MAPPING_BLOCKS,
  type MappingBlock,
  type MappingLine,
  type PropType,
} from './mapping-blocks.js';
export {
  findEntry,
  findSection,
  type ParsedPrf,
  type PrfEntry,
  type PrfOddLine,
  type PrfSection,
  parsePrf,
  readValue,
} from './parse-prf.js';
export { DEFAULT_PROFILE_OPTIONS, type ProfileOptions } from './profile-options.js';
export {
  assertProfileOptions,
  type ProfileArtifact,
  type ProfileRejection,
  type RenderResult,
  renderProfile,
} from './render-profile.js';
export {
  type DecodedRpcFlags,
  decodeRpcFlags,
  encodeRpcFlags,
  formatPtLong,
  KNOWN_ROH_BITS,
  parsePtLong,
  ROH_AUTH_SCHEME,
  ROH_FLAG,
  type RpcFlags,
} from './rpc-flags.js';
