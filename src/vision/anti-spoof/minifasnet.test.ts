/**
 * The passive anti-spoof score on the labelled live/spoof images of ../shared/data/antispoof, through
 * the engine's own pipeline (in-thread).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { testDataDir } from '../../config/env.ts';
import { LIVENESS_TUNING } from '../../services/liveness.service.ts';
import { Analyzer } from '../analyzer.ts';
import { readCsv } from '../eval-csv.ts';

const DIR = path.join(testDataDir(), 'antispoof');
let analyzer: Analyzer;

before(async () => {
  analyzer = await Analyzer.create({ limits: { maxPixels: 50_000_000 } });
});

test('prints and screen replays score below the session bar; live people above it', async () => {
  const rows = readCsv(path.join(DIR, 'labels.csv'));
  const live: number[] = [], spoof: number[] = [];
  for (const r of rows) {
    const out = await analyzer.analyze(readFileSync(path.join(DIR, r.path)), { multiple: 'largest', embed: false, passive: true }).catch(() => null);
    if (!out) continue; // a strong profile turn and one replay frame have no detectable face
    const score = out.faces[0].signals.passiveLiveScore;
    assert.equal(typeof score, 'number', r.path);
    (r.label === 'live' ? live : spoof).push(score!);
  }
  assert.ok(live.length >= 8 && spoof.length >= 8, `${live.length} live, ${spoof.length} spoof`);
  const bar = LIVENESS_TUNING.PASSIVE_MIN_MEDIAN;
  assert.ok(Math.max(...spoof) < bar, `spoof scores ${spoof.map((x) => x.toFixed(4))}`);
  const median = [...live].sort((a, b) => a - b)[live.length >> 1];
  assert.ok(median > 5 * bar, `live median ${median}`);
  assert.ok(live.filter((x) => x > bar).length >= live.length - 1, `live scores ${live.map((x) => x.toFixed(4))}`);
});

test('the score is only computed when asked for', async () => {
  const out = await analyzer.analyze(readFileSync(path.join(DIR, 'images/silentface_image_T1.jpg')), { multiple: 'largest', embed: false });
  assert.equal(out.faces[0].signals.passiveLiveScore, null);
});
