import { FleetError } from '../errors/index.js';
import { type CampaignFile, campaignFileSchema } from './campaign-schema.js';

/**
 * The schedule and wave settings given as flags on `run`/`import` (strings, as commander hands them over), laid
 * over the campaign file's `schedule:` and `waves:` and checked by the file's own schema, so a flag obeys exactly
 * the rules of the key it replaces; a bad value is one FR_ERR_USAGE naming the flag.
 */
export interface ScheduleOverrideFlags {
  readonly startAt?: string;
  /** `[days ]HH:MM-HH:MM`, repeatable: `mon-fri 22:00-06:00`, `sat,sun 08:00-20:00`, `22:00-06:00` (daily). */
  readonly window?: readonly string[];
  readonly tz?: string;
  readonly canary?: string;
  readonly waveSize?: string;
  readonly waveOrder?: string;
  readonly maxFailPercent?: string;
  readonly soak?: string;
  readonly retryCron?: string;
}

type Path = readonly [section: 'schedule' | 'waves', ...keys: string[]];

const FLAGS: ReadonlyArray<readonly [keyof ScheduleOverrideFlags, Path, string]> = [
  ['startAt', ['schedule', 'start_at'], '--start-at'],
  ['window', ['schedule', 'windows'], '--window'],
  ['tz', ['schedule', 'timezone'], '--tz'],
  ['retryCron', ['schedule', 'retry', 'cron'], '--retry-cron'],
  ['canary', ['waves', 'canary'], '--canary'],
  ['waveSize', ['waves', 'size'], '--wave-size'],
  ['waveOrder', ['waves', 'order'], '--wave-order'],
  ['maxFailPercent', ['waves', 'max_fail_percent'], '--max-fail-percent'],
  ['soak', ['waves', 'soak_minutes'], '--soak'],
];

/** `"50"` → 50 (a count or a number), `"5%"` stays text: the schema reads both. */
const numeric = (value: string): string | number => (/^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value);

function toWindow(text: string): { days: string[]; hours: string } {
  const parts = text.trim().split(/\s+/);
  if (parts.length === 2) return { days: (parts[0] as string).split(','), hours: parts[1] as string };
  return { days: ['daily'], hours: text.trim() };
}

function toValue(option: keyof ScheduleOverrideFlags, raw: string | readonly string[]): unknown {
  if (option === 'window') return (raw as readonly string[]).map(toWindow);
  const text = raw as string;
  return ['canary', 'waveSize', 'maxFailPercent', 'soak'].includes(option) ? numeric(text) : text;
}

export function applyScheduleOverrides(settings: CampaignFile, flags: ScheduleOverrideFlags): CampaignFile {
  const given: Array<{ path: Path; flag: string; raw: unknown }> = [];
  const merged: Record<string, Record<string, unknown>> = {
    schedule: { ...(settings.schedule ?? {}) },
    waves: { ...(settings.waves ?? {}) },
  };
  for (const [option, path, flag] of FLAGS) {
    const raw = flags[option];
    if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) continue;
    const [section, ...keys] = path;
    let target = merged[section] as Record<string, unknown>;
    for (const key of keys.slice(0, -1)) {
      target[key] = { ...((target[key] as Record<string, unknown> | undefined) ?? {}) };
      target = target[key] as Record<string, unknown>;
    }
    target[keys[keys.length - 1] as string] = toValue(option, raw);
    given.push({ path, flag, raw });
  }
  if (given.length === 0) return settings;
  const sections = new Set(given.map((g) => g.path[0]));
  const result = campaignFileSchema.safeParse({
    ...settings,
    ...(sections.has('schedule') || settings.schedule ? { schedule: merged['schedule'] } : {}),
    ...(sections.has('waves') || settings.waves ? { waves: merged['waves'] } : {}),
  });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const at = issue.path.map(String);
    const source = given.find((g) => g.path.every((key, i) => at[i] === key));
    if (!source) return `${at.join('.')}: ${issue.message}`;
    const reason = issue.code === 'invalid_type' ? `expected ${String(issue.expected)}` : issue.message;
    return `${source.flag} ${JSON.stringify(Array.isArray(source.raw) ? source.raw.join(' ') : String(source.raw))}: ${reason}`;
  });
  throw new FleetError('FR_ERR_USAGE', problems.join('; '));
}
