import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fleet, openFleet } from '../../src/app/open-fleet.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { type AgentProcess, spawnAgent, waitForLog } from '../helpers/agent-process.js';
import { writeFault } from '../helpers/pipeline-campaign.js';
import { connectTestRedis, createTestPrefix, deletePrefix, TEST_REDIS_URL } from '../helpers/redis.js';
import { CLI, runCli } from '../helpers/run-cli.js';

/** The admin's day-to-day loop: what happened, who serves what, and exit codes a script can act on. */
const prefix = createTestPrefix('see');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-see-'));
const hosts = join(work, 'hosts');
const HEADER = 'username,mailbox,exchange_server,proxy,auth,host,site,office,profile_name';
let agent: AgentProcess | undefined;
let fleet: Fleet;

const row = (name: string, host: string, site: string, office = '11.0') =>
  `${name},${name},exch01.corp.example.com,https://mail.example.com,ntlm,${host},${site},${office},Outlook`;
const cli = (...args: string[]) => runCli(work, prefix, args);
const lastLine = (text: string) => text.trimEnd().split('\n').at(-1);

function writeFiles(name: string, rows: readonly string[], retry = 'max_attempts: 2\n  base_delay_seconds: 0.1'): void {
  writeFileSync(join(work, `${name}.csv`), `${[HEADER, ...rows].join('\n')}\n`);
  writeFileSync(
    join(work, `${name}.yaml`),
    `deploy:\n  local_root: ${hosts}\nretry:\n  ${retry}\n  max_delay_seconds: 600\n  jitter: 0\n`,
  );
}

function run(name: string, ...extra: string[]) {
  return cli('run', `${name}.csv`, '--campaign', name, '--campaign-file', `${name}.yaml`, ...extra);
}

beforeAll(async () => {
  writeFault(hosts, 'ws-bad1', ['exit=77']);
  writeFault(hosts, 'ws-bad2', ['exit=77']);
  writeFault(hosts, 'ws-busy', ['exit=75']);
  fleet = await openFleet(resolveConfig({ flags: { redisUrl: TEST_REDIS_URL, prefix } }));
});

afterAll(async () => {
  await agent?.stop('SIGKILL');
  await fleet?.close();
  const redis = connectTestRedis();
  await deletePrefix(redis, prefix);
  redis.disconnect();
  rmSync(work, { recursive: true, force: true });
});

