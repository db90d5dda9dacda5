import type { OfficePolicy } from './office-policy.js';

/**
 * Campaign-level choices for the PRF (not per user). See ../shared/reference/prf-format.md §1.2 and §7.
 */
export interface ProfileOptions {
  /**
   * `modify-default`: ModifyDefaultProfileIfPresent=TRUE + OverwriteProfile=Append — updates the profile the
   * user already has (the seed's case). `create`: a new profile named ProfileName (OverwriteProfile=Yes).
   */
  readonly mode: 'modify-default' | 'create';
  /** DefaultProfile=Yes|No */
  readonly defaultProfile: boolean;
  /** BackupProfile=No stops "Backup of <profile>" copies; with UniqueService=Yes it avoids duplicate accounts. */
  readonly backupProfile: boolean;
  /** Add the Microsoft Outlook Client section with CachedExchangeMode. */
  readonly cachedMode: boolean;
  /**
   * The workstations' single-byte Windows code page (1252 by default; 874, 1250–1258): the bytes of `ansi` output, and
   * with `utf16le` still the page MailboxName/HomeServer (8-bit PT_STRING8 properties) must fit in.
   */
  readonly codepage: number;
  /** `ansi`: code page bytes, CRLF, no BOM (safe for Outlook 2003). `utf16le`: BOM + CRLF, as the OCT writes. */
  readonly encoding: 'ansi' | 'utf16le';
  /**
   * Outlook versions a PRF cannot move to RPC over HTTP (office-policy.ts): such rows are rejected with
   * FR_ERR_OFFICE_POLICY_SKIPPED (recorded `skipped` at import). Absent: no version policy (lint, benchmarks).
   */
  readonly officePolicy?: OfficePolicy;
}

export const DEFAULT_PROFILE_OPTIONS: ProfileOptions = Object.freeze({
  mode: 'modify-default',
  defaultProfile: true,
  backupProfile: false,
  cachedMode: false,
  codepage: 1252,
  encoding: 'ansi',
});
