/**
 * The catalogue of Loom errors. Every error a user can see has a stable code (LOOM_ERR_*), so the CLI,
 * the dashboard and remote workers can tell them apart without matching message text.
 */
export type LoomErrorCode =
  | 'LOOM_ERR_SHAPE'
  | 'LOOM_ERR_SPEC'
  | 'LOOM_ERR_MODEL_FILE'
  | 'LOOM_ERR_NAN_LOSS'
  | 'LOOM_ERR_CONFIG'
  | 'LOOM_ERR_DATA'
  | 'LOOM_ERR_STORE'
  | 'LOOM_ERR_QUEUE'
  | 'LOOM_ERR_ANALYSIS'
  | 'LOOM_ERR_BACKEND'
  | 'LOOM_ERR_USAGE';

export class LoomError extends Error {
  readonly code: LoomErrorCode;
  constructor(code: LoomErrorCode, message: string) {
    super(message);
    this.name = 'LoomError';
    this.code = code;
  }
}

const fmtShape = (s: readonly number[]): string => `[${s.join(', ')}]`;

export const shapeError = (where: string, expected: readonly number[] | string, actual: readonly number[]): LoomError =>
  new LoomError(
    'LOOM_ERR_SHAPE',
    `${where}: expected input shape ${typeof expected === 'string' ? expected : fmtShape(expected)}, got ${fmtShape(actual)}`,
  );

export const specError = (where: string, message: string): LoomError => new LoomError('LOOM_ERR_SPEC', `${where}: ${message}`);

export const modelFileError = (message: string): LoomError => new LoomError('LOOM_ERR_MODEL_FILE', message);

export const configError = (field: string, message: string): LoomError =>
  new LoomError('LOOM_ERR_CONFIG', `invalid config field "${field}": ${message}`);

export const dataError = (message: string): LoomError => new LoomError('LOOM_ERR_DATA', message);

/** Throws a LoomError of the given code when the condition fails; the message is built lazily. */
export function check(condition: unknown, code: LoomErrorCode, message: () => string): asserts condition {
  if (!condition) throw new LoomError(code, message());
}
