import type { Command } from 'commander';
import type { UserDetail } from '../../campaign/get-user-detail.js';
import type { VerificationRecord } from '../../store/verification-store.js';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';

const iso = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());

/** `applied` only means "registry staged": say whether `verify` saw Outlook take the PRF. */
function verificationLine(state: string, verification: VerificationRecord | undefined): string | undefined {
  if (verification) {
    return `  verify ${verification.status} at ${iso(verification.at)}${verification.reason ? `: ${verification.reason}` : ''}`;
  }
  return state === 'applied'
    ? '  verify not run (applied = registry staged; `fleet-rollout verify` checks that Outlook took the PRF)'
    : undefined;
}

function formatUserDetail(detail: UserDetail, verification?: VerificationRecord): string {
  const { user, attempts } = detail;
  const lines = [
    `${user.username}${user.displayName ? ` (${user.displayName})` : ''} in ${user.campaign}: ${user.state}`,
    `  host ${user.host ?? '-'} · site ${user.site ?? '-'} · line ${user.line} · run ${user.run} · attempts ${user.attempts}`,
    `  updated ${iso(user.updatedAt)} · finished ${iso(user.finishedAt)} · next attempt ${iso(user.nextAttemptAt)}`,
    `  checksum ${user.checksum ?? '-'}${user.officeVersion ? ` · Office ${user.officeVersion}` : ''}${user.backup ? ` · backup ${user.backup}` : ''}`,
  ];
  if (user.parkedReason) lines.push(`  waiting: ${user.parkedReason}`);
  const verified = verificationLine(user.state, verification);
  if (verified) lines.push(verified);
  if (user.lastError) {
    lines.push(`  last error ${user.lastError.code} (${user.lastError.failureClass}): ${user.lastError.message}`);
  }
  lines.push(attempts.length > 0 ? '  attempts (newest first):' : '  no attempts yet');
  for (const attempt of attempts) {
    const code = attempt.code ? ` ${attempt.code}` : '';
    const exit = attempt.exitCode !== undefined ? ` exit ${attempt.exitCode}` : '';
    lines.push(
      `    ${iso(attempt.at)} ${attempt.stage} run ${attempt.run} #${attempt.attempt} ${attempt.outcome}${code}${exit} ${attempt.durationMs} ms${attempt.agent ? ` by ${attempt.agent}` : ''}`,
    );
    if (attempt.message) lines.push(`      ${attempt.message}`);
    if (attempt.stderrTail)
      lines.push(
        ...attempt.stderrTail
          .trimEnd()
          .split('\n')
          .slice(-5)
          // The script prints its error on stderr too ("apply-profile: <message>"): shown once, above.
          .filter((l) => !(attempt.message && l.trim().endsWith(attempt.message)))
          .map((l) => `      | ${l}`),
      );
  }
  return `${lines.join('\n')}\n`;
}

export function registerUser(program: Command): void {
  addConnectionOptions(
    program
      .command('user')
      .description("one user's record and attempt history")
      .argument('<name>', 'campaign name')
      .argument('<username>', 'user name (case-insensitive)')
      .option('--json', 'print JSON', false),
  ).action(async (name: string, username: string, flags: { json?: boolean } & Record<string, unknown>) => {
    const { createVerificationStore } = await import('../../store/verification-store.js');
    await withContext(toConnectionFlags(flags), async (context) => {
      const detail = await context.fleet.user(name, username);
      const verification = await createVerificationStore(context.redis, context.config.prefix).get(
        name,
        detail.user.userKey,
      );
      if (flags.json) await writeJson({ ...detail, ...(verification && { verification }) });
      else await writeOut(formatUserDetail(detail, verification));
    });
  });
}
