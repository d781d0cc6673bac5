import crypto from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { DB } from '../db/database.ts';
import type { ClientContext } from '../api/request-context.ts';
import type { AuditService } from '../services/audit.service.ts';
import type { AuthenticationService } from '../services/authentication.service.ts';
import type { ImageInput, RequestMeta } from '../services/face.ts';
import { withHeadChallenge, type Challenge } from '../services/liveness.service.ts';
import { appError, isAppError, type ErrorCode } from '../errors.ts';
import { findFaceUser, findFaceUserByExternalId, loadUserTemplates } from '../db/repositories/templates.repository.ts';
import {
  findSsoClient,
  findSsoLogin,
  findTenantContext,
  insertSsoLoginIfAbsent,
  lockSsoLogin,
  releaseSsoSession,
  reserveSsoAttempt,
  updateSsoLogin,
  type SsoLoginRow,
} from '../db/repositories/sso.repository.ts';
import { SSO_SCOPES } from './provider.ts';
import type { SecretBox } from './secret-box.ts';
import type { OidcStorage } from './oidc-storage.ts';
import type { SessionBudget } from '../services/session-budget.service.ts';

type Raw = { req: IncomingMessage; res: ServerResponse };

/** What the login page may learn: progress and guidance only, never names, matches or tokens. */
export type FrameAnswer =
  | { status: 'processing'; face_detected?: boolean; quality_score?: number; feedback?: unknown; liveness?: unknown; face?: unknown }
  | { status: 'retry'; message: string; attempts_remaining: number; liveness: unknown }
  | { status: 'completed' | 'denied'; redirect_to: string };

/** The parts of a process-frame answer read here. */
interface SessionAnswer {
  status: string;
  face_detected?: boolean;
  quality_score?: number;
  feedback?: unknown;
  liveness?: unknown;
  /** Where the face is in the frame (the page draws its oval there). */
  face?: unknown;
  result?: { authenticated?: boolean; user_id?: string | null; matches?: Array<{ user_id: string }> };
  liveness_result?: { passed: boolean };
}

/** Errors of one frame that leave the session running (the page shows the message and goes on). */
const FRAME_ERRORS: ReadonlySet<ErrorCode> = new Set(['NO_FACE_DETECTED', 'MULTIPLE_FACES', 'POOR_IMAGE_QUALITY', 'FACE_MISMATCH', 'INVALID_IMAGE', 'IMAGE_TOO_LARGE', 'SERVICE_BUSY']);
/** Errors that end the face session (a new one may start while attempts remain). */
const SESSION_ENDED: ReadonlySet<ErrorCode> = new Set(['SESSION_EXPIRED']);
/** Another request of this sign-in already ended or replaced the session: it decides, this one only reports. */
const SESSION_GONE: ReadonlySet<ErrorCode> = new Set(['SESSION_COMPLETED', 'SESSION_NOT_FOUND']);

/** The longest login_hint that can name a user: an external id's maximum length (users.schemas.ts). */
const MAX_HINT = 255;

/**
 * The search threshold of a decoy face session (a login_hint naming nobody who can sign in): above any
 * confidence (at most 1), so the session can never match anyone, and fails as a face that does not match.
 */
const UNREACHABLE_THRESHOLD = 2;

/** What the browser is told when a face session fails, whatever the reason (a wrong face, or a decoy's). */
const FACE_FAILED = 'Face authentication failed';

/** Why a login_hint cannot sign anyone in (audited only: the browser is never told). */
type HintRefusal = 'unknown' | 'inactive' | 'not_enrolled';

/** The interaction's login_hint, or null. */
const hintOf = (details: { params: Record<string, unknown> }): string | null => {
  const hint = details.params.login_hint;
  return typeof hint === 'string' && hint ? hint : null;
};

interface SsoLoginDeps {
  db: DB;
  box: SecretBox;
  /** The provider's storage keys: `sso_logins` is keyed, like the provider's Interaction row, by the uid's keyed hash. */
  storage: Pick<OidcStorage, 'lookup'>;
  audit: AuditService;
  authentication: AuthenticationService;
  /** The provider serving now (rebuilt when the signing keys change). */
  provider: () => Provider;
  /** The tier's frames-per-second budget of a face session, as for the API's and WebSocket's sessions. */
  budget: Pick<SessionBudget, 'frame'>;
  log: { warn(m: string): void };
}

