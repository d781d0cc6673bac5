import crypto from 'node:crypto';
import type { DB } from '../db/database.ts';
import type { ClientContext } from '../api/request-context.ts';
import { appError } from '../errors.ts';
import { findFaceUser, loadUserTemplates } from '../db/repositories/templates.repository.ts';
import { countIssuedOfflinePackages, OFFLINE_PACKAGE_ISSUED } from '../db/repositories/offline-packages.repository.ts';
import { listOfflineRevocations, OFFLINE_PACKAGE_RECALLED, recordOfflineRecall } from '../db/repositories/offline-revocations.repository.ts';
import { MAX_PACKAGE_LIFETIME_MS, signRevocationList, type RevocationPayload } from '../offline/revocation-list.ts';
import { CALIBRATION, similarityForConfidence } from '../vision/calibration.ts';
import { DEFAULT_MODEL } from '../vision/models.ts';
import { encryptTemplates, signPackage, templatesAad, type OfflinePackage, type OfflinePayload } from '../offline/package-format.ts';
import { exportPublicKey, loadSigningKey, parseSigningKey, type SigningKey } from '../offline/signing-key.ts';
import { TemplateVault } from './templates.service.ts';
import type { AuditService } from './audit.service.ts';

export const OFFLINE_DEFAULTS = { expires_in: 7 * 86400, max_expires_in: 90 * 86400, min_expires_in: 60, confidence_threshold: 0.8 } as const;

export interface IssueOfflinePackageInput {
  package_secret: string;
  expires_in?: number;
  confidence_threshold?: number;
  model?: string;
}

export interface OfflinePackageDeps {
  db: DB;
  /** The template vault (same key as the face layer); loaded on first use. */
  vault: () => TemplateVault;
  /** Loaded on first use, so a server that never issues a package never writes a key file. */
  signingKey: () => SigningKey;
  audit: Pick<AuditService, 'record'>;
  /** The engine's default recogniser: preferred when the user has templates of several models. */
  defaultModel?: string;
  now?: () => Date;
}

/**
 * Issues signed offline verification packages (C6, docs/offline.md): the user's templates, decrypted
 * from storage and re-encrypted under a key derived from the client's `package_secret` (never stored),
 * with the calibrated threshold, signed with the server's Ed25519 key. Every issuance is audited.
 *
 * @example await offline.issue(client, 'EMP001', { package_secret: 's3cret-from-the-device', expires_in: 86400 }, { ip })
 */
export class OfflinePackageService {
  private readonly d: OfflinePackageDeps;
  constructor(d: OfflinePackageDeps) {
    this.d = d;
  }

  publicKey() {
    return exportPublicKey(this.d.signingKey());
  }

  async issue(client: ClientContext, userRef: string, input: IssueOfflinePackageInput, meta: { ip: string | null }) {
    const user = await findFaceUser(this.d.db, client.id, userRef);
    if (!user) throw appError('USER_NOT_FOUND');
    if (!user.is_active) throw appError('USER_INACTIVE', 'The user is deactivated: no offline package is issued');
    const templates = await loadUserTemplates(this.d.db, client.id, user.id);
    if (!templates.length) throw appError('NOT_ENROLLED', `User ${user.external_id} has no face enrollment`);
    const models = [...new Set(templates.map((t) => t.model_id))];
    const model = input.model ?? (models.includes(this.d.defaultModel ?? DEFAULT_MODEL) ? (this.d.defaultModel ?? DEFAULT_MODEL) : models[0]);
    const chosen = templates.filter((t) => t.model_id === model);
    if (!chosen.length) throw appError('MODEL_MISMATCH', `User ${user.external_id} has no template of model ${model} (has ${models.join(', ')})`);
    const calibration = CALIBRATION[model];
    if (!calibration) throw appError('MODEL_MISMATCH', `No calibration for model ${model}`);

    const signingKey = this.d.signingKey();
    const vectors = chosen.map((t) => this.d.vault().openTemplate(t));
    const dim = vectors[0].length;
    if (vectors.some((v) => v.length !== dim)) throw appError('INTERNAL_ERROR', 'Templates of one model differ in size');
    const confidenceThreshold = input.confidence_threshold ?? OFFLINE_DEFAULTS.confidence_threshold;
    const issuedAt = this.d.now?.() ?? new Date();
    const expiresAt = new Date(issuedAt.getTime() + (input.expires_in ?? OFFLINE_DEFAULTS.expires_in) * 1000);
    const head = {
      package_id: crypto.randomUUID(),
      client_id: client.id,
      user: { id: user.id, external_id: user.external_id, name: user.name },
      model,
      dim,
      template_count: vectors.length,
    };
    let templatesBox;
    try {
      templatesBox = await encryptTemplates(vectors, input.package_secret, templatesAad(head));
    } finally {
      for (const v of vectors) v.fill(0);
    }
    const payload: OfflinePayload = {
      v: 1,
      ...head,
      key_id: signingKey.keyId,
      verification: {
        confidence_threshold: confidenceThreshold,
        cosine_threshold: round4(similarityForConfidence(confidenceThreshold, model)),
        calibration_anchors: calibration.anchors.map(([c, p]) => [c, p] as [number, number]),
      },
      issued_at: issuedAt.toISOString(),
      expires_at: expiresAt.toISOString(),
      templates: templatesBox,
    };
    const pkg: OfflinePackage = signPackage(payload, signingKey.privateKey);

    // Written at once (not buffered) so the count below includes this issuance.
    const issuedCount = await this.d.db.transaction().execute(async (trx) => {
      await this.d.audit.record(
        {
          clientId: client.id,
          category: 'data_access',
          action: OFFLINE_PACKAGE_ISSUED,
          actor: `key:${client.apiKeyId}`,
          target: user.id,
          details: { package_id: head.package_id, model, template_count: head.template_count, expires_at: payload.expires_at, key_id: payload.key_id },
          ip: meta.ip,
        },
        trx,
      );
      return countIssuedOfflinePackages(trx, client.id, user.id);
    });
    return {
      package_id: head.package_id,
      client_id: client.id,
      user_id: user.external_id,
      model,
      template_count: head.template_count,
      issued_at: payload.issued_at,
      expires_at: payload.expires_at,
      key_id: payload.key_id,
      issued_count: issuedCount,
      package: pkg,
    };
  }

