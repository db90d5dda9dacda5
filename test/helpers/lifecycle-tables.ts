import { CAMPAIGN_INTENTS, CAMPAIGN_TRANSITIONS, USER_INTENTS, USER_TRANSITIONS } from '../../src/rollout/lifecycle.js';
import { CAMPAIGN_STATES, USER_STATES } from '../../src/rollout/states.js';

/** The transition tables as the Markdown docs/architecture.md shows (a test keeps the doc equal to the code). */
export function renderUserTable(): string {
  const states = ['absent', ...USER_STATES] as const;
  const head = `| intent \\ state | ${states.join(' | ')} |`;
  const rule = `|---|${states.map(() => '---').join('|')}|`;
  const rows = USER_INTENTS.map((intent) => {
    const cells = states.map((state) => {
      const move = USER_TRANSITIONS[intent][state];
      if (!move) return '·';
      return `${move.to}${move.newRun ? '*' : ''}`;
    });
    return `| **${intent}** | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...rows].join('\n');
}

export function renderCampaignTable(): string {
  const head = `| intent \\ state | ${CAMPAIGN_STATES.join(' | ')} |`;
  const rule = `|---|${CAMPAIGN_STATES.map(() => '---').join('|')}|`;
  const rows = CAMPAIGN_INTENTS.map(
    (intent) =>
      `| **${intent}** | ${CAMPAIGN_STATES.map((state) => CAMPAIGN_TRANSITIONS[intent][state] ?? '·').join(' | ')} |`,
  );
  return [head, rule, ...rows].join('\n');
}
