export { buildApplyCommand, quotePosix, quotePowerShell } from './apply-command.js';
export { createMemoryHostKeyStore, createRedisHostKeyStore, type HostKeyStore } from './host-key-store.js';
export { createHostKeyVerifier, type HostKeyPolicy, type HostKeyVerifier } from './host-key-verifier.js';
export { formatHostId, hashHostId, parseKnownHosts } from './known-hosts.js';
export { type CredentialSources, loadSshCredentials } from './load-credentials.js';
export { loadKnownHosts } from './load-known-hosts.js';
export type { SshCredentials, SshTimeouts, SshTransportOptions, TransportLogger } from './options.js';
export { createSshTransport, type SshTransport } from './ssh-transport.js';
