import { z } from 'zod';
import { isValidTimeZone, parseDays, parseStartAt, parseWindowHours, startAtHasOffset } from '../rollout/schedule.js';
import { parseWaveSize } from '../rollout/waves.js';
import { checkApplyCommandSetting } from './apply-command-rules.js';
import { capsSchema } from './caps-schema.js';

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
      .superRefine((value, ctx) => {
        for (const message of checkApplyCommandSetting(value)) ctx.addIssue({ code: 'custom', message });
      })
      .describe(
        "the name of a template on the agents' allow-list, or a template (sh text for posix, PowerShell text for windows) with quoted placeholders",
      ),
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

const timeZoneSchema = z
  .string()
  .refine(isValidTimeZone, 'not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)')
  .describe('IANA time zone the window hours are read in');

export const windowSchema = z
  .object({
    days: z
      .array(z.string())
      .min(1)
      .default(['daily'])
      .superRefine((days, ctx) => {
        const parsed = parseDays(days);
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
      })
      .describe('days the window OPENS on: mon..sun, ranges (mon-fri), daily, weekdays, weekends'),
    hours: z
      .string()
      .superRefine((hours, ctx) => {
        const parsed = parseWindowHours(hours);
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
      })
      .describe('HH:MM-HH:MM local time; an end not after the start is on the next day (22:00-06:00)'),
  })
  .strict();

const siteScheduleSchema = z
  .object({ timezone: timeZoneSchema.optional(), windows: z.array(windowSchema).optional() })
  .strict()
  .describe("a site's own zone and windows (windows default to the campaign's, read in the site's zone)");

/** Nightly re-queue of users whose transient failures used up their retries (a BullMQ job scheduler). */
const retryCronSchema = z
  .object({
    cron: z
      .string()
      .regex(/^\s*\S+(\s+\S+){4,5}\s*$/, 'a cron pattern of 5 fields (or 6 with seconds), e.g. "0 23 * * *"')
      .describe('when users whose last failure was transient are re-queued (only those whose site window is open)'),
    timezone: timeZoneSchema.optional().describe('IANA zone of the cron (default: schedule.timezone, else UTC)'),
  })
  .strict();

export const scheduleSchema = z
  .object({
    start_at: z
      .string()
      .optional()
      .describe('ISO date-time: with an offset (2026-12-04T22:00:00+01:00) or read in `timezone`'),
    timezone: timeZoneSchema.optional(),
    windows: z.array(windowSchema).default([]).describe('no windows: deploys may start at any time'),
    min_deploy_minutes: z
      .number()
      .positive()
      .default(5)
      .describe('floor of the expected duration of one deploy: it starts only if this much of the window is left'),
    deploy_estimate_seconds: z
      .number()
      .positive()
      .default(60)
      .describe('expected duration of one deploy until agents have measured it (plan, and the first deploys)'),
    sites: z.record(z.string(), siteScheduleSchema).default({}),
    retry: retryCronSchema.optional(),
  })
  .strict()
  .superRefine((schedule, ctx) => {
    const needsZone = schedule.windows.length > 0 ? 'windows' : undefined;
    if (!schedule.timezone && needsZone) {
      ctx.addIssue({
        code: 'custom',
        path: ['timezone'],
        message: 'required with windows: the IANA zone their hours are read in (e.g. Europe/Paris)',
      });
    }
    for (const [site, own] of Object.entries(schedule.sites)) {
      const windows = own.windows ?? schedule.windows;
      if (windows.length > 0 && !own.timezone && !schedule.timezone) {
        ctx.addIssue({
          code: 'custom',
          path: ['sites', site, 'timezone'],
          message: 'required with windows (or set schedule.timezone)',
        });
      }
    }
    if (schedule.start_at !== undefined) {
      const text = schedule.start_at.trim();
      if (parseStartAt(text, schedule.timezone ?? 'UTC') === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['start_at'],
          message: `"${schedule.start_at}": not an ISO date-time such as 2026-12-04T22:00:00+01:00`,
        });
      } else if (!schedule.timezone && !startAtHasOffset(text)) {
        ctx.addIssue({
          code: 'custom',
          path: ['start_at'],
          message: 'give an offset (…Z, …+01:00) or set schedule.timezone',
        });
      }
    }
  });

const waveSizeSchema = z.union([z.number(), z.string()]).superRefine((value, ctx) => {
  const parsed = parseWaveSize(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

export const wavesSchema = z
  .object({
    canary: waveSizeSchema.optional().describe('first wave: a number of users or a percentage ("2%")'),
    size: waveSizeSchema.optional().describe('each following wave; absent: everyone left in one wave'),
    order: z.enum(['csv', 'site', 'random']).default('csv'),
    seed: z
      .union([z.string(), z.number()])
      .transform(String)
      .optional()
      .describe('order random: the same seed gives the same waves (default: the campaign name)'),
    site_order: z.array(z.string()).optional().describe('order site: these sites first, in this order'),
    soak_minutes: z.number().min(0).default(0).describe('wait between a wave being promoted and the next starting'),
    max_fail_percent: z
      .number()
      .min(0)
      .max(100)
      .optional()
      .describe("halt when a wave's failure rate is strictly greater (Ansible's max_fail_percentage)"),
    count_retrying_as_failed: z
      .boolean()
      .default(false)
      .describe('count transient failures still retrying toward the halt (permanent ones always count)'),
    auto_promote_percent: z
      .number()
      .gt(0)
      .max(100)
      .optional()
      .describe('promote the next wave once this share of the wave is applied (and only then)'),
  })
  .strict()
  .superRefine((waves, ctx) => {
    if (waves.site_order && waves.order !== 'site') {
      ctx.addIssue({ code: 'custom', path: ['site_order'], message: 'only with order: site' });
    }
  });

export const campaignFileSchema = z
  .object({
    name: z.string().optional(),
    defaults: columnDefaultsSchema.default({}),
    profile: profileSchema.default(profileSchema.parse({})),
    retry: retrySchema.default(retrySchema.parse({})),
    deploy: deploySchema.default(deploySchema.parse({})),
    schedule: scheduleSchema.optional(),
    waves: wavesSchema.optional(),
    caps: capsSchema.optional(),
  })
  .strict();

export type CampaignFile = z.infer<typeof campaignFileSchema>;
export type ColumnDefaults = z.infer<typeof columnDefaultsSchema>;
export type ScheduleSettings = z.infer<typeof scheduleSchema>;
export type WaveSettings = z.infer<typeof wavesSchema>;
