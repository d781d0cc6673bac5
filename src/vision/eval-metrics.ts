/** Pure metric functions for scripts/eval.ts (unit-tested in eval-metrics.test.ts). */

export interface Scored {
  score: number;
  same: boolean;
  /** A detection failed: always an error for accuracy, rejected (score −∞) for the ROC. */
  failed?: boolean;
}

/** Accuracy at the best threshold, TAR at a FAR, and EER; "accept" means score > threshold. */
export function verificationMetrics(input: Scored[]) {
  const scored = input.map((s) => (s.failed ? { ...s, score: -Infinity } : s));
  const gen = scored.filter((s) => s.same).map((s) => s.score).sort((a, b) => a - b);
  const imp = scored.filter((s) => !s.same).map((s) => s.score).sort((a, b) => a - b);
  const finite = [...new Set(scored.map((s) => s.score).filter(Number.isFinite))].sort((a, b) => a - b);
  // Candidate thresholds: midpoints between consecutive distinct scores (and just below the lowest).
  const cands = [finite[0] - 1e-6, ...finite.slice(0, -1).map((s, i) => (s + finite[i + 1]) / 2), finite[finite.length - 1] + 1e-6];
  const above = (arr: number[], t: number) => arr.length - upperBound(arr, t);
  let best = { accuracy: -1, threshold: 0 };
  let eer = 1, eerGap = Infinity;
  for (const t of cands) {
    const tp = above(gen, t), fp = above(imp, t);
    // Failed pairs are errors whatever the threshold (a failed impostor pair scores −∞ and would count as
    // a correct reject; take it back out).
    const failedImp = scored.filter((x) => x.failed && !x.same).length;
    const acc = (tp + imp.length - fp - failedImp) / scored.length;
    if (acc > best.accuracy) best = { accuracy: acc, threshold: t };
    const frr = 1 - tp / gen.length, far = fp / imp.length;
    if (Math.abs(frr - far) < eerGap) { eerGap = Math.abs(frr - far); eer = (frr + far) / 2; }
  }
  return {
    ...best,
    eer,
    /** TAR at the strictest threshold whose false-accept rate is ≤ far. */
    tarAtFar(far: number): number {
      const t = thresholdAtRate(imp, far);
      return above(gen, t) / gen.length;
    },
  };
}

/** Threshold t such that the share of `sortedAsc` strictly above t is ≤ rate (t = one of the scores). */
export function thresholdAtRate(sortedAsc: number[], rate: number): number {
  const allowed = Math.floor(rate * sortedAsc.length + 1e-9);
  if (sortedAsc.length === 0) return 0;
  return sortedAsc[Math.max(0, sortedAsc.length - 1 - allowed)];
}

/** Index of the first element > x in an ascending array. */
function upperBound(arr: number[], x: number): number {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Open-set identification: rank-1 over mated probes; FNIR at the threshold where ≤ fpir of non-mated
 * probes score above it (a mated probe is missed when its top identity is wrong or below threshold).
 */
export function identificationMetrics(mated: Array<{ truth: string; top: [string, number] | null }>, nonMated: number[], fpir: number) {
  const rank1 = mated.filter((m) => m.top?.[0] === m.truth).length / Math.max(1, mated.length);
  const threshold = thresholdAtRate([...nonMated].sort((a, b) => a - b), fpir);
  const hits = mated.filter((m) => m.top && m.top[0] === m.truth && m.top[1] > threshold).length;
  return { rank1, threshold, fnir: 1 - hits / Math.max(1, mated.length) };
}

/** APCER/BPCER at the threshold minimising their sum ("live" means score > threshold). */
export function spoofMetrics(scored: Array<{ live: boolean; score: number }>) {
  const ts = [-Infinity, ...scored.map((s) => s.score).filter(Number.isFinite)].sort((a, b) => a - b);
  const live = scored.filter((s) => s.live), spoof = scored.filter((s) => !s.live);
  let best = { apcer: 1, bpcer: 1, threshold: 0, sum: Infinity };
  for (const t of ts) {
    const apcer = spoof.filter((s) => s.score > t).length / Math.max(1, spoof.length);
    const bpcer = live.filter((s) => !(s.score > t)).length / Math.max(1, live.length);
    if (apcer + bpcer < best.sum) best = { apcer, bpcer, threshold: t, sum: apcer + bpcer };
  }
  return best;
}

/**
 * Calibration tables from the impostor score distribution: cosine thresholds at FAR 1e-2 … 1e-5, the
 * piecewise-linear confidence anchors, and a compact impostor tail [cosine, P(score > cosine)].
 */
export function calibrationTables(impostor: number[], bestThreshold: number) {
  const s = [...impostor].sort((a, b) => a - b);
  const fars = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5].filter((f) => f * s.length >= 1);
  const farThresholds = fars.map((f) => [f, thresholdAtRate(s, f)] as [number, number]);
  const at = (f: number) => thresholdAtRate(s, f);
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
  const t3 = at(1e-3), t4 = s.length >= 1e4 ? at(1e-4) : t3 + 0.05, t5 = s.length >= 1e5 ? at(1e-5) : t4 + 0.05;
  const median = s[Math.floor(s.length / 2)];
  const pts: Array<[number, number]> = [[-1, 0], [median, 0.1], [bestThreshold, 0.5], [t3, 0.8], [t4, 0.9], [t5, 0.95], [1, 1]];
  // Keep anchors strictly increasing in cosine (if the best threshold is stricter than FAR 0.1 %, drop the latter).
  const anchors: Array<[number, number]> = [];
  for (const [x, y] of pts) if (!anchors.length || x > anchors[anchors.length - 1][0] + 1e-4) anchors.push([r4(x), y]);
  const tail: Array<[number, number]> = [];
  for (const p of [0.5, 0.1, 0.03, 1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6]) {
    if (p * s.length < 1) break;
    const t = at(p);
    const exceed = (s.length - upperBoundAsc(s, t)) / s.length;
    if (exceed > 0 && (!tail.length || t > tail[tail.length - 1][0])) tail.push([r4(t), Number(exceed.toPrecision(3))]);
  }
  return { farThresholds, anchors, tail };
}

function upperBoundAsc(arr: number[], x: number): number {
  let lo = 0, hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
