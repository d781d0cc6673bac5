import { appError } from '../errors.ts';
import type { FaceEngine } from '../vision/types.ts';
import { confidenceFromAnchors } from '../vision/calibration.ts';
import { DEFAULT_MODEL } from '../vision/models.ts';
import { decryptTemplates, openSignedPackage, parsePackage, type OfflinePayload } from './package-format.ts';
import { assertRevocationsFresh, devicePublicKey, openRevocationList, revokedSince, type PublicKeyInput } from './revocation-list.ts';

/**
 * Device-side offline verification (C6, docs/offline.md). Runs without the server: no database, no
 * network. Checks the package signature and expiry, decrypts the templates with the package secret, runs
 * the same face engine in-process on the probe image, and compares with the package's calibrated threshold.
 *
 * Throws AppError with OFFLINE_PACKAGE_INVALID, OFFLINE_SIGNATURE_INVALID, OFFLINE_CLIENT_MISMATCH, OFFLINE_USER_MISMATCH, OFFLINE_PACKAGE_REVOKED,
 * OFFLINE_REVOCATIONS_STALE, OFFLINE_PACKAGE_EXPIRED,
 * OFFLINE_DECRYPTION_FAILED, MODEL_MISMATCH, or the engine's image codes (NO_FACE_DETECTED, INVALID_IMAGE, …).
 *
 * @example
 *   const r = await verifyOffline({ package: fs.readFileSync('pkg.json', 'utf8'), packageSecret, publicKey: pem, clientId, userId: 'EMP001', image: jpeg });
 *   if (r.authenticated) open();
 */
export interface VerifyOfflineInput {
  /** The package: JSON text, the bare package object, or the whole issue response (`{ package: … }`). */
  package: unknown;
  packageSecret: string;
  /**
   * The server's public key: PEM, JWK, the public-key endpoint's answer, or a KeyObject. During a signing-key
   * rotation, a list of them (the new key and the old one): the package's `key_id` picks the key, and a
   * package whose key is not in the list is OFFLINE_SIGNATURE_INVALID.
   */
  publicKey: PublicKeyInput | PublicKeyInput[];
  /**
   * The tenant (client id) this device serves. One server signs the packages of all its tenants with
   * one key, so the signature alone would let any tenant's package (with a face and secret of its
   * issuer's choosing) open another tenant's door.
   */
  clientId: string;
  /**
   * The user this verification is for (external_id or uuid), when the device knows whom it expects (a badge,
   * a personal locker, the account signed in on a phone). Every package of one tenant is signed by the same
   * key and a device often holds them all under one secret, so whoever can write to the device's package
   * store could put their own genuine package in another user's place: OFFLINE_USER_MISMATCH. Without it,
   * check `user_id` in the result.
   */
  userId?: string;
  /**
   * The tenant's signed revocation list (GET /api/offline/revocations/: JSON text, the object or the whole answer),
   * the newest the device holds (acceptRevocationList keeps it from going back). Checked like a package (signature,
   * tenant); a package whose user was recalled after it was issued is OFFLINE_PACKAGE_REVOKED, before any face work.
   */
  revocations?: unknown;
  /**
   * The oldest revocation list this device accepts, in seconds since the list's signed `issued_at` (device clock):
   * an older list, or none, is OFFLINE_REVOCATIONS_STALE, before any face work. A device that stops receiving lists
   * (kept off the network, a broken sync) would otherwise honour a recalled user's packages until they expire.
   * No limit when unset (docs/offline.md, "Recall": how to choose one).
   */
  maxRevocationsAgeS?: number;
  /** Probe image: JPEG/PNG/WebP bytes or a data URL. */
  image: Uint8Array | string;
  /** A running engine to reuse (its default model must be the package's); otherwise one worker is started and closed. */
  engine?: FaceEngine;
  /** The device clock (tests). */
  now?: Date;
  /** Report an expired package as `{ authenticated: false, expired: true }` instead of throwing OFFLINE_PACKAGE_EXPIRED. */
  allowExpired?: boolean;
}

export interface VerifyOfflineResult {
  authenticated: boolean;
  /** Calibrated 0..1 confidence (same scale as the server's verification). */
  confidence: number;
  /** Best cosine similarity over the package's templates. */
  similarity: number;
  /** The user's external_id. */
  user_id: string;
  user_name: string;
  model: string;
  expired: boolean;
  confidence_threshold: number;
  package_id: string;
  expires_at: string;
}

