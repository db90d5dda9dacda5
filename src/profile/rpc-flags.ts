/**
 * PR_ROH_FLAGS (PRF `RPCoverHTTPflags`) and PR_ROH_PROXY_AUTH_SCHEME (`RPCProxyAuthScheme`) values.
 * Source: reference/prf-format.md §2 (Microsoft property pages, mapi-profile-toolkit MAPIAux.h).
 */
export const ROH_FLAG = Object.freeze({
  useRoh: 0x1,
  sslOnly: 0x2,
  mutualAuth: 0x4,
  httpFirstFast: 0x8,
  /** Undocumented; never set (one unnamed header calls it PRXF_IGNORE_SEC_WARNING). */
  undocumented10: 0x10,
  httpFirstSlow: 0x20,
});

/** Every bit Microsoft documents; anything else in a flags value is suspect. */
export const KNOWN_ROH_BITS = 0x1 | 0x2 | 0x4 | 0x8 | 0x20;

export const ROH_AUTH_SCHEME = Object.freeze({ basic: 0x1, ntlm: 0x2, negotiate: 0x10 });

export interface RpcFlags {
  readonly ssl: boolean;
  readonly mutualAuth: boolean;
  readonly httpFirstFast: boolean;
  readonly httpFirstSlow: boolean;
}

export interface DecodedRpcFlags extends RpcFlags {
  readonly useRoh: boolean;
  /** Bits outside KNOWN_ROH_BITS (0x10 included). */
  readonly unknownBits: number;
}

/** Always sets 0x1 (the whole point of the profile); never sets 0x10. */
export function encodeRpcFlags(flags: RpcFlags): number {
  return (
    ROH_FLAG.useRoh |
    (flags.ssl ? ROH_FLAG.sslOnly : 0) |
    (flags.mutualAuth ? ROH_FLAG.mutualAuth : 0) |
    (flags.httpFirstFast ? ROH_FLAG.httpFirstFast : 0) |
    (flags.httpFirstSlow ? ROH_FLAG.httpFirstSlow : 0)
  );
}

export function decodeRpcFlags(value: number): DecodedRpcFlags {
  return {
    useRoh: (value & ROH_FLAG.useRoh) !== 0,
    ssl: (value & ROH_FLAG.sslOnly) !== 0,
    mutualAuth: (value & ROH_FLAG.mutualAuth) !== 0,
    httpFirstFast: (value & ROH_FLAG.httpFirstFast) !== 0,
    httpFirstSlow: (value & ROH_FLAG.httpFirstSlow) !== 0,
    unknownBits: value & ~KNOWN_ROH_BITS,
  };
}

/** PT_LONG as the OCT and the reference's samples write it: `0x` + at least 4 lower-case hex digits. */
export function formatPtLong(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}

/**
 * Reads a PT_LONG value: hex with `0x` (what every sample uses) or plain decimal (seen in real OCT account
 * blocks, e.g. `IMAPPort=993`). Returns undefined when it is neither.
 */
export function parsePtLong(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^0x[0-9a-f]{1,8}$/i.test(trimmed)) return Number.parseInt(trimmed.slice(2), 16);
  if (/^-?[0-9]{1,10}$/.test(trimmed)) return Number.parseInt(trimmed, 10);
  return undefined;
}
