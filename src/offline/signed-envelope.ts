import { sign, verify, type KeyObject } from 'node:crypto';
import { appError } from '../errors.ts';

/**
 * The signed envelope shared by offline packages (package-format.ts) and revocation lists (revocation-list.ts),
 * JWS-like so that no JSON canonicalisation is needed to check the signature:
 *
 *   { "format": "<format name>", "key_id": "…", "payload": "<base64url(JSON)>", "signature": "<base64url>" }
 *
 * The Ed25519 signature covers the ASCII bytes `${format}.${payload}`; each kind has a format name of its own, so
 * neither can be passed off as the other. No database or network imports.
 *
 * @example
 *   const env = parseSignedEnvelope(text, PACKAGE_KIND);          // shape only
 *   const payload = openSignedEnvelope(env, publicKey, PACKAGE_KIND); // signature, then the payload's JSON
 */
export interface SignedEnvelope<F extends string = string> {
  format: F;
  /** Unsigned hint: which server key signed (the signed copy is in the payload). */
  key_id: string;
  /** base64url of the UTF-8 JSON payload. */
  payload: string;
  /** base64url Ed25519 signature over `${format}.${payload}`. */
  signature: string;
}

/** What is in an envelope: its format name, the key of the API answer that wraps it, and the words of its errors. */
export interface EnvelopeKind<F extends string = string> {
  format: F;
  /** The API answer holds the envelope under this key (`{ package: … }`, `{ list: … }`); the whole answer is accepted. */
  wrapper: string;
  /** In messages: "The package is not valid JSON", "The revocation list has no key_id". */
  what: string;
  /** In "Not a wajah.offline-package.v1 package". */
  noun: string;
}

function signingInput(format: string, payload: string): Buffer {
  return Buffer.from(`${format}.${payload}`, 'ascii');
}

export function signEnvelope<F extends string>(kind: EnvelopeKind<F>, payload: { key_id: string }, privateKey: KeyObject): SignedEnvelope<F> {
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const signature = sign(null, signingInput(kind.format, encoded), privateKey);
  return { format: kind.format, key_id: payload.key_id, payload: encoded, signature: signature.toString('base64url') };
}

/**
 * Accepts the envelope as the API answers it (`{ <wrapper>: … }`), the bare object, or its JSON text, and checks
 * its shape (not yet its signature). Errors: OFFLINE_PACKAGE_INVALID.
 */
export function parseSignedEnvelope<F extends string>(input: unknown, kind: EnvelopeKind<F>): SignedEnvelope<F> {
  let value = input;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      value = JSON.parse(value.toString());
    } catch {
      throw appError('OFFLINE_PACKAGE_INVALID', `The ${kind.what} is not valid JSON`);
    }
  }
  if (isObject(value) && isObject(value[kind.wrapper])) value = value[kind.wrapper];
  if (!isObject(value) || value.format !== kind.format) throw appError('OFFLINE_PACKAGE_INVALID', `Not a ${kind.format} ${kind.noun}`);
  for (const k of ['key_id', 'payload', 'signature'] as const) {
    if (typeof value[k] !== 'string' || !value[k]) throw appError('OFFLINE_PACKAGE_INVALID', `The ${kind.what} has no ${k}`);
  }
  return value as unknown as SignedEnvelope<F>;
}

/**
 * Checks the Ed25519 signature with `publicKey`, then decodes the payload's JSON (nothing in it is read before the
 * signature is known to be good). The caller checks the payload's fields. Errors: OFFLINE_SIGNATURE_INVALID
 * (`details.key_id`), OFFLINE_PACKAGE_INVALID (the payload does not decode).
 */
export function openSignedEnvelope(env: SignedEnvelope, publicKey: KeyObject, kind: EnvelopeKind): unknown {
  let ok = false;
  try {
    ok = verify(null, signingInput(env.format, env.payload), publicKey, Buffer.from(env.signature, 'base64url'));
  } catch {
    ok = false;
  }
  if (!ok) {
    throw appError('OFFLINE_SIGNATURE_INVALID', `The ${kind.what} signature does not verify with this public key (altered, forged or signed by another key)`, { key_id: env.key_id });
  }
  try {
    return JSON.parse(Buffer.from(env.payload, 'base64url').toString('utf8')) as unknown;
  } catch {
    throw appError('OFFLINE_PACKAGE_INVALID', `The ${kind.what} payload does not decode`);
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
