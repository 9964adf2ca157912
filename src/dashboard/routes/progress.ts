import { PassThrough } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Store } from '../../store/store.js';
import type { RunEvent } from '../../store/types.js';
import { routePlugin } from '../plugins/shared.js';
import { RawBody, readErrors, RunParams, type TypeBoxTypeProvider } from '../schemas/common.js';
import { ProgressQuery, ProgressReply, StreamQuery } from '../schemas/runs.js';
import { requireRun } from './errors.js';

export interface ProgressRoutesOptions extends Record<string, unknown> {
  /** How often the event stream looks at the database (default 1000 ms). */
  readonly pollMs?: number;
}

const eventView = (e: RunEvent) => ({ id: e.id, ts: e.ts, kind: e.kind, payload: e.payload });

/** One server-sent event; `data` is JSON on one line. */
const sse = (event: string, data: unknown, id?: number): string => `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * What changed for the page to refresh: counts per status and the run's status. The coordinator logs an event per
 * model (model-done, …), but a writer that does not still changes these, so the page follows either.
 */
function snapshot(store: Store, runId: string): string {
  return JSON.stringify({ status: store.getRun(runId)?.status, counts: store.countModels(runId) });
}

/**
 * Live progress. `GET /api/runs/:runId/progress?afterId=N` returns the events after N (polling clients);
 * `GET /api/runs/:runId/events` is a server-sent event stream: `progress` events carry the run's event log as it
 * grows (`id:` is the event id, so a reconnecting EventSource resumes through Last-Event-ID), `state` events carry
 * the model counts whenever they change, and a run that is not running gets its backlog and then `end`.
 */
const progressRoutes: FastifyPluginAsync<ProgressRoutesOptions> = async (instance, options) => {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>();
  const pollMs = options.pollMs ?? 1000;

  fastify.get(
    '/api/runs/:runId/progress',
    { schema: { params: RunParams, querystring: ProgressQuery, response: { 200: ProgressReply, ...readErrors } } },
    async (request) => {
      const run = requireRun(fastify.store, request.params.runId);
      const afterId = request.query.afterId ?? 0;
      const events = fastify.store.listEvents(run.id, { afterId, limit: request.query.limit ?? 1000 });
      return {
        events: events.map(eventView),
        lastId: events.length ? (events[events.length - 1] as RunEvent).id : afterId,
        status: run.status,
        counts: fastify.store.countModels(run.id),
      };
    },
  );

  fastify.get(
    '/api/runs/:runId/events',
    {
      schema: {
        params: RunParams,
        querystring: StreamQuery,
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ pattern: '^[0-9]{0,15}$' })) }),
        response: { 200: RawBody('text/event-stream'), ...readErrors },
      },
    },
    async (request, reply) => {
      const store = fastify.store;
      const run = requireRun(store, request.params.runId);
      let afterId = request.query.afterId ?? Number(request.headers['last-event-id'] ?? 0);
      const stream = new PassThrough();
      let lastState = '';
      let timer: NodeJS.Timeout | undefined;
      let sinceBeat = 0;
      const stop = () => {
        if (timer) clearInterval(timer);
        timer = undefined;
        if (!stream.writableEnded) stream.end();
      };
      const tick = () => {
        try {
          for (;;) {
            const events = store.listEvents(run.id, { afterId, limit: 500 });
            for (const e of events) {
              stream.write(sse('progress', eventView(e), e.id));
              afterId = e.id;
            }
            if (events.length < 500) break;
          }
          const state = snapshot(store, run.id);
          if (state !== lastState) {
            stream.write(sse('state', JSON.parse(state) as unknown));
            lastState = state;
            sinceBeat = 0;
          } else if ((sinceBeat += pollMs) >= 15_000) {
            stream.write(': keep-alive\n\n'); // proxies close idle connections
            sinceBeat = 0;
          }
          if (store.getRun(run.id)?.status !== 'running') {
            stream.write(sse('end', { status: store.getRun(run.id)?.status }));
            stop();
          }
        } catch (err) {
          request.log.error(err, 'event stream');
          stop();
        }
      };
      request.raw.on('close', stop);
      reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache').header('x-accel-buffering', 'no');
      stream.write('retry: 2000\n\n');
      tick();
      if (!stream.writableEnded) timer = setInterval(tick, pollMs);
      return reply.send(stream);
    },
  );
};

export default routePlugin(progressRoutes, { name: 'loom-routes-progress', dependencies: ['loom-store'] });
