import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { LoomError } from '../engine/errors.js';

/**
 * The JSON error replies shared by Loom's HTTP servers (the dashboard and `loom serve`): a schema failure or a
 * LoomError is the client's problem (400, the message names it); other 4xx keep their status; the rest is a 500,
 * logged.
 */
export function replyError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error.validation) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', code: error.code, message: error.message });
  if (error instanceof LoomError) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', code: error.code, message: error.message });
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
  if (status === 500) request.log.error(error);
  return reply.code(status).send({ statusCode: status, error: status === 500 ? 'Internal Server Error' : 'Bad Request', message: error.message });
}

/** 404 naming the method and path that no route serves. */
export const replyNoRoute = (request: FastifyRequest, reply: FastifyReply): FastifyReply =>
  reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
