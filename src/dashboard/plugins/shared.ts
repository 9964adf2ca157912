import type { FastifyPluginAsync } from 'fastify';

/**
 * What fastify-plugin does, in a few lines (the package is not a dependency): a plugin marked with
 * `skip-override` shares its decorators with the context that registers it instead of keeping them
 * encapsulated, and `plugin-meta` gives it a name other plugins can list as a dependency (Fastify checks them
 * at registration and throws FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED when one is missing).
 */
export function sharedPlugin<O extends Record<string, unknown>>(
  plugin: FastifyPluginAsync<O>,
  meta: { name: string; dependencies?: readonly string[]; decorators?: { fastify?: readonly string[] } },
): FastifyPluginAsync<O> {
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: meta.name,
    [Symbol.for('plugin-meta')]: { fastify: '5.x', ...meta },
  });
}

/** A route plugin (encapsulated as usual) that states which decorators it needs. */
export function routePlugin<O extends Record<string, unknown>>(
  plugin: FastifyPluginAsync<O>,
  meta: { name: string; dependencies: readonly string[] },
): FastifyPluginAsync<O> {
  return Object.assign(plugin, {
    [Symbol.for('fastify.display-name')]: meta.name,
    [Symbol.for('plugin-meta')]: { fastify: '5.x', ...meta },
  });
}
