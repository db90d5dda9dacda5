export { ERROR_CODES, type ErrorCode, type ErrorSpec, type FailureClass, isErrorCode } from './codes.js';
export { coerceError, type ErrorDetails, FleetError, isFleetError } from './fleet-error.js';
