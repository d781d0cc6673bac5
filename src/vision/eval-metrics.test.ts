import assert from 'node:assert/strict';
import { test } from 'node:test';
import { calibrationTables, identificationMetrics, spoofMetrics, thresholdAtRate, verificationMetrics } from './eval-metrics.ts';

test('verification metrics on a separable toy set', () => {
  const scored = [0.9, 0.8, 0.7, 0.6].map((score) => ({ score, same: true })).concat([0.1, 0.2, 0.3, 0.65].map((score) => ({ score, same: false })));
  const m = verificationMetrics(scored);
  assert.equal(m.accuracy, 7 / 8);
  assert.ok((m.threshold > 0.3 && m.threshold < 0.6) || (m.threshold > 0.65 && m.threshold < 0.7));
  assert.equal(m.tarAtFar(0), 3 / 4);
  assert.equal(m.tarAtFar(0.25), 1);
});

test('failed pairs are always errors for accuracy', () => {
  const m = verificationMetrics([
    { score: 0.9, same: true },
    { score: 0.1, same: false },
    { score: 0, same: false, failed: true },
  ]);
  assert.equal(m.accuracy, 2 / 3);
});

test('thresholdAtRate keeps at most rate·n scores above it', () => {
  const s = Array.from({ length: 1000 }, (_, i) => i / 1000);
  const t = thresholdAtRate(s, 0.01);
  assert.equal(s.filter((x) => x > t).length, 10);
});

test('identification: rank-1 and FNIR at FPIR', () => {
  const mated = [
    { truth: 'a', top: ['a', 0.9] as [string, number] },
    { truth: 'b', top: ['c', 0.8] as [string, number] },
    { truth: 'c', top: ['c', 0.4] as [string, number] },
  ];
  const r = identificationMetrics(mated, [0.1, 0.2, 0.5], 0);
  assert.ok(Math.abs(r.rank1 - 2 / 3) < 1e-9);
  assert.equal(r.threshold, 0.5);
  assert.ok(Math.abs(r.fnir - 2 / 3) < 1e-9);
});

test('spoof metrics find the best split', () => {
  const r = spoofMetrics([
    { live: true, score: 0.9 },
    { live: true, score: 0.8 },
    { live: false, score: 0.2 },
    { live: false, score: 0.85 },
  ]);
  assert.equal(r.apcer + r.bpcer, 0.5);
});

test('calibration tables are increasing', () => {
  const imp = Array.from({ length: 100_000 }, (_, i) => Math.sin(i) * 0.3);
  const c = calibrationTables(imp, 0.3);
  for (let i = 1; i < c.anchors.length; i++) assert.ok(c.anchors[i][0] > c.anchors[i - 1][0] && c.anchors[i][1] >= c.anchors[i - 1][1]);
  for (let i = 1; i < c.tail.length; i++) assert.ok(c.tail[i][0] > c.tail[i - 1][0] && c.tail[i][1] < c.tail[i - 1][1]);
});
