import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { FleetError } from '../../errors/index.js';
import type { SshCredentials } from './options.js';
import { withReusedSigningKey } from './signing-key.js';

export interface CredentialSources {
  /** Private key file (OpenSSH or PEM). */
  readonly keyPath?: string;
  /** File whose first line is the key passphrase. */
  readonly passphraseFile?: string;
  /** Passphrase taken from the environment by the caller (e.g. FLEET_SSH_KEY_PASSPHRASE). */
  readonly passphrase?: string;
  /** File whose first line is the login password. */
  readonly passwordFile?: string;
  /** ssh-agent socket (SSH_AUTH_SOCK). */
  readonly agentSocket?: string;
}

async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.split(/\r?\n/)[0] ?? '';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // The path is not secret; the content never appears in a message.
    throw new FleetError('FR_ERR_FILE_UNREADABLE', `${what} file cannot be read: ${path}`, {
      path,
      errno: typeof code === 'string' ? code : undefined,
    });
  }
}

/**
 * Reads the agent's credentials once. The key is decrypted here (a wrong passphrase fails now, with a message that
 * holds no secret) and the passphrase is dropped; only the parsed key is kept in memory.
 */
export async function loadSshCredentials(sources: CredentialSources): Promise<SshCredentials> {
  let privateKey: SshCredentials['privateKey'];
  if (sources.keyPath) {
    let keyText: Buffer;
    try {
      keyText = await readFile(sources.keyPath);
    } catch {
      throw new FleetError('FR_ERR_FILE_UNREADABLE', `private key file cannot be read: ${sources.keyPath}`, {
        path: sources.keyPath,
      });
    }
    const passphrase = sources.passphraseFile
      ? await readSecretFile(sources.passphraseFile, 'key passphrase')
      : sources.passphrase;
    const parsed = ssh2.utils.parseKey(keyText, passphrase);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key instanceof Error) {
      throw new FleetError(
        'FR_ERR_CONFIG_INVALID',
        `private key cannot be used (wrong or missing passphrase?): ${sources.keyPath}`,
        {
          path: sources.keyPath,
        },
      );
    }
    if (!key.isPrivateKey()) {
      // ssh2 parses an `ssh-ed25519 AAAA…` line too; the agent would start and then fail every user's login.
      throw new FleetError(
        'FR_ERR_CONFIG_INVALID',
        `--ssh-key ${sources.keyPath} is a public key: give the private key file (the one without .pub)`,
        { path: sources.keyPath },
      );
    }
    privateKey = withReusedSigningKey(key);
  }
  const password = sources.passwordFile ? await readSecretFile(sources.passwordFile, 'password') : undefined;
  return { privateKey, agentSocket: sources.agentSocket || undefined, password };
}
