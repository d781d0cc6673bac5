import fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { parseFaceUpload, imageField, requestMeta } from '../api/face-upload.ts';
import { SSO_MOUNT_PATH } from './index.ts';
import { OIDC_PROVIDER_HEADERS } from '../api/security-headers.ts';

const LOGIN_PAGE = new URL('../../web/sso/login.html', import.meta.url);
const Uid = Type.Object({ uid: Type.String({ minLength: 1, maxLength: 100 }) });
/** The face sign-in page and its calls are never cached, framed or leaked through Referer. */
const PAGE_HEADERS = { 'cache-control': 'no-store', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' };

/**
 * Mounts the OpenID Provider under /oidc (discovery at /oidc/.well-known/openid-configuration) and
 * the face sign-in interaction (/oidc/interaction/:uid, its start and frame calls). Not under /api:
 * these are browser endpoints authenticated by the provider's interaction cookie, not API keys.
 */
export async function oidcPlugin(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const sso = app.container.sso;
  const issuer = new URL(sso.issuer);
  /** The provider builds every URL (discovery, redirects) from the request: make it the configured issuer's. */
  // The client address as well: the provider (Koa) takes the leftmost X-Forwarded-For entry, which the
  // caller writes; Fastify's request.ip applies WAJAH_TRUST_PROXY (hops or proxy addresses).
  const pinToIssuer = (request: FastifyRequest): IncomingMessage => {
    const req = request.raw;
    req.headers.host = issuer.host;
    req.headers['x-forwarded-host'] = issuer.host;
    req.headers['x-forwarded-proto'] = issuer.protocol.replace(/:$/, '');
    req.headers['x-forwarded-for'] = request.ip;
    return req;
  };
  const raw = (request: FastifyRequest, reply: FastifyReply) => ({ req: pinToIssuer(request), res: reply.raw });
  const hide = { hide: true };

  app.get(`${SSO_MOUNT_PATH}/interaction/:uid`, { schema: { ...hide, params: Uid } }, async (request, reply) => {
    const out = await sso.login.open(raw(request, reply), request.params.uid);
    reply.headers(PAGE_HEADERS);
    if ('redirect_to' in out) return reply.code(303).redirect(out.redirect_to);
    return reply.type('text/html; charset=utf-8').send(fs.createReadStream(LOGIN_PAGE));
  });

  app.post(`${SSO_MOUNT_PATH}/interaction/:uid/start`, { schema: { ...hide, params: Uid } }, async (request, reply) => {
    reply.headers(PAGE_HEADERS);
    return sso.login.start(raw(request, reply), request.params.uid);
  });

  app.post(`${SSO_MOUNT_PATH}/interaction/:uid/cancel`, { schema: { ...hide, params: Uid } }, async (request, reply) => {
    reply.headers(PAGE_HEADERS);
    return sso.login.cancel(raw(request, reply), request.params.uid);
  });

  app.post(`${SSO_MOUNT_PATH}/interaction/:uid/frame`, { preValidation: parseFaceUpload, schema: { ...hide, params: Uid } }, async (request, reply) => {
    reply.headers(PAGE_HEADERS);
    const { image } = imageField(request, 'frame');
    return sso.login.frame(raw(request, reply), request.params.uid, image, requestMeta(request));
  });

  // Everything else under /oidc is the provider's (authorization, token, userinfo, jwks, discovery,
  // end_session, revocation). It reads its own bodies, so this scope parses none.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      // The signing keys may have changed (another instance's rotation): re-read them when this copy is stale.
      await sso.keys.fresh();
      const req = pinToIssuer(request) as IncomingMessage & { originalUrl?: string };
      // Express-style mount: the provider sees paths without /oidc and builds its URLs from originalUrl.
      req.originalUrl = req.url;
      req.url = req.url!.slice(SSO_MOUNT_PATH.length) || '/';
      if (!req.url.startsWith('/')) req.url = `/${req.url}`;
      void sso.keys.callback(req, reply.raw);
    };
    scope.all(SSO_MOUNT_PATH, { schema: hide, helmet: OIDC_PROVIDER_HEADERS }, handler);
    scope.all(`${SSO_MOUNT_PATH}/*`, { schema: hide, helmet: OIDC_PROVIDER_HEADERS }, handler);
  });
}
