import { LoomError } from '../../src/engine/errors.js';

/** The LoomError `fn` throws (any other error is rethrown; no error at all fails the test). */
export function loomErrorOf(fn: () => unknown): LoomError {
  try {
    fn();
  } catch (err) {
    if (err instanceof LoomError) return err;
    throw err;
  }
  throw new Error('expected a LoomError');
}
