import { z } from 'zod';

/**
 * The campaign file (YAML or JSON), validated once. Keys are snake_case like the CSV columns.
 * Pure: parsing the file's text is done by the caller (src/config/load-campaign-file.ts).
 */

const yesNo = z.union([z.boolean(), z.enum(['yes', 'no', 'true', 'false', '1', '0'])]);

/** Defaults for any CSV column (same names and rules as the CSV; validated again per row). */
export const columnDefaultsSchema = z
  .object({
    email: z.string(),
    display_name: z.string(),
    mailbox: z.string(),
    exchange_server: z.string(),
    proxy: z.string(),
    auth: z.string(),
    mutual_auth: yesNo,
    principal: z.string(),
    http_first_fast: yesNo,
    http_first_slow: yesNo,
    host: z.string(),
    site: z.string(),
    office: z.union([z.string(), z.number()]),
    profile_name: z.string(),
  })
  .partial()
  .strict()
  .describe('Default value for any CSV column, used when the column is absent or the cell is empty');

export const profileSchema = z
  .object({
    mode: z
      .enum(['modify-default', 'create'])
      .default('modify-default')
      .describe('modify the existing default profile, or create a new one'),
    default_profile: z.boolean().default(true),
    backup_profile: z.boolean().default(false).describe('false avoids "Backup of" profiles and duplicate accounts'),
    cached_mode: z.boolean().default(false),
    codepage: z
      .number()
      .int()
      .refine((value) => [874, 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258].includes(value), {
        message: 'must be a single-byte Windows code page: 874 or 1250 to 1258',
      })
      .default(1252)
      .describe('single-byte Windows code page of ANSI output'),
    encoding: z.enum(['ansi', 'utf16le']).default('ansi'),
    office_policy: z
      .object({
        office_16: z.enum(['skip', 'apply']).default('skip'),
        mailbox_on_exchange_2013_or_later: z.boolean().default(false),
      })
      .strict()
      .default({ office_16: 'skip', mailbox_on_exchange_2013_or_later: false })
      .describe('Outlook versions a PRF cannot move to RPC over HTTP are skipped (docs/prf.md)'),
  })
  .strict();

export const retrySchema = z
  .object({
    max_attempts: z.number().int().min(1).max(1000).default(25),
    base_delay_seconds: z.number().positive().default(30),
    max_delay_seconds: z.number().positive().default(3600),
    jitter: z.number().min(0).max(1).default(0.2),
    horizon_hours: z.number().positive().default(72),
  })
  .strict();

const sshTargetSchema = z
  .object({
    user: z
      .string()
      .regex(/^[^\u0000-\u001f\u007f\s]{1,104}$/, 'ssh login: no spaces or control characters')
      .describe('ssh login on the workstations (credentials stay with the agent)'),
    port: z.number().int().min(1).max(65535),
    target_os: z.enum(['windows', 'posix']),
    staging_dir: z
      .string()
      .regex(/^(\/|[A-Za-z]:[\\/])[^\u0000-\u001f\u007f]*$/, 'staging_dir: an absolute path (/… or C:\\…)')
      .refine((d) => !/(^|[\\/])\.\.([\\/]|$)/.test(d), 'staging_dir: no .. segments'),
    apply_command: z
      .string()
      .min(1)
      .regex(
        /^(?:[^{}\u0000-\u001f]|\{(?:script|prf|user|office|campaign|checksum|rollback)\})*$/,
        'apply_command: placeholders are {script} {prf} {user} {office} {campaign} {checksum} {rollback}',
      )
      .describe('apply command template: sh text (posix) or PowerShell text (windows); placeholders are quoted'),
  })
  .partial()
  .strict();

export const deploySchema = z
  .object({
    transport: z.enum(['local', 'ssh']).default('local'),
    timeout_seconds: z
      .number()
      .positive()
      .default(300)
      .describe('whole deploy step of one user (connect+upload+apply)'),
    ssh: sshTargetSchema.default({}),
    /** Per-site overrides of the ssh settings, keyed by the CSV `site` value. */
    sites: z.record(z.string(), sshTargetSchema).default({}),
    local_root: z.string().optional().describe('local transport: directory holding one simulated workstation per host'),
    stage_while_outlook_runs: z
      .boolean()
      .default(false)
      .describe('stage the PRF while Outlook runs (applied-pending-restart) instead of waiting for it to close'),
  })
  .strict();

export const campaignFileSchema = z
  .object({
    name: z.string().optional(),
    defaults: columnDefaultsSchema.default({}),
    profile: profileSchema.default(profileSchema.parse({})),
    retry: retrySchema.default(retrySchema.parse({})),
    deploy: deploySchema.default(deploySchema.parse({})),
  })
  .strict();

export type CampaignFile = z.infer<typeof campaignFileSchema>;
export type ColumnDefaults = z.infer<typeof columnDefaultsSchema>;
