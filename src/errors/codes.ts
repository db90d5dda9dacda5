/**
 * THE error table (fastify's idea): every failure the tool can report, with its class and exit code.
 * `transient` failures are retried with backoff; `permanent` ones never are.
 * docs/errors.md documents every code; test/unit/errors-table.test.ts keeps both in sync.
 * Add codes with a single targeted edit (several people work in this file).
 */
export type FailureClass = 'transient' | 'permanent';

export interface ErrorSpec {
  /** Default message when the thrower gives none. */
  readonly message: string;
  readonly failureClass: FailureClass;
  /** Process exit code when this error ends a CLI command. */
  readonly exitCode: number;
  /** HTTP status when the dashboard answers with it. */
  readonly httpStatus: number;
}

const transient = (message: string, exitCode = 1, httpStatus = 503): ErrorSpec => ({
  message,
  failureClass: 'transient',
  exitCode,
  httpStatus,
});
const permanent = (message: string, exitCode = 1, httpStatus = 400): ErrorSpec => ({
  message,
  failureClass: 'permanent',
  exitCode,
  httpStatus,
});

export const ERROR_CODES = {
  // --- generic -------------------------------------------------------------------------------
  FR_ERR_INTERNAL: permanent('internal error (this is a bug, please report it)', 1, 500),
  FR_ERR_USAGE: permanent('invalid command-line usage', 1),
  FR_ERR_CANCELLED: permanent('cancelled', 1, 409),

  // --- input files (CSV, campaign file) -------------------------------------------------------
  FR_ERR_FILE_UNREADABLE: permanent('file cannot be read', 1),
  FR_ERR_OUTPUT_UNWRITABLE: permanent('output file or directory cannot be written', 1),
  FR_ERR_CSV_EMPTY: permanent('the CSV file has no header row or no data rows', 1),
  FR_ERR_CSV_MISSING_COLUMNS: permanent(
    'required columns are missing from the CSV header and the campaign defaults',
    1,
  ),
  FR_ERR_CSV_MALFORMED: permanent('the CSV file cannot be parsed', 1),
  FR_ERR_CAMPAIGN_FILE_INVALID: permanent('the campaign file is invalid', 1),
  FR_ERR_CONFIG_INVALID: permanent('the configuration is invalid', 1),

  // --- row-level rejections (reported per row, never thrown out of intake) --------------------
  FR_ERR_ROW_FIELD_REQUIRED: permanent('a required field is empty', 2),
  FR_ERR_ROW_FIELD_INVALID: permanent('a field value is invalid', 2),
  FR_ERR_ROW_DUPLICATE: permanent('the username appears on an earlier line', 2),
  FR_ERR_ROW_FIELD_COUNT: permanent('the row has more or fewer fields than the header', 2),
  FR_ERR_ROW_MALFORMED: permanent('the row cannot be parsed', 2),
  FR_ERR_ROW_UNREPRESENTABLE: permanent('a value cannot be written in the chosen code page', 2),

  // --- profile generation ---------------------------------------------------------------------
  FR_ERR_PROFILE_UNSAFE_VALUE: permanent('a value would open a new PRF line, key or section', 1),

  // --- Redis, records, campaigns ----------------------------------------------------------------
  FR_ERR_REDIS_UNREACHABLE: transient('Redis cannot be reached', 1),
  FR_ERR_REDIS_EVICTION_POLICY: permanent('Redis maxmemory-policy would evict keys (use noeviction)', 1, 500),
  FR_ERR_CAMPAIGN_NAME_INVALID: permanent('invalid campaign name', 1),
  FR_ERR_CAMPAIGN_NOT_FOUND: permanent('no such campaign', 1, 404),
  FR_ERR_CAMPAIGN_STATE: permanent('the campaign is not in a state that allows this', 1, 409),
  FR_ERR_USER_NOT_FOUND: permanent('no such user in this campaign', 1, 404),
  FR_ERR_JOB_PAYLOAD_INVALID: permanent('job payload is invalid', 1),
  FR_ERR_RETRY_HORIZON_EXCEEDED: permanent('the host stayed unreachable past the retry horizon', 1),
  FR_ERR_ATTEMPTS_EXHAUSTED: permanent('transient failures used up every attempt', 1),
  FR_ERR_ARTIFACT_CHANGED: permanent(
    'the profile rendered at deploy time differs from the generated one (settings changed; retry the user)',
    1,
  ),
  FR_ERR_JOB_STALLED: permanent('the job stalled too often (agents died while running it)', 1),

  // --- transport: connection (ssh) ----------------------------------------------------------------
  FR_ERR_SSH_CONNECT_REFUSED: transient('connection refused'),
  FR_ERR_SSH_CONNECT_TIMEOUT: transient('connection timed out'),
  FR_ERR_SSH_HOST_UNREACHABLE: transient('host unreachable'),
  FR_ERR_SSH_HOST_NOT_FOUND: transient('host name not found in DNS (laptop offline?)'),
  FR_ERR_SSH_CONNECTION_RESET: transient('connection reset'),
  FR_ERR_SSH_AUTH_FAILED: permanent('authentication failed'),
  FR_ERR_SSH_HOSTKEY_CHANGED: permanent('host key changed (possible man-in-the-middle); not accepted'),
  FR_ERR_SSH_HOSTKEY_UNKNOWN: permanent('host key unknown (not in known_hosts, policy strict)'),
  FR_ERR_SSH_UPLOAD_FAILED: transient('upload failed'),
  FR_ERR_SSH_CHECKSUM_MISMATCH: transient('uploaded file checksum does not match'),
  FR_ERR_TRANSPORT_TIMEOUT: transient('the deploy step timed out'),
  FR_ERR_TRANSPORT_SPAWN: permanent('the apply command could not be started'),

  // --- remote contract (apply script exit codes, sysexits) ----------------------------------------
  FR_ERR_REMOTE_TEMPORARY: transient('workstation busy (exit 75: session busy, hive locked or Outlook running)'),
  FR_ERR_REMOTE_BAD_ARTIFACT: permanent('workstation rejected the profile file (exit 65)'),
  FR_ERR_REMOTE_UNAVAILABLE: permanent('Outlook not installed or unsupported version (exit 69)'),
  FR_ERR_REMOTE_PERMISSION: permanent('permission denied on the workstation (exit 77)'),
  FR_ERR_REMOTE_FAILED: permanent('apply command failed'),
  FR_ERR_REMOTE_PROTOCOL: permanent('apply command broke the remote contract (no result JSON)'),

  // --- lifecycle (transition table, deploy gate, reconciler) -------------------------------------

  // --- Windows side (workstation preflight, policy, verify) --------------------------------------
  FR_ERR_REMOTE_BACKUP_FAILED: permanent(
    'the workstation could not back up an existing key (exit 74); nothing changed',
  ),
  FR_ERR_REMOTE_HIVE_UNLOAD_FAILED: permanent(
    "the user's registry hive could not be unloaded (exit 71): the user may log on with a TEMP profile",
  ),
  FR_ERR_REMOTE_STAGING_UNSAFE: permanent(
    'the staging folder is not owned and locked down by Administrators/SYSTEM (exit 78); nothing ran',
  ),
  FR_ERR_OFFICE_POLICY_SKIPPED: permanent('this Outlook version is skipped by the campaign policy', 2),

  // --- trust boundaries (agent policy, Redis access) ----------------------------------------------
  FR_ERR_APPLY_COMMAND_NOT_ALLOWED: permanent(
    "the campaign's apply command is not on this agent's allow-list (--allow-apply-commands); nothing was run",
  ),
  FR_ERR_SSH_HOSTKEY_PIN_INVALID: permanent(
    "the host key pin in Redis is not signed with the agents' pin secret (forged or foreign); not trusted",
  ),
  FR_ERR_REDIS_AUTH_FAILED: permanent('Redis authentication failed (user name or password)', 1),
  FR_ERR_REDIS_URL_INVALID: permanent('the Redis URL or Sentinel settings are invalid', 1),
  FR_ERR_REDIS_COMMAND_FAILED: transient('a Redis command failed', 1),
  FR_ERR_REMOTE_KILLED: transient('the remote apply process was killed by a signal'),
  FR_ERR_REMOTE_STAGING_NOT_DIR: permanent('the staging directory on the workstation is not a directory'),
  FR_ERR_INPUT_TOO_LARGE: permanent('the input file is far larger than any file of its kind', 1),

  // --- intake and operator tooling -----------------------------------------------------------------
  FR_ERR_DASHBOARD_UNAUTHENTICATED: permanent('log in first (no session, or it expired)', 1, 401),
  FR_ERR_DASHBOARD_FORBIDDEN: permanent('this token may look but not act', 1, 403),
  FR_ERR_DASHBOARD_CSRF: permanent('missing or wrong CSRF token, or a request from another origin', 1, 403),
  FR_ERR_DASHBOARD_TOO_LARGE: permanent('the request body is too large', 1, 413),
  FR_ERR_DASHBOARD_RATE_LIMITED: permanent('too many attempts; wait and try again', 1, 429),
  FR_ERR_DASHBOARD_ROWS_REJECTED: permanent('the uploaded CSV has rejected rows; nothing was imported', 2, 422),
  FR_ERR_SSH_HOST_BUSY: transient('host busy: sshd refused another session (MaxSessions reached)'),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}
