import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addPerformers, addVote, backedByVotes, performedBy, type IdentityVotes } from './authentication.held.ts';
import type { Decision } from './authentication.params.ts';
import type { FaceUser } from '../db/repositories/templates.repository.ts';

const user = (id: string) => ({ id, external_id: id.toUpperCase(), name: id, is_active: true, metadata: {} }) as unknown as FaceUser;
const victim = user('victim');
const other = user('other');
const verify = (success: boolean, confidence: number): Decision => ({ mode: 'verification', success, failureReason: success ? null : 'LOW_CONFIDENCE', confidence, threshold: 0.8, user: victim, matches: [], quality: 0.9 });
const identify = (...users: FaceUser[]): Decision => ({
  mode: 'identification', success: users.length > 0, failureReason: users.length ? null : 'NO_MATCH', confidence: users.length ? 0.9 : null, threshold: 0.8,
  user: users[0] ?? null, matches: users.map((u) => ({ user: u, confidence: 0.9 })), quality: 0.9,
});
const tally = (ds: Decision[]) => ds.reduce<IdentityVotes | null>((v, d) => addVote(v, d), null);

test('verification: one frame at 0.97 among frames of someone else at 0.4 does not authenticate', () => {
  const votes = tally([verify(false, 0.4), verify(false, 0.45), verify(true, 0.97), verify(false, 0.4)]);
  const d = backedByVotes(verify(true, 0.97), votes);
  assert.equal(d.success, false);
  assert.equal(d.failureReason, 'LOW_CONFIDENCE');
  assert.equal(d.confidence, null);
});

test('verification: recognised on half the frames or more (a turned frame or two below the threshold) stands', () => {
  const votes = tally([verify(true, 0.9), verify(false, 0.6), verify(true, 0.92), verify(false, 0.7)]);
  assert.deepEqual(backedByVotes(verify(true, 0.92), votes), verify(true, 0.92));
});

test('identification: a match seen on too few frames is dropped, NO_MATCH when none is left', () => {
  const votes = tally([identify(other), identify(other), identify(victim, other), identify()]);
  const d = backedByVotes(identify(victim, other), votes);
  assert.deepEqual(d.matches.map((m) => m.user.id), ['other']);
  assert.equal(d.user?.id, 'other');
  const none = backedByVotes(identify(victim), tally([identify(), identify(), identify(victim)]));
  assert.equal(none.success, false);
  assert.equal(none.failureReason, 'NO_MATCH');
  assert.equal(none.user, null);
});

test('without votes (a session stored before them) and for failed decisions nothing changes', () => {
  assert.deepEqual(backedByVotes(verify(true, 0.9), null), verify(true, 0.9));
  assert.deepEqual(backedByVotes(verify(false, 0.5), tally([verify(false, 0.5)])), verify(false, 0.5));
});

test('performedBy: the decided user must be among those recognised on every frame that carried a challenge', () => {
  const every = (...frames: string[][]) => frames.reduce<string[] | null>((p, users) => addPerformers(p, users), null);
  assert.deepEqual(performedBy(verify(true, 0.95), every(['victim'], ['victim'])), verify(true, 0.95));
  const refused = performedBy(verify(true, 0.95), every(['victim'], []));
  assert.equal(refused.success, false);
  assert.equal(refused.confidence, null);
  const d = performedBy(identify(victim, other), every(['other', 'victim'], ['other']));
  assert.deepEqual(d.matches.map((m) => m.user.id), ['other']);
  assert.deepEqual(performedBy(verify(true, 0.9), null), verify(true, 0.9));
});
