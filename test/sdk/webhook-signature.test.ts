import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serializeBody, signBody } from '../../src/services/webhooks/signer.ts';
import { signWebhookPayload, verifyWebhookSignature } from '../../sdk/js/src/index.ts';
import * as nodeSdk from '../../sdk/js/src/node.ts';

/**
 * The SDK's webhook signature check on its own (no server): what it accepts as the body. The delivery
 * round trip against a real server is in sdk.test.ts.
 */

const SECRET = 'whsec_unit_test_secret_0123456789';
const raw = serializeBody({ event: 'user.created', data: { user_id: 'EMP001', name: 'Siti Aminah' }, timestamp: '2026-01-01T12:00:00.000Z', webhook_id: 'ep-1' });
const signature = signBody(raw, SECRET);
const verifiers: Array<[string, (body: unknown, header: unknown, secret: string) => boolean | Promise<boolean>]> = [
  ['main entry (Web Crypto)', (b, h, s) => verifyWebhookSignature(b as string, h as string, s)],
  ['node entry (node:crypto)', (b, h, s) => nodeSdk.verifyWebhookSignature(b as string, h as string, s)],
];

describe('SDK webhook signature: the raw body only', () => {
  for (const [name, verify] of verifiers) {
    test(`${name}: the body as text, Buffer, Uint8Array (offset view), ArrayBuffer and DataView verifies`, async () => {
      const bytes = Buffer.from(raw, 'utf8');
      const padded = new Uint8Array(bytes.length + 8);
      padded.set(bytes, 4);
      const view = padded.subarray(4, 4 + bytes.length);
      const arrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      for (const body of [raw, bytes, view, arrayBuffer, new DataView(padded.buffer, 4, bytes.length)]) {
        assert.equal(await verify(body, signature, SECRET), true, Object.prototype.toString.call(body));
      }
    });

    // A receiver that hands over the framework's parsed JSON (express.json()) instead of the raw body: an
    // attacker who captured one delivery sends a forged event that carries the captured bytes as an
    // array-like ("length" and index keys), or as a plain array, with the captured signature.
    test(`${name}: a parsed body is refused, even one that is array-like over a captured delivery's bytes`, async () => {
      const forged: Record<string, unknown> = { event: 'authentication.success', data: { user_id: 'ADMIN' }, length: Buffer.byteLength(raw) };
      Buffer.from(raw).forEach((b, i) => (forged[i] = b));
      const parsedForgery = JSON.parse(JSON.stringify(forged)) as unknown;
      const parsedArray = JSON.parse(JSON.stringify([...Buffer.from(raw)])) as unknown;
      for (const body of [parsedForgery, parsedArray, JSON.parse(raw), {}, undefined, null, 42]) {
        assert.equal(await verify(body, signature, SECRET), false, JSON.stringify(body)?.slice(0, 60));
      }
    });
  }

  test('signWebhookPayload refuses a parsed body instead of signing some bytes', async () => {
    await assert.rejects(async () => signWebhookPayload(JSON.parse(raw) as string, SECRET), TypeError);
    assert.throws(() => nodeSdk.signWebhookPayload(JSON.parse(raw) as string, SECRET), TypeError);
    assert.equal(await signWebhookPayload(raw, SECRET), signature);
    assert.equal(nodeSdk.signWebhookPayload(Buffer.from(raw), SECRET), signature);
  });
});
