import { FleetError } from '../../src/errors/index.js';

/** The FleetError a promise rejects with (anything else, or a success, fails the test). */
export async function failureOf(promise: Promise<unknown>): Promise<FleetError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FleetError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}