  // Recall (docs/offline.md, "Recall"): deactivations, reactivations and deletions are recorded by a trigger on
  // `users` (migration 0021); these two record an explicit recall and sign the tenant's revocation list.

  /** Refuses every package of the user issued until now, on devices holding a list made after this call. */
  async recall(client: ClientContext, userRef: string, meta: { ip: string | null }) {
    const user = await findFaceUser(this.d.db, client.id, userRef);
    if (!user) throw appError('USER_NOT_FOUND');
    const revokedBefore = await this.d.db.transaction().execute(async (trx) => {
      const at = await recordOfflineRecall(trx, client.id, user.id, this.d.now?.() ?? new Date());
      await this.d.audit.record(
        { clientId: client.id, category: 'security', action: OFFLINE_PACKAGE_RECALLED, actor: `key:${client.apiKeyId}`, target: user.id, details: { revoked_before: at.toISOString() }, ip: meta.ip },
        trx,
      );
      return at;
    });
    return { user_id: user.external_id, user_uuid: user.id, revoked_before: revokedBefore.toISOString() };
  }

  /**
   * The tenant's signed list. A user who is deactivated or deleted now is listed with the list's own issued_at,
   * so every package issued up to now is refused whatever the skew between this clock (packages' issued_at) and
   * the database's (the recorded time); a deactivated user gets no package meanwhile.
   */
  async revocationList(client: ClientContext) {
    const key = this.d.signingKey();
    const issuedAt = this.d.now?.() ?? new Date();
    const since = new Date(issuedAt.getTime() - MAX_PACKAGE_LIFETIME_MS);
    const rows = await listOfflineRevocations(this.d.db, client.id, since);
    const payload: RevocationPayload = {
      v: 1,
      key_id: key.keyId,
      client_id: client.id,
      issued_at: issuedAt.toISOString(),
      covers_since: since.toISOString(),
      revocations: rows.map((r) => ({
        user_id: r.user_id,
        revoked_before: (r.is_active === true ? r.revoked_before : new Date(Math.max(r.revoked_before.getTime(), issuedAt.getTime()))).toISOString(),
      })),
    };
    return { client_id: client.id, issued_at: payload.issued_at, key_id: key.keyId, revocation_count: payload.revocations.length, list: signRevocationList(payload, key.privateKey) };
  }
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/**
 * Builds the service from the container's parts; `vault` is the face layer's, so this service
 * decrypts what enrollment stored. `signingKeyEnv` is WAJAH_OFFLINE_SIGNING_KEY (null: generated
 * into the data directory).
 */
export function createOfflinePackageService(
  core: { config: { dataDir: string }; database: { db: DB }; engine: { defaultModelId: string } | null; log: { warn(m: string): void } },
  audit: Pick<AuditService, 'record'>,
  vault: TemplateVault,
  signingKeyEnv: string | null,
): OfflinePackageService {
  // A bad WAJAH_OFFLINE_SIGNING_KEY stops the start; a generated key is only created on first use.
  let key: SigningKey | null = signingKeyEnv ? parseSigningKey(signingKeyEnv) : null;
  return new OfflinePackageService({
    db: core.database.db,
    vault: () => vault,
    signingKey: () => (key ??= loadSigningKey({ envValue: null, dataDir: core.config.dataDir }, core.log)),
    audit,
    defaultModel: core.engine?.defaultModelId,
  });
}
