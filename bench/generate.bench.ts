/**
 * `npm run bench:generate`: 100k-row CSV → PRFs. Prints and writes bench/results/generate.json:
 * - in memory: CSV bytes → readRoster (validation) → renderProfile, no file writes (target ≥ 100k rows/s);
 * - end to end: the real `generate` code path (generateProfiles: file read, PRF files, manifest) in a temp dir;
 * - peak RSS of the process after the end-to-end run (target ≤ 200 MB), before the in-memory phase loads the CSV.
 * Rows per CPU-second are printed too: on a shared machine they move less than wall-clock rates.
 * Env: BENCH_ROWS (100000); BENCH_SMOKE=1 runs 300 rows and writes to the smoke folder (bench/lib/bench-size.ts).
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateProfiles } from '../src/campaign/generate-profiles.js';
import { defaultCampaignFile } from '../src/config/load-campaign-file.js';
import { readRoster } from '../src/csv/index.js';
import { DEFAULT_PROFILE_OPTIONS, renderProfile } from '../src/profile/index.js';
import { benchSize, machineLoad, writeBenchResult } from './lib/bench-size.js';

const ROWS = benchSize('BENCH_ROWS', { full: 100_000, smoke: 300 });
const HEADER =
  'username,email,display_name,exchange_server,proxy,auth,mutual_auth,http_first_fast,host,site,office,profile_name';
const SITES = ['paris', 'lyon', 'lille', 'bruxelles'];
const OFFICES = ['2003', '2007', '2010', '2013', '2016'];

function row(i: number): string {
  const user = i % 97 === 0 ? `hélène.d${i}` : `user${i}`;
  const proxy = i % 500 === 0 ? 'mail.contoso.fr:443' : 'https://mail.contoso.fr'; // ~0.2% rejected
  const auth = i % 7 === 0 ? 'basic' : 'ntlm';
  return [
    user,
    `user${i}@contoso.fr`,
    `User Number ${i}`,
    'exch01.contoso.fr',
    proxy,
    auth,
    i % 3 === 0 ? 'yes' : 'no',
    i % 5 === 0 ? 'yes' : 'no',
    `ws-${String(i).padStart(6, '0')}.demo.lan`,
    SITES[i % SITES.length],
    OFFICES[i % OFFICES.length],
    'Outlook',
  ].join(',');
}

async function writeCsv(path: string, rows: number): Promise<void> {
  const stream = createWriteStream(path);
  stream.write(`${HEADER}\r\n`);
  for (let i = 1; i <= rows; i++) {
    if (!stream.write(`${row(i)}\r\n`)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) =>
    stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
}

async function* chunksOf(bytes: Uint8Array, size = 256 * 1024): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

interface Timing {
  readonly rows: number;
  readonly seconds: number;
  /** CPU time of this process: a fairer figure than wall time when other work shares the cores. */
  readonly cpuSeconds: number;
}

async function measureInMemory(bytes: Uint8Array, render: boolean): Promise<Timing> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let rows = 0;
  for await (const item of readRoster(chunksOf(bytes), { file: 'bench.csv', encoding: 'utf-8', defaults: {} })) {
    rows++;
    if (render && item.kind === 'accepted') renderProfile(item.row.spec, DEFAULT_PROFILE_OPTIONS);
  }
  const used = process.cpuUsage(cpu);
  return { rows, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** Best of a few runs (after a warm-up): the least disturbed by other processes. */
async function measureBest(bytes: Uint8Array, render: boolean, runs = 3): Promise<Timing> {
  let best: Timing | undefined;
  for (let run = 0; run < runs; run++) {
    const timing = await measureInMemory(bytes, render);
    if (!best || timing.seconds < best.seconds) best = timing;
  }
  return best as Timing;
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-bench-generate-'));
  try {
    const csvPath = join(dir, 'users.csv');
    const smallCsvPath = join(dir, 'small.csv');
    await writeCsv(csvPath, ROWS);
    await writeCsv(smallCsvPath, Math.ceil(ROWS / 10));
    const outDir = join(dir, 'out');

    const baselineRss = process.memoryUsage().rss;
    // A run on a tenth of the rows first: if memory is constant, the full run barely raises the peak.
    await generateProfiles({
      csvPath: smallCsvPath,
      outDir: join(dir, 'out-small'),
      campaign: defaultCampaignFile(),
      profileOptions: DEFAULT_PROFILE_OPTIONS,
      encoding: 'auto',
    });
    const peakRssSmall = process.resourceUsage().maxRSS * 1024;
    const e2eStarted = performance.now();
    const summary = await generateProfiles({
      csvPath,
      outDir,
      campaign: defaultCampaignFile(),
      profileOptions: DEFAULT_PROFILE_OPTIONS,
      encoding: 'auto',
    });
    const e2eSeconds = (performance.now() - e2eStarted) / 1000;
    const peakRssE2e = process.resourceUsage().maxRSS * 1024;

    const bytes = new Uint8Array(await readFile(csvPath));
    await measureInMemory(bytes, true); // warm-up (JIT), not counted
    const validation = await measureBest(bytes, false);
    const full = await measureBest(bytes, true);

    const results = {
      csvMegabytes: mb(bytes.length),
      valid: summary.valid,
      rejected: summary.rejected,
      inMemoryValidationRowsPerSecond: Math.round(validation.rows / validation.seconds),
      inMemoryValidationAndGenerationRowsPerSecond: Math.round(full.rows / full.seconds),
      inMemoryValidationRowsPerCpuSecond: Math.round(validation.rows / validation.cpuSeconds),
      inMemoryValidationAndGenerationRowsPerCpuSecond: Math.round(full.rows / full.cpuSeconds),
      endToEndSeconds: Math.round(e2eSeconds * 100) / 100,
      endToEndRowsPerSecond: Math.round(ROWS / e2eSeconds),
      rssMegabytesBeforeEndToEnd: mb(baselineRss),
      peakRssMegabytesAfterTenthRun: mb(peakRssSmall),
      peakRssMegabytesAfterEndToEnd: mb(peakRssE2e),
      peakRssMegabytesIncludingInMemoryPhase: mb(process.resourceUsage().maxRSS * 1024),
      targets: { inMemoryRowsPerSecond: 100_000, peakRssMegabytes: 200 },
    };
    for (const [key, value] of Object.entries(results)) {
      if (typeof value !== 'object') process.stdout.write(`${key.padEnd(48)} ${value}\n`);
    }
    process.stdout.write(`machine: ${JSON.stringify(machineLoad())}\n`);
    await writeBenchResult('generate', { rows: ROWS }, results);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
