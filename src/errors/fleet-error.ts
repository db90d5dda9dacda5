import { ERROR_CODES, type ErrorCode, type FailureClass } from './codes.js';

/** Only allow-listed, non-secret facts go here (host, user, step, exit code, stderr tail). */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | undefined>>;

export class FleetError extends Error {
  override readonly name = 'FleetError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message?: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code].message, options);
    this.code = code;
    this.details = details;
  }

  get failureClass(): FailureClass {
    return ERROR_CODES[this.code].failureClass;
  }

  get retryable(): boolean {
    return this.failureClass === 'transient';
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exitCode;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].httpStatus;
  }

  toJSON(): { code: ErrorCode; message: string; failureClass: FailureClass; details: ErrorDetails } {
    return { code: this.code, message: this.message, failureClass: this.failureClass, details: this.details };
  }
}

export function isFleetError(value: unknown): value is FleetError {
  return value instanceof FleetError;
}

/** At every catch boundary: anything that is not ours is a bug (graphile's coerceError). */
export function coerceError(value: unknown): FleetError {
  if (value instanceof FleetError) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new FleetError('FR_ERR_INTERNAL', message, {}, { cause: value });
}
