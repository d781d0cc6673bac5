import type { AnalyzedFace, AnalyzeResult } from '../../vision/types.ts';

/**
 * CompreFace face plugins Wajah computes honestly from its own pipeline. Others (age, gender, mask,
 * calculator = raw embeddings) are accepted in `face_plugins` and ignored: their fields are absent
 * (docs/compreface.md says why for each).
 */
export const OFFERED_PLUGINS = ['landmarks', 'pose'] as const;

/** The query options every image endpoint shares. */
export interface FaceQuery {
  /** 0 = every face; otherwise the largest `limit` faces. */
  limit: number;
  detProbThreshold?: number;
  plugins: Set<string>;
  status: boolean;
}

export function parsePlugins(facePlugins: string | undefined): Set<string> {
  return new Set((facePlugins ?? '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
}

export const round5 = (x: number): number => Math.round(x * 1e5) / 1e5;

/** The faces a request asks for: above the detection threshold, largest first, at most `limit`. */
export function selectFaces(result: AnalyzeResult, q: FaceQuery): AnalyzedFace[] {
  const faces = result.faces
    .filter((f) => q.detProbThreshold === undefined || f.score >= q.detProbThreshold)
    .sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
  return q.limit > 0 ? faces.slice(0, q.limit) : faces;
}

/** One face as CompreFace answers it. */
export interface CfFace {
  box: { probability: number; x_max: number; y_max: number; x_min: number; y_min: number };
  landmarks?: number[][];
  pose?: { pitch: number; roll: number; yaw: number };
  execution_time?: Record<string, number>;
}

/** One face in CompreFace's shape: box, and landmarks / pose / execution_time when asked for. */
export function faceJson(face: AnalyzedFace, result: AnalyzeResult, q: FaceQuery): CfFace {
  const clamp = (v: number, max: number) => Math.max(0, Math.min(max, Math.round(v)));
  const out: CfFace = {
    box: {
      probability: round5(face.score),
      x_max: clamp(face.box.x + face.box.width, result.width),
      y_max: clamp(face.box.y + face.box.height, result.height),
      x_min: clamp(face.box.x, result.width),
      y_min: clamp(face.box.y, result.height),
    },
  };
  if (q.plugins.has('landmarks')) out.landmarks = face.landmarks.map(([x, y]) => [Math.round(x), Math.round(y)]);
  if (q.plugins.has('pose')) out.pose = { pitch: round5(face.pose.pitch), roll: round5(face.pose.roll), yaw: round5(face.pose.yaw) };
  if (q.status) out.execution_time = executionTime(result, q);
  return out;
}

function executionTime(result: AnalyzeResult, q: FaceQuery): Record<string, number> {
  const t: Record<string, number> = { detector: Math.round(result.timings.decodeMs + result.timings.detectMs), calculator: Math.round(result.timings.embedMs) };
  if (q.plugins.has('landmarks')) t.landmarks = 0;
  if (q.plugins.has('pose')) t.pose = Math.round(result.timings.qualityMs);
  return t;
}

/** `plugins_versions` (with status=true): which Wajah component produced each field. */
export function pluginsVersions(result: AnalyzeResult, q: FaceQuery): Record<string, string> {
  const v: Record<string, string> = { detector: 'wajah.FaceDetector', calculator: `wajah.${result.modelId}` };
  if (q.plugins.has('landmarks')) v.landmarks = 'wajah.FiveLandmarks';
  if (q.plugins.has('pose')) v.pose = 'wajah.MeshPose';
  return v;
}
