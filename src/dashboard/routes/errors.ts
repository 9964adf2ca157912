import type { Store } from '../../store/store.js';
import type { ModelRecord, RunRecord } from '../../store/types.js';

/** 404 replies in Fastify's error shape, naming what was not found. */
export class NotFound extends Error {
  readonly statusCode = 404;
  constructor(message: string) {
    super(message);
    this.name = 'NotFound';
  }
}

export function requireRun(store: Store, runId: string): RunRecord {
  const run = store.getRun(runId);
  if (!run) throw new NotFound(`no run "${runId}" in this database`);
  return run;
}

export function requireModel(store: Store, runId: string, modelId: string): ModelRecord {
  const model = store.getModel(runId, modelId);
  if (!model) throw new NotFound(`no model "${modelId}" in run "${runId}"`);
  return model;
}
