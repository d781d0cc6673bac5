import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isAppError } from '../errors.ts';
import { CALIBRATION } from '../vision/calibration.ts';
import { DEFAULT_MODEL } from '../vision/models.ts';
import type { FaceEngine } from '../vision/types.ts';
import { encryptTemplates, signPackage, templatesAad, type OfflinePayload } from './package-format.ts';
import { signRevocationList } from './revocation-list.ts';
import { exportPublicKey, signingKeyFromPrivate } from './signing-key.ts';
import { verifyOffline } from './verifier.ts';

/**
 * The device-side verifier without models: packages signed here with a fresh key, and a stand-in engine
 * whose "face" in the probe is a fixed embedding. The real engine and server are in
 * test/integration/offline.test.ts.
 */

const key = signingKeyFromPrivate(generateKeyPairSync('ed25519').privateKey);
const publicKey = exportPublicKey(key).pem;
const CLIENT = randomUUID();
const DEVICE_SECRET = 'one-device-secret-for-all-its-packages';
const DIM = 8;

function unit(seed: number): Float32Array {
  const v = Float32Array.from({ length: DIM }, (_, i) => Math.sin(seed * 7 + i * 3));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** A genuine package of this tenant, as the server issues it (src/services/offline-package.service.ts). */
async function issue(user: { id: string; external_id: string; name: string }, face: Float32Array, signer = key, issuedAt = new Date()): Promise<string> {
  const head = { package_id: randomUUID(), client_id: CLIENT, user, model: DEFAULT_MODEL, dim: DIM, template_count: 1 };
  const payload: OfflinePayload = {
    v: 1,
    ...head,
    key_id: signer.keyId,
    verification: { confidence_threshold: 0.8, cosine_threshold: 0.3388, calibration_anchors: CALIBRATION[DEFAULT_MODEL].anchors.map(([c, p]) => [c, p] as [number, number]) },
    issued_at: issuedAt.toISOString(),
    expires_at: new Date(issuedAt.getTime() + 86_400_000).toISOString(),
    templates: await encryptTemplates([face], DEVICE_SECRET, templatesAad(head)),
  };
  return JSON.stringify(signPackage(payload, signer.privateKey));
}

/** Sees `face` in every probe. */
function engineSeeing(face: Float32Array): FaceEngine {
  return {
    defaultModelId: DEFAULT_MODEL,
    analyze: async () => ({ modelId: DEFAULT_MODEL, faces: [{ embedding: face }] }) as unknown as Awaited<ReturnType<FaceEngine['analyze']>>,
    similarity: (a, b) => a.reduce((s, x, i) => s + x * b[i], 0),
    status: () => ({}) as ReturnType<FaceEngine['status']>,
    close: async () => {},
  };
}

const alice = { id: randomUUID(), external_id: 'EMP-ALICE', name: 'Alice' };
const mallory = { id: randomUUID(), external_id: 'EMP-MALLORY', name: 'Mallory' };
const aliceFace = unit(1);
const malloryFace = unit(2);

describe('offline verifier: whose package', () => {
  test('the expected user (external_id or uuid) with her own face is authenticated', async () => {
    const pkg = await issue(alice, aliceFace);
    for (const userId of [alice.external_id, alice.id]) {
      const r = await verifyOffline({ package: pkg, packageSecret: DEVICE_SECRET, publicKey, clientId: CLIENT, userId, image: 'x', engine: engineSeeing(aliceFace) });
      assert.deepEqual([r.authenticated, r.user_id], [true, alice.external_id]);
    }
  });

  // Mallory, a user of the same tenant, writes her own genuine package (same device secret) where the
  // device keeps Alice's, then shows her face: the signature, tenant, expiry and secret all check out.
  test("another user's genuine package in the expected user's place → OFFLINE_USER_MISMATCH", async () => {
    const swapped = await issue(mallory, malloryFace);
    await assert.rejects(
      verifyOffline({ package: swapped, packageSecret: DEVICE_SECRET, publicKey, clientId: CLIENT, userId: alice.external_id, image: 'x', engine: engineSeeing(malloryFace) }),
      (e: unknown) => isAppError(e) && e.code === 'OFFLINE_USER_MISMATCH' && (e.details as { package_user_id?: string }).package_user_id === mallory.external_id,
    );
  });
});

// docs/offline.md, "Rotating the key": devices keep the old public key beside the new one until the old
// packages expire, and the package's key_id picks which one checks it.
describe('offline verifier: signing-key rotation', () => {
  const newKey = signingKeyFromPrivate(generateKeyPairSync('ed25519').privateKey);
  const stolen = signingKeyFromPrivate(generateKeyPairSync('ed25519').privateKey);
  const both = [exportPublicKey(newKey).pem, exportPublicKey(key)];
  const check = (pkg: string, publicKey: Parameters<typeof verifyOffline>[0]['publicKey']) =>
    verifyOffline({ package: pkg, packageSecret: DEVICE_SECRET, publicKey, clientId: CLIENT, userId: alice.external_id, image: 'x', engine: engineSeeing(aliceFace) });

  test('a device holding the new and the old key accepts packages signed by either', async () => {
    assert.equal((await check(await issue(alice, aliceFace), both)).authenticated, true);
    assert.equal((await check(await issue(alice, aliceFace, newKey), both)).authenticated, true);
  });

  test('a package signed by a key the device does not hold → OFFLINE_SIGNATURE_INVALID, naming both ids', async () => {
    // Also when the forger copies a trusted key's id into the unsigned hint: that key's signature check fails.
    const forged = JSON.parse(await issue(alice, aliceFace, stolen)) as { key_id: string };
    for (const pkg of [JSON.stringify(forged), JSON.stringify({ ...forged, key_id: key.keyId })]) {
      await assert.rejects(check(pkg, both), (e: unknown) => isAppError(e) && e.code === 'OFFLINE_SIGNATURE_INVALID');
    }
    await assert.rejects(check(JSON.stringify(forged), both), (e: unknown) => isAppError(e) && (e.details as { device_key_ids?: string[] }).device_key_ids?.length === 2);
  });

  test('a device that dropped the old key refuses its packages; an empty key list is a validation error', async () => {
    await assert.rejects(check(await issue(alice, aliceFace), [exportPublicKey(newKey).pem]), (e: unknown) => isAppError(e) && e.code === 'OFFLINE_SIGNATURE_INVALID');
    await assert.rejects(check(await issue(alice, aliceFace), []), (e: unknown) => isAppError(e) && e.code === 'VALIDATION_ERROR');
  });
});

describe('offline packages: attacks on the format and the issuer', () => {
  // verify(null, …) checks an RSA or ECDSA signature as readily as an Ed25519 one; the PEM and JWK forms
  // were checked to be Ed25519 but a KeyObject was used as given.
  test('a public key that is not Ed25519 is refused in every form, a KeyObject included', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const signed = JSON.parse(await issue(alice, aliceFace)) as { format: string; payload: string };
    const rsaSigned = JSON.stringify({ ...signed, signature: sign(null, Buffer.from(`${signed.format}.${signed.payload}`), rsa.privateKey).toString('base64url') });
    for (const publicKey of [rsa.publicKey, rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string]) {
      await assert.rejects(
        verifyOffline({ package: rsaSigned, packageSecret: DEVICE_SECRET, publicKey, clientId: CLIENT, image: 'x', engine: engineSeeing(aliceFace) }),
        (e: unknown) => isAppError(e) && e.code === 'OFFLINE_PACKAGE_INVALID' && /Ed25519/.test(e.message),
      );
    }
  });

  // The issuer derives the package key with scrypt (32 MiB, ≈ 0.2 s here). Run synchronously it held the
  // server's event loop for that long per issuance: every tenant's requests waited behind one client's loop.
  test('the package key is derived off the event loop', async () => {
    let ticks = 0;
    let done = false;
    const tick = () => {
      ticks++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    await encryptTemplates([aliceFace], DEVICE_SECRET, Buffer.from('aad'));
    done = true;
    assert.ok(ticks > 0, 'the event loop turned while the key was derived');
  });
});

// docs/offline.md, "Recall": a device that stops receiving revocation lists (a stolen phone kept offline, a broken
// sync) kept honouring a recalled user's packages until they expired, and nothing told it its list was old.
describe('offline verifier: a maximum revocation list age', () => {
  const HOUR = 3600_000;
  /** The tenant's signed list as the server makes it, `ageMs` ago by this machine's clock; `revoked` users recalled then. */
  const listFrom = (ageMs: number, revoked: string[] = []) => {
    const at = new Date(Date.now() - ageMs).toISOString();
    return JSON.stringify(signRevocationList({ v: 1, key_id: key.keyId, client_id: CLIENT, issued_at: at, covers_since: at, revocations: revoked.map((user_id) => ({ user_id, revoked_before: at })) }, key.privateKey));
  };
  /** Sees Alice, and counts the probes it analyses. */
  const counting = () => {
    const engine = engineSeeing(aliceFace);
    const seen = { probes: 0 };
    return { seen, engine: { ...engine, analyze: (...a: Parameters<FaceEngine['analyze']>) => (seen.probes++, engine.analyze(...a)) } as FaceEngine };
  };
  const check = async (pkg: string, revocations: string | undefined, maxRevocationsAgeS: number | undefined, engine: FaceEngine) =>
    verifyOffline({ package: pkg, packageSecret: DEVICE_SECRET, publicKey, clientId: CLIENT, userId: alice.external_id, revocations, maxRevocationsAgeS, image: 'x', engine });

  test('a list older than the limit, or none, is OFFLINE_REVOCATIONS_STALE before any face work; one within it verifies', async () => {
    const pkg = await issue(alice, aliceFace);
    const { seen, engine } = counting();
    for (const revocations of [listFrom(48 * HOUR), undefined]) {
      await assert.rejects(check(pkg, revocations, 24 * 3600, engine), (e: unknown) => isAppError(e) && e.code === 'OFFLINE_REVOCATIONS_STALE');
    }
    assert.equal(seen.probes, 0, 'no face work on a stale list');
    assert.equal((await check(pkg, listFrom(23 * HOUR), 24 * 3600, engine)).authenticated, true);
    assert.equal((await check(pkg, listFrom(48 * HOUR), undefined, engine)).authenticated, true, 'no limit unless the device sets one');
    assert.equal(seen.probes, 2);
  });

  test('a stale list still recalls: OFFLINE_PACKAGE_REVOKED wins', async () => {
    const pkg = await issue(alice, aliceFace, key, new Date(Date.now() - 3 * 24 * HOUR));
    await assert.rejects(check(pkg, listFrom(48 * HOUR, [alice.id]), 3600, counting().engine), (e: unknown) => isAppError(e) && e.code === 'OFFLINE_PACKAGE_REVOKED');
  });

  test('CLI: --max-revocations-age refuses an old list (exit 2)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wajah-stale-cli-'));
    try {
      const file = (name: string, text: string) => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
      // Expired, with --allow-expired: without the limit every check passes (exit 1, expired) and no face is looked at.
      const pkg = file('pkg.json', await issue(alice, aliceFace, key, new Date(Date.now() - 48 * HOUR)));
      const common = ['--package', pkg, '--public-key', file('key.pem', publicKey), '--client-id', CLIENT, '--image', file('probe.jpg', 'x'), '--allow-expired', '--revocations', file('list.json', listFrom(36 * HOUR))];
      // One run (≈ 1.5 s): the within-limit and bad-value cases are the unit tests above and in revocation-list.test.ts.
      const r = spawnSync(process.execPath, [path.resolve(import.meta.dirname, '../../bin/wajah.js'), 'offline', 'verify', ...common, '--max-revocations-age', '1d'], {
        cwd: dir,
        encoding: 'utf8',
        env: { ...process.env, WAJAH_DATA_DIR: path.join(dir, 'no-data-dir'), WAJAH_OFFLINE_PACKAGE_SECRET: DEVICE_SECRET },
      });
      assert.equal(r.status, 2, r.stdout + r.stderr);
      const { error } = JSON.parse(r.stdout) as { error: { code: string; details: { max_age_s: number } } };
      assert.deepEqual([error.code, error.details.max_age_s], ['OFFLINE_REVOCATIONS_STALE', 86_400]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
