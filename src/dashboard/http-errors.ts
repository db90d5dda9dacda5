import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { type ErrorCode, FleetError, isFleetError } from '../errors/index.js';

/** What every failed request answers: the error table's HTTP status, `{error: {code, message}}`. */
export function toHttpError(error: unknown): { status: number; code: ErrorCode; message: string } {
  if (isFleetError(error)) return { status: error.httpStatus, code: error.code, message: error.message };
  if (error instanceof ZodError) {
    const message = error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
    return { status: 400, code: 'FR_ERR_USAGE', message };
  }
  const status = (error as FastifyError).statusCode;
  if (status === 413) return fromCode('FR_ERR_DASHBOARD_TOO_LARGE');
  if (status === 429) return fromCode('FR_ERR_DASHBOARD_RATE_LIMITED');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, code: 'FR_ERR_USAGE', message: (error as Error).message };
  }
  // Never echo an unexpected error's text (it may hold a path or a connection string).
  return fromCode('FR_ERR_INTERNAL');
}

function fromCode(code: ErrorCode): { status: number; code: ErrorCode; message: string } {
  const error = new FleetError(code);
  return { status: error.httpStatus, code, message: error.message };
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const answer = toHttpError(error);
  if (answer.status >= 500) request.log.error({ code: answer.code, err: error }, 'request failed');
  void reply.code(answer.status).send({ error: { code: answer.code, message: answer.message } });
}
