/**
 * One contract every recogniser backend passes (run in-thread: both models share one detector).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { testDataDir } from '../../config/env.ts';
import { Analyzer } from '../analyzer.ts';
import { defaultVerifyThreshold } from '../calibration.ts';
import { MODEL_IDS } from '../models.ts';
import { cosine } from './types.ts';

const DATA = testDataDir();
const FILES = {
  obama1: 'faces_extra/face_recognition/obama/obama_01.jpg',
  obama3: 'faces_extra/face_recognition/obama/obama_03.jpg',
  biden: 'faces_extra/face_recognition/biden/biden_01.jpg',
  sheldon1: 'faces_extra/faceapi_bbt/sheldon/sheldon1.png',
  sheldon2: 'faces_extra/faceapi_bbt/sheldon/sheldon2.png',
  penny: 'faces_extra/faceapi_bbt/penny/penny1.png',
};
let analyzer: Analyzer;

before(async () => {
  analyzer = await Analyzer.create({ preload: [...MODEL_IDS] });
});

for (const model of MODEL_IDS) {
  test(`${model}: unit-norm embeddings of a fixed size, deterministic, same person > threshold > different people`, async () => {
    const e: Record<string, Float32Array> = {};
    for (const [k, f] of Object.entries(FILES)) {
      const r = await analyzer.analyze(readFileSync(path.join(DATA, f)), { multiple: 'largest', embed: true, model });
      assert.equal(r.modelId, model);
      e[k] = r.faces[0].embedding!;
    }
    const again = await analyzer.analyze(readFileSync(path.join(DATA, FILES.obama1)), { multiple: 'largest', embed: true, model });
    assert.ok(cosine(again.faces[0].embedding!, e.obama1) > 0.9999, 'deterministic');
    const dims = e.obama1.length;
    for (const v of Object.values(e)) {
      assert.equal(v.length, dims);
      assert.ok(Math.abs(Math.hypot(...v) - 1) < 1e-4);
    }
    const t = defaultVerifyThreshold(model);
    assert.ok(cosine(e.obama1, e.obama3) > t, `obama ${cosine(e.obama1, e.obama3)} > ${t}`);
    assert.ok(cosine(e.sheldon1, e.sheldon2) > t, `sheldon ${cosine(e.sheldon1, e.sheldon2)} > ${t}`);
    assert.ok(cosine(e.obama1, e.biden) < t, `obama/biden ${cosine(e.obama1, e.biden)} < ${t}`);
    assert.ok(cosine(e.sheldon1, e.penny) < t, `sheldon/penny ${cosine(e.sheldon1, e.penny)} < ${t}`);
  });
}
