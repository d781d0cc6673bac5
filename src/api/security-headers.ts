/**
 * Browser security headers on every response (@fastify/helmet), so the console, the camera page, the API
 * documentation and the face sign-in page cannot be framed (clickjacking a consent or a camera), sniffed
 * into another content type, or made to run injected script. Our pages load only their own files (no
 * inline script, no CDN: docs/web.md); styles may be set inline (the camera page's face guide positions
 * itself through element styles, Swagger UI through React's).
 *
 * Left to the operator's TLS proxy: Strict-Transport-Security (a self-hosted server often runs on plain
 * HTTP inside a LAN, and includeSubDomains would bind sibling hosts). Not sent: upgrade-insecure-requests
 * (it would break such a plain-HTTP deployment's own pages).
 */
import type { FastifyHelmetOptions } from '@fastify/helmet';

const PAGE_DIRECTIVES = {
  'default-src': ["'self'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  // Photos under review and camera snapshots are shown from blob: and data: URLs.
  'img-src': ["'self'", 'blob:', 'data:'],
  'media-src': ["'self'", 'blob:'],
  // 'self' covers the same origin's ws:/wss: (the recognition stream).
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

export const SECURITY_HEADERS: FastifyHelmetOptions = {
  global: true,
  contentSecurityPolicy: { useDefaults: false, directives: PAGE_DIRECTIVES },
  xFrameOptions: { action: 'deny' },
  strictTransportSecurity: false,
  referrerPolicy: { policy: 'no-referrer' },
};

/**
 * The OpenID Provider's own pages (form_post, logout confirmation, errors): a form_post answer submits a
 * form to the relying party's redirect_uri (another origin), and the logout form is redirected to the
 * post_logout_redirect_uri, so form-action is open there. Its one inline script is allowed by hash: the
 * provider adds 'sha256-…' to script-src when a policy is present. No Cross-Origin-Opener-Policy: relying
 * parties may open the sign-in in a pop-up and need their window reference.
 */
export const OIDC_PROVIDER_HEADERS = {
  contentSecurityPolicy: { useDefaults: false, directives: { ...PAGE_DIRECTIVES, 'form-action': null } },
  crossOriginOpenerPolicy: false,
} as const;
