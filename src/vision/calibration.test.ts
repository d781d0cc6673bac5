import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CALIBRATION,
  confidenceFromSimilarity,
  defaultVerifyThreshold,
  identificationThreshold,
  impostorExceedance,
  MODEL_DLIB,
  MODEL_FACEPLUGIN,
  similarityForConfidence,
} from './calibration.ts';

for (const model of [MODEL_FACEPLUGIN, MODEL_DLIB]) {
  test(`${model}: confidence is monotonic in cosine, 0..1, and 0.5 at the verify threshold`, () => {
    let prev = -1;
    for (let c = -1; c <= 1.0001; c += 0.01) {
      const v = confidenceFromSimilarity(c, model);
      assert.ok(v >= prev - 1e-12 && v >= 0 && v <= 1);
      prev = v;
    }
    assert.ok(Math.abs(confidenceFromSimilarity(defaultVerifyThreshold(model), model) - 0.5) < 1e-9);
    assert.ok(Math.abs(similarityForConfidence(confidenceFromSimilarity(0.5, model), model) - 0.5) < 1e-6);
  });

  test(`${model}: the 0.8 anchor sits where the measured impostor tail gives ≈ 0.1 % false accepts`, () => {
    const p = impostorExceedance(similarityForConfidence(0.8, model), model);
    assert.ok(p > 2e-4 && p < 5e-3, `p = ${p}`);
  });

  test(`${model}: identification thresholds grow with the gallery and shrink with a looser FPIR`, () => {
    const t100 = identificationThreshold(model, 0.01, 100);
    const t10k = identificationThreshold(model, 0.01, 10_000);
    const t10kLoose = identificationThreshold(model, 0.1, 10_000);
    assert.ok(t10k > t100, `${t10k} > ${t100}`);
    assert.ok(t10kLoose <= t10k);
    assert.ok(t100 >= defaultVerifyThreshold(model));
    // The solved threshold really gives ≈ fpir under the independence approximation.
    const p = impostorExceedance(t10k, model);
    const fpir = 1 - (1 - p) ** 10_000;
    assert.ok(fpir <= 0.0105, `fpir ${fpir}`);
  });
}

test('every model has a measured calibration', () => {
  for (const m of [MODEL_FACEPLUGIN, MODEL_DLIB]) assert.notEqual(CALIBRATION[m].source, 'placeholder');
});