/**
 * Face login for an OIDC interaction. The interaction cookie (set by the provider, path
 * /oidc/interaction/<uid>) is the browser's only credential: the Wajah authentication session is
 * created here with the tenant's context, its token is kept sealed in `sso_logins` (under a keyed hash of
 * the uid: whoever reads the table cannot name the interaction), and frames are
 * passed on to the authentication service server-side. Only the server decides the outcome, from
 * the session's own decision, and finishes the interaction with the user's uuid as accountId.
 */
export class SsoLoginService {
  private readonly d: SsoLoginDeps;
  constructor(d: SsoLoginDeps) {
    this.d = d;
  }

  /**
   * GET of the interaction page. Returns 'page' when the face login should be shown; otherwise the
   * interaction has been finished (consent granted or login denied) and a redirect was sent.
   */
  async open(raw: Raw, uid: string): Promise<{ page: true } | { redirect_to: string }> {
    const details = await this.#details(raw, uid);
    const rpId = String(details.params.client_id);
    if (details.prompt.name === 'consent') {
      // Relying parties are registered by the tenant itself: its users' consent is implied.
      const grant = details.grantId
        ? await this.d.provider().Grant.find(details.grantId)
        : new (this.d.provider().Grant)({ accountId: details.session!.accountId, clientId: rpId });
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
      if (missing.missingOIDCScope) grant!.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant!.addOIDCClaims(missing.missingOIDCClaims);
      const grantId = await grant!.save();
      return { redirect_to: await this.d.provider().interactionResult(raw.req, raw.res, { consent: { grantId } }, { mergeWithLastSubmission: true }) };
    }
    const rp = await findSsoClient(this.d.db, rpId);
    if (!rp) return this.#deny(raw, null, uid, 'The application is no longer registered');
    const hint = hintOf(details);
    let userId: string | null = null;
    if (hint) {
      // Anyone can send a hint: a hint longer than any external id names nobody (refused without a lookup,
      // which tells nothing about the tenant's users), and the audit keeps at most that much of it.
      if (hint.length > MAX_HINT) {
        return this.#deny(raw, { client_id: rp.client_id, sso_client_id: rp.id }, uid, 'This user cannot sign in here', { login_hint: hint.slice(0, MAX_HINT), login_hint_length: hint.length });
      }
      // Looked up in the relying party's own tenant only. Whether it names an active, enrolled user or
      // nobody, the browser gets the same page and the same face check (a decoy session, see start): refusing a hint at
      // once told anyone with the application's public client_id which employee ids exist.
      userId = (await findFaceUser(this.d.db, rp.client_id, hint))?.id ?? null;
    }
    await insertSsoLoginIfAbsent(this.d.db, { uid: this.#key(uid), client_id: rp.client_id, sso_client_id: rp.id, user_id: userId, expires_at: new Date(details.exp * 1000) });
    return { page: true };
  }

  /** Starts (or restarts, while attempts remain) the face session of an interaction. */
  async start(raw: Raw, uid: string): Promise<FrameAnswer | { status: 'active'; mode: string; attempts_remaining: number; liveness: unknown; application: { name: string } }> {
    const hint = hintOf(await this.#details(raw, uid));
    const login = await this.#login(uid);
    if (login.status !== 'active') throw appError('SSO_LOGIN_FINISHED');
    const rp = await findSsoClient(this.d.db, login.sso_client_id);
    if (!rp) return this.#deny(raw, login, uid, 'The application is no longer registered', await this.#hintAudit(login, hint));
    // One attempt is taken before the session exists, so racing calls cannot exceed max_attempts.
    const used = await reserveSsoAttempt(this.d.db, this.#key(uid), rp.max_attempts);
    if (used === null) return this.#deny(raw, login, uid, 'No attempts left', await this.#hintAudit(login, hint));
    const tenant = await this.#tenant(login.client_id);
    const common = {
      session_type: 'sso' as const,
      require_liveness: true,
      // Applications registered before the rule still get a 3-D action.
      liveness_challenges: withHeadChallenge(rp.liveness_challenges as Challenge[]),
      challenge_timeout: 20,
      max_attempts: 1,
      timeout: 300,
    };
    // A hint naming nobody who can sign in gets a decoy: the same liveness session on the same frames, which
    // can match nobody (UNREACHABLE_THRESHOLD), and frame() finishes a hinted sign-in only for the hinted user
    // verified as such. The user may also be deactivated or deleted between the check and the session.
    // A verification's creation reads its user: the decoy reads one too (a decoy id), so that its time does not tell.
    const decoy = async () => {
      await findFaceUser(this.d.db, tenant.id, crypto.randomUUID());
      return this.d.authentication.create(tenant, { ...common, mode: 'identification', search_threshold: UNREACHABLE_THRESHOLD });
    };
    let created;
    let isDecoy = false;
    if (hint && (await this.#hintRefusal(login))) [created, isDecoy] = [await decoy(), true];
    else {
      try {
        created = await this.d.authentication.create(tenant, { ...common, mode: login.user_id ? 'verification' : 'identification', ...(login.user_id ? { user_id: login.user_id } : {}) });
      } catch (e) {
        if (!(hint && isAppError(e) && (e.code === 'USER_INACTIVE' || e.code === 'USER_NOT_FOUND'))) throw e;
        [created, isDecoy] = [await decoy(), true];
      }
    }
    await updateSsoLogin(this.d.db, this.#key(uid), { session_id: created.session_id, session_token_ciphertext: this.d.box.seal(created.session_token, `sso-login:${this.#key(uid)}`), decoy: isDecoy });
    // The page names the application the person is signing in to (never the person: a crafted link must not
    // tell whose name an id belongs to). A hinted sign-in is a verification to the page, decoy or not.
    return { status: 'active', mode: hint ? 'verification' : created.mode, attempts_remaining: rp.max_attempts - used, liveness: created.liveness, application: { name: rp.name } };
  }

  /** The person cancels on the sign-in page: the application gets access_denied and the browser goes back to it. */
  async cancel(raw: Raw, uid: string): Promise<{ status: 'denied'; redirect_to: string }> {
    const hint = hintOf(await this.#details(raw, uid));
    const login = await this.#login(uid);
    if (login.status !== 'active') throw appError('SSO_LOGIN_FINISHED');
    return this.#deny(raw, login, uid, 'The user cancelled the sign-in', { cancelled: true, ...(await this.#hintAudit(login, hint)) });
  }

  /** One camera frame of the interaction's face session. */
  async frame(raw: Raw, uid: string, image: ImageInput, meta: RequestMeta): Promise<FrameAnswer> {
    const hint = hintOf(await this.#details(raw, uid));
    const login = await this.#login(uid);
    if (login.status !== 'active') throw appError('SSO_LOGIN_FINISHED');
    if (!login.session_id || !login.session_token_ciphertext) throw appError('SESSION_NOT_FOUND', 'Start the face session first');
    // Deleting the application stops its sign-ins at once, also one whose face session already runs: no
    // more engine work for it, and no success audited for an application that can no longer get a code.
    if (!(await findSsoClient(this.d.db, login.sso_client_id))) return this.#deny(raw, login, uid, 'The application is no longer registered', await this.#hintAudit(login, hint));
    const tenant = await this.#tenant(login.client_id);
    const token = this.d.box.open(login.session_token_ciphertext, `sso-login:${login.uid}`).toString('utf8');
    // Each frame runs the vision engine: the session's frames per second are capped by the tenant's tier
    // (FRAME_RATE_EXCEEDED, 429), like every other face session; the page slows down and goes on.
    await this.d.budget.frame(tenant, token);
    let out: SessionAnswer;
    try {
      out = (await this.d.authentication.processFrame(tenant, token, image, meta)) as SessionAnswer;
      // A verification's frame with a face reads the user and their templates; a decoy's (an identification
      // that searches the in-memory gallery) read neither: it reads as much, so the frame's time does not tell.
      if (login.decoy && out.face_detected !== false) await this.#decoyReads(login.client_id);
    } catch (e) {
      if (!isAppError(e)) throw e;
      // A server-side failure (the engine unavailable, an internal error) is this frame's, not the person's:
      // the sign-in stays open (the page may send the frame again or the person cancel).
      if (FRAME_ERRORS.has(e.code) || SESSION_GONE.has(e.code) || e.statusCode >= 500) throw e;
      if (SESSION_ENDED.has(e.code)) return this.#sessionFailed(raw, uid, login.session_id, `The face session ended (${e.code})`, hint);
      // NOT_ENROLLED, MODEL_MISMATCH, USER_NOT_FOUND…: no attempt can succeed. The browser is told no more than
      // for a wrong face (the code would say that the hinted user exists); the audit keeps the code.
      return this.#finish(raw, uid, login.session_id, null, FACE_FAILED, hint, { reason: `Face authentication is not possible for this user (${e.code})` });
    }
    if (out.status === 'processing') {
      return { status: 'processing', face_detected: out.face_detected, quality_score: out.quality_score, feedback: out.feedback, liveness: out.liveness, ...(out.face ? { face: out.face } : {}) };
    }
    // The server's own decision, never the page's: completed, authenticated and live. A hinted sign-in is a
    // verification of the hinted user and nothing else: a decoy's session (an identification that matches
    // nobody) never passes here, whatever it answers.
    const r = out.result;
    const hinted = hint !== null || login.user_id !== null;
    const externalId = out.status === 'completed' && out.liveness_result?.passed === true ? (hinted ? (r?.authenticated === true ? r.user_id : null) : r?.matches?.[0]?.user_id) : null;
    if (!externalId) return this.#sessionFailed(raw, uid, login.session_id, FACE_FAILED, hint);
    // The result names the recognised user by external id: look it up as one (never as a uuid).
    const user = await findFaceUserByExternalId(this.d.db, login.client_id, externalId);
    if (!user || !user.is_active || (hinted && user.id !== login.user_id)) return this.#sessionFailed(raw, uid, login.session_id, FACE_FAILED, hint);
    return this.#finish(raw, uid, login.session_id, user.id, null, hint);
  }

  async #sessionFailed(raw: Raw, uid: string, sessionId: string, message: string, hint: string | null): Promise<FrameAnswer> {
    const login = await this.#login(uid);
    const rp = await findSsoClient(this.d.db, login.sso_client_id);
    if (rp && login.status === 'active' && login.sessions_started < rp.max_attempts) {
      if (!(await releaseSsoSession(this.d.db, this.#key(uid), sessionId))) throw appError('SESSION_COMPLETED');
      const started = await this.start(raw, uid);
      if (started.status !== 'active') return started;
      return { status: 'retry', message: `${message}. Try again.`, attempts_remaining: started.attempts_remaining + 1, liveness: started.liveness };
    }
    return this.#finish(raw, uid, sessionId, null, message, hint);
  }

  /**
   * Ends the interaction once (row lock): login with the user's uuid, or access_denied with `reason` (what
   * the browser and the application are told; `audit` adds to or overrides what the audit log records).
   */
  async #finish(raw: Raw, uid: string, sessionId: string, accountId: string | null, reason: string | null, hint: string | null, audit: Record<string, unknown> = {}): Promise<FrameAnswer> {
    const login = await this.d.db.transaction().execute(async (trx) => {
      const locked = await lockSsoLogin(trx, this.#key(uid));
      if (!locked || locked.status !== 'active' || locked.session_id !== sessionId) return null;
      await updateSsoLogin(trx, locked.uid, { status: accountId ? 'succeeded' : 'denied', session_id: null, session_token_ciphertext: null });
      return locked;
    });
    if (!login) throw appError('SSO_LOGIN_FINISHED');
    if (!accountId) return this.#deny(raw, login, uid, reason ?? FACE_FAILED, { ...audit, ...(await this.#hintAudit(login, hint)) }, true);
    const details = await this.#details(raw, uid);
    const scopes = String(details.params.scope ?? 'openid')
      .split(' ')
      .filter((s) => (SSO_SCOPES as readonly string[]).includes(s));
    const grant = new (this.d.provider().Grant)({ accountId, clientId: login.sso_client_id });
    grant.addOIDCScope(scopes.join(' '));
    const grantId = await grant.save();
    const redirect = await this.d.provider().interactionResult(raw.req, raw.res, { login: { accountId, amr: ['face'] }, consent: { grantId } }, { mergeWithLastSubmission: false });
    await this.d.audit.record({
      clientId: login.client_id,
      category: 'authentication',
      action: 'sso.login.succeeded',
      actor: `sso:${login.sso_client_id}`,
      target: accountId,
      details: { sso_client_id: login.sso_client_id, session_id: sessionId, mode: login.user_id ? 'verification' : 'identification' },
    });
    return { status: 'completed', redirect_to: redirect };
  }

  async #deny(
    raw: Raw,
    login: Pick<SsoLoginRow, 'client_id' | 'sso_client_id'> | null,
    uid: string,
    reason: string,
    details: Record<string, unknown> = {},
    already = false,
  ): Promise<{ status: 'denied'; redirect_to: string }> {
    if (!already && login) await updateSsoLogin(this.d.db, this.#key(uid), { status: 'denied', session_id: null, session_token_ciphertext: null });
    const redirect = await this.d.provider().interactionResult(raw.req, raw.res, { error: 'access_denied', error_description: reason }, { mergeWithLastSubmission: false });
    if (login) {
      // `details` may carry the operator's truth the browser is not told (a decoy's login_hint, an error code).
      await this.d.audit.record({ clientId: login.client_id, category: 'authentication', action: 'sso.login.denied', actor: `sso:${login.sso_client_id}`, details: { sso_client_id: login.sso_client_id, reason, ...details } });
    }
    return { status: 'denied', redirect_to: redirect };
  }

  /**
   * Why the hinted user of this sign-in cannot sign in (null: they can, as far as the face check goes): not
   * a user of the tenant, deactivated, or without a face enrollment. Such a sign-in runs a decoy session.
   */
  async #hintRefusal(login: Pick<SsoLoginRow, 'client_id' | 'user_id'>): Promise<HintRefusal | null> {
    // The same two reads whoever the hint names (a decoy id for nobody), so that the time of a start or a
    // cancel does not tell whether the hint names an enrolled user.
    const decoyId = crypto.randomUUID();
    const user = await findFaceUser(this.d.db, login.client_id, login.user_id ?? decoyId);
    const found = user && user.id === login.user_id ? user : null;
    const templates = await loadUserTemplates(this.d.db, login.client_id, found?.id ?? decoyId);
    if (!found) return 'unknown';
    if (!found.is_active) return 'inactive';
    return templates.length ? null : 'not_enrolled';
  }

  /** The reads of a verification's frame (its user, their templates), for a decoy id that names nobody. */
  async #decoyReads(clientId: string): Promise<void> {
    const decoyId = crypto.randomUUID();
    await findFaceUser(this.d.db, clientId, decoyId);
    await loadUserTemplates(this.d.db, clientId, decoyId);
  }

  /** The audit's truth about a hinted sign-in that could not sign anyone in: the hint and why (the browser never learns it). */
  async #hintAudit(login: Pick<SsoLoginRow, 'client_id' | 'user_id'>, hint: string | null): Promise<Record<string, unknown>> {
    if (!hint) return {};
    const refusal = await this.#hintRefusal(login);
    return refusal ? { login_hint: hint, login_hint_refused: refusal } : {};
  }

  async #details(raw: Raw, uid: string) {
    let details;
    try {
      details = await this.d.provider().interactionDetails(raw.req, raw.res);
    } catch {
      throw appError('SSO_INTERACTION_NOT_FOUND');
    }
    if (details.uid !== uid) throw appError('SSO_INTERACTION_NOT_FOUND');
    return details;
  }

  async #login(uid: string): Promise<SsoLoginRow> {
    const login = await findSsoLogin(this.d.db, this.#key(uid));
    if (!login) throw appError('SSO_INTERACTION_NOT_FOUND');
    return login;
  }

  /** The stored form of an interaction's uid (`sso_logins.uid`, the provider's Interaction row id). */
  #key(uid: string): string {
    return this.d.storage.lookup(uid);
  }

  async #tenant(clientId: string): Promise<ClientContext> {
    const t = await findTenantContext(this.d.db, clientId);
    if (!t || !t.is_active) throw appError('CLIENT_DISABLED');
    return { id: t.id, name: t.name, tier: t.tier, settings: t.settings, apiKeyId: 'sso' };
  }
}
