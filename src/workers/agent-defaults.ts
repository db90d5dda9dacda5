import type { AgentRole } from './campaign-workers.js';

/** Agent defaults, in a module of their own so `agent --help` can show them without loading BullMQ. */
export const AGENT_DEFAULTS = Object.freeze({
  roles: ['generate', 'deploy'] as readonly AgentRole[],
  concurrency: 20,
  generateConcurrency: 2,
  lockMs: 30_000,
  stalledMs: 15_000,
  maxStalls: 20,
  pollMs: 2_000,
  graceMs: 30_000,
  heartbeatMs: 5_000,
});
