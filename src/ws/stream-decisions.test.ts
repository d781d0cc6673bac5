import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STREAM_DECISIONS, StreamDecisions } from './stream-decisions.ts';
import { withStreamTrack, type StreamTrack } from '../vision/tracking/stream-track.ts';

test("an appearance that ended unrecognised still gets its record when the database fails a moment: the deferred write is tried again", async () => {
  const errors: unknown[] = [];
  const decisions = new StreamDecisions({ error: (obj) => void errors.push(obj) });
  const track = {} as StreamTrack;
  let tries = 0;
  let written = 0;
  // The database refuses the first two tries (a restart, a serialization failure), then takes the write.
  const write = async () => {
    tries++;
    if (tries <= 2) throw new Error('connection terminated');
    written++;
  };
  await withStreamTrack(track, () => decisions.record({ success: false, user: null }, write), { appearance: 'a1' });
  assert.equal(tries, 0, 'held until the appearance ends unrecognised');
  // The face leaves the picture: the appearance ends, and its failed attempt is written.
  await withStreamTrack(track, () => decisions.record(null, async () => {}), { appearance: null });
  await decisions.close();
  assert.equal(written, 1, `written after ${tries} tries`);
  assert.deepEqual(errors, []);
});

test('a deferred write that keeps failing is logged once, after its retries, and close() does not hang', async () => {
  const errors: unknown[] = [];
  const decisions = new StreamDecisions({ error: (obj) => void errors.push(obj) });
  const track = {} as StreamTrack;
  let tries = 0;
  await withStreamTrack(track, () => decisions.record({ success: false, user: null }, async () => {
    tries++;
    throw new Error('database down');
  }), { appearance: 'a1' });
  await withStreamTrack(track, () => decisions.record(null, async () => {}), { appearance: null });
  await decisions.close();
  assert.equal(tries, 1 + STREAM_DECISIONS.DEFERRED_RETRIES);
  await new Promise((r) => setImmediate(r));
  assert.equal(errors.length, 1);
});
