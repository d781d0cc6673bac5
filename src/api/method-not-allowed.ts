import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

interface KnownRoute {
  pattern: RegExp;
  methods: Set<string>;
}

const routes = new WeakMap<FastifyInstance, KnownRoute[]>();

/**
 * Remembers every route's path and methods so the not-found handler can tell "no such path"
 * (404 ROUTE_NOT_FOUND) from "this path, another method" (405 METHOD_NOT_ALLOWED + Allow).
 */
export const methodNotAllowedPlugin = fp(
  async (app: FastifyInstance) => {
    const known = new Map<string, KnownRoute>();
    routes.set(app, [...known.values()]);
    app.addHook('onRoute', (route) => {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const key = normalise(route.url);
      let entry = known.get(key);
      if (!entry) {
        entry = { pattern: toRegExp(key), methods: new Set() };
        known.set(key, entry);
      }
      for (const m of methods) entry.methods.add(m.toUpperCase());
      routes.set(app, [...known.values()]);
    });
  },
  { name: 'wajah-method-not-allowed' },
);

/** The methods registered for the path of `url` (empty when the path is unknown). */
export function allowedMethods(app: FastifyInstance, url: string): string[] {
  const path = normalise(url.split('?')[0] ?? '/');
  const allow = new Set<string>();
  for (const r of routes.get(app) ?? []) if (r.pattern.test(path)) for (const m of r.methods) allow.add(m);
  if (allow.has('GET')) allow.add('HEAD');
  return [...allow].sort();
}

function normalise(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

function toRegExp(path: string): RegExp {
  const source = path
    .split('/')
    .map((seg) => (seg === '*' ? '.*' : seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}/?$`);
}