export async function verifyOffline(input: VerifyOfflineInput): Promise<VerifyOfflineResult> {
  if (typeof input.clientId !== 'string' || !input.clientId) {
    throw appError('VALIDATION_ERROR', 'clientId is required: the tenant whose packages this device accepts', { field: 'clientId' });
  }
  const pkg = parsePackage(input.package);
  const payload = openSignedPackage(pkg, devicePublicKey(pkg.key_id, input.publicKey));
  if (payload.client_id !== input.clientId) {
    throw appError('OFFLINE_CLIENT_MISMATCH', `The package was issued to client ${payload.client_id}, not to ${input.clientId}`, { package_client_id: payload.client_id });
  }
  if (input.userId !== undefined && input.userId !== payload.user.external_id && input.userId !== payload.user.id) {
    throw appError('OFFLINE_USER_MISMATCH', `The package is user ${payload.user.external_id}'s, not ${input.userId}'s`, { package_user_id: payload.user.external_id });
  }
  const now = input.now ?? new Date();
  const list = input.revocations !== undefined && input.revocations !== null ? openRevocationList(input.revocations, input.publicKey, input.clientId) : null;
  if (list) {
    const revokedBefore = revokedSince(list, payload);
    if (revokedBefore) {
      throw appError('OFFLINE_PACKAGE_REVOKED', `User ${payload.user.external_id}'s packages issued before ${revokedBefore} are recalled (this one was issued at ${payload.issued_at})`, {
        user_id: payload.user.id,
        issued_at: payload.issued_at,
        revoked_before: revokedBefore,
      });
    }
  }
  // After the recall: a stale list still proves a recall it holds (recalls only move forward).
  if (input.maxRevocationsAgeS !== undefined) assertRevocationsFresh(list, input.maxRevocationsAgeS, now);
  const expiresAt = Date.parse(payload.expires_at);
  if (!Number.isFinite(expiresAt)) throw appError('OFFLINE_PACKAGE_INVALID', 'The package has no valid expires_at');
  const expired = now.getTime() >= expiresAt;
  if (expired && !input.allowExpired) {
    throw appError('OFFLINE_PACKAGE_EXPIRED', `The package expired at ${payload.expires_at}`, { expires_at: payload.expires_at });
  }
  const engineModel = input.engine?.defaultModelId ?? DEFAULT_MODEL;
  if (engineModel !== payload.model) {
    throw appError('MODEL_MISMATCH', `The package holds ${payload.model} templates; this engine computes ${engineModel}`, { package_model: payload.model, engine_model: engineModel });
  }
  const templates = decryptTemplates(payload, input.packageSecret);
  const base = {
    user_id: payload.user.external_id,
    user_name: payload.user.name,
    model: payload.model,
    confidence_threshold: payload.verification.confidence_threshold,
    package_id: payload.package_id,
    expires_at: payload.expires_at,
  };
  try {
    if (expired) return { ...base, authenticated: false, confidence: 0, similarity: 0, expired: true };
    const engine = input.engine ?? (await startEngine());
    try {
      const result = await engine.analyze(input.image, { multiple: 'largest', embed: true, model: payload.model });
      const probe = result.faces[0]?.embedding;
      if (!probe) throw appError('NO_FACE_DETECTED');
      if (result.modelId !== payload.model || probe.length !== payload.dim) {
        throw appError('MODEL_MISMATCH', `The probe embedding comes from ${result.modelId}, the package from ${payload.model}`);
      }
      let best = -1;
      for (const t of templates) best = Math.max(best, engine.similarity(t, probe));
      const confidence = round(confidenceFromPackage(best, payload));
      return { ...base, authenticated: confidence >= payload.verification.confidence_threshold, confidence, similarity: round(best, 4), expired: false };
    } finally {
      if (!input.engine) await engine.close();
    }
  } finally {
    for (const t of templates) t.fill(0);
  }
}

async function startEngine(): Promise<FaceEngine> {
  // Loaded lazily: the signature, expiry and secret checks above need no models.
  const { createFaceEngine } = await import('../vision/index.ts');
  return createFaceEngine({ workers: 1, queueSize: 2 });
}

/** The server's calibration (src/vision/calibration.ts), taken from the signed package: linear between anchors. */
function confidenceFromPackage(cosine: number, payload: OfflinePayload): number {
  const a = payload.verification.calibration_anchors;
  if (!Array.isArray(a) || a.length < 2) throw appError('OFFLINE_PACKAGE_INVALID', 'The package has no calibration');
  return confidenceFromAnchors(cosine, a);
}

const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;