describe('seeing what happened', { timeout: 90_000 }, () => {
  it('status says when no agent serves a campaign with queued work, and a draft has no pace yet', () => {
    writeFiles('idle', [row('i1', 'ws-i1', 'paris')]);
    expect(run('idle').code).toBe(0);
    const status = cli('status', 'idle');
    expect(status.stdout).toContain(
      `agents    no agent is serving this campaign — start one with \`fleet-rollout agent --prefix ${prefix}\``,
    );
    expect(status.stdout).toContain('pace      measuring (no user finished yet)');
    expect(status.stdout).not.toContain('over 0s');

    writeFiles('draft', [row('d1', 'ws-d1', 'paris')]);
    expect(cli('import', 'draft.csv', '--campaign', 'draft', '--campaign-file', 'draft.yaml').code).toBe(0);
    const draft = cli('status', 'draft');
    expect(draft.stdout).toContain('pace      not started');
    expect(draft.stdout).not.toMatch(/0\.0 users\/min/);
    expect(draft.stdout).not.toContain('no agent is serving'); // nothing queued in a draft
    const waitDraft = cli('wait', 'draft', '--timeout', '1');
    expect(waitDraft.code).toBe(6);
    expect(waitDraft.stderr).toContain('campaign draft is a draft: waiting for `fleet-rollout start draft`');
    expect(lastLine(waitDraft.stdout)).toBe('campaign draft still draft after the timeout: 0/1 finished');
  });

  it('run --follow exits 3 when users failed, with the outcome on the last line; status and campaigns show why', async () => {
    agent = spawnAgent(TEST_REDIS_URL, prefix, ['--heartbeat-ms', '300']);
    await waitForLog(agent, 'agent started');
    writeFiles('mixed', [
      row('ok1', 'ws-ok1', 'paris'),
      row('ok2', 'ws-ok2', 'paris'),
      row('bad1', 'ws-bad1', 'lyon'),
      row('bad2', 'ws-bad2', 'lyon'),
      row('new1', 'ws-new1', 'paris', '16.0'), // skipped by the Office policy
    ]);
    const follow = run('mixed', '--follow', '--allow-rejects');
    expect(follow.code).toBe(3);
    expect(follow.stdout).toContain('import mixed: 4 valid, 1 rejected');
    expect(lastLine(follow.stdout)).toBe(
      'campaign mixed done: 2 applied, 2 failed, 1 skipped — see `fleet-rollout report mixed --state failed`',
    );

    expect(follow.stdout.match(/rejected\.csv/g)).toHaveLength(1); // named once, by the import summary
    const bad = cli('user', 'mixed', 'bad1');
    expect(bad.stdout).toContain('last error FR_ERR_REMOTE_PERMISSION (permanent): fault switch: exit 77\n');
    expect(bad.stdout).not.toContain('(exit 77)');
    expect(bad.stdout).not.toContain('| apply-profile: fault switch: exit 77'); // stderr repeating the message

    expect(cli('wait', 'mixed').code).toBe(3);
    expect(cli('wait', 'mixed', '--no-fail-on-failures').code).toBe(0);
    expect(cli('wait', 'mixed', '--fail-exit-code', '9').code).toBe(9);

    const status = cli('status', 'mixed');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('failures  2 failed · causes: FR_ERR_REMOTE_PERMISSION 2');
    expect(status.stdout).toContain('by site: lyon 2');
    expect(status.stdout).toContain('top hosts: ws-bad1 1 · ws-bad2 1');
    expect(status.stdout).toMatch(new RegExp(`agents {4}${hostname()}:${agent.pid} · serves `));
    const json = JSON.parse(cli('status', 'mixed', '--json').stdout);
    expect(json.failures).toMatchObject({ total: 2, byCode: [{ value: 'FR_ERR_REMOTE_PERMISSION', count: 2 }] });
    expect(json.agents[0]).toMatchObject({ pid: agent.pid, roles: ['generate', 'deploy'] });

    const campaigns = cli('campaigns');
    expect(campaigns.stdout).toMatch(/mixed +done .*\n {4}failures {2}2 failed · causes: FR_ERR_REMOTE_PERMISSION 2/);
    // The idle campaign of the first test was served once the agent came.
    expect(cli('wait', 'idle', '--timeout', '30s').code).toBe(0);
  });

  it('the agent names each log field once (pid is not repeated in its start line)', () => {
    const started =
      agent
        ?.output()
        .split('\n')
        .find((line) => line.includes('"agent started"')) ?? '';
    expect(started).not.toBe('');
    expect(started.match(/"pid":/g)).toHaveLength(1);
  });

  it('report of an unknown campaign prints the error alone, no CSV header before it', () => {
    for (const format of ['csv', 'json']) {
      const report = cli('report', 'no-such-campaign', '--format', format);
      expect(report.code).toBe(1);
      expect(report.stdout).toBe('');
      expect(report.stderr).toBe('fleet-rollout: FR_ERR_CAMPAIGN_NOT_FOUND: no campaign named no-such-campaign\n');
    }
  });

  it('retry --user of a skipped user says why nothing was queued', () => {
    const retry = cli('retry', 'mixed', '--user', 'new1');
    expect(retry.code).toBe(0);
    expect(retry.stdout).toContain('0 user(s) queued');
    expect(retry.stdout).toMatch(
      /1 not queued: it was skipped at import \(FR_ERR_OFFICE_POLICY_SKIPPED: line 6, office: Outlook 2016 or later.*\): fix its row or the campaign file and import again/,
    );
  });

  it('users waiting for a retry are shown apart; wait --timeout exits 6; a halted campaign exits 4 with its reason', async () => {
    writeFiles('slow', [row('busy1', 'ws-busy', 'paris')], 'max_attempts: 5\n  base_delay_seconds: 600');
    expect(run('slow').code).toBe(0);
    const deadline = Date.now() + 30_000;
    while ((await fleet.status('slow')).backoff.waiting === 0) {
      if (Date.now() > deadline) throw new Error('the user never went into backoff');
      await new Promise((resume) => setTimeout(resume, 100));
    }
    const status = cli('status', 'slow');
    expect(status.stdout).toMatch(/retry {5}1 user\(s\) waiting for retry until \d\d:\d\d:\d\d UTC/);
    expect(status.stdout).not.toContain('ETA'); // the only user left waits: no pace can say when

    const timedOut = cli('wait', 'slow', '--timeout', '1');
    expect(timedOut.code).toBe(6);
    expect(lastLine(timedOut.stdout)).toBe('campaign slow still running after the timeout: 0/1 finished');

    await fleet.halt('slow', 'wave 1 failure rate 100% > 0%');
    const halted = cli('wait', 'slow');
    expect(halted.code).toBe(4);
    expect(lastLine(halted.stdout)).toBe(
      'campaign slow halted: wave 1 failure rate 100% > 0% (0 applied, 0 failed, 0 skipped)',
    );
  });

  it('run --follow on a terminal redraws the status block without wiping the import summary above it', async () => {
    writeFiles('tty', [row('t1', 'ws-t1', 'paris'), row('t2', 'ws-t2', 'lyon')]);
    // `script` gives the CLI a pseudo-terminal, as an admin's shell would.
    const command = `${process.execPath} ${CLI} run tty.csv --campaign tty --campaign-file tty.yaml --follow`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: work,
      env: { ...process.env, REDIS_URL: TEST_REDIS_URL, FLEET_PREFIX: prefix },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((done) => child.once('exit', done));
    expect(code).toBe(0);
    expect(output).toContain('import tty: 2 valid, 0 rejected');
    expect(output).not.toContain('\x1b[2J'); // never the whole screen
    expect(output).not.toContain('\x1b[H');
    expect(output.indexOf('import tty:')).toBeLessThan(output.indexOf('campaign tty:'));
    expect(output).toContain('campaign tty done: 2 applied, 0 failed, 0 skipped');
  });
});
