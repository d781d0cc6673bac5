import { PassiveAntiSpoof } from '../../anti-spoof/minifasnet.ts';
import { bytePool } from '../../buffer-pool.ts';
import type { RgbImage } from '../../image.ts';
import { boxFromMesh, clamp01, fivePoints, padImage, shiftFace } from '../geometry.ts';
import type { DetectedFace, DetectOptions, FaceDetector, FoundBox, TrackCrop, TrackedFit } from '../types.ts';
import { headPose } from './head-pose.ts';
import { MeshModel, type Crop, type Mesh } from './mesh-model.ts';
import { Ultraface, type FaceBox } from './ultraface.ts';

/** Minimum detector score and mesh confidence for a detection to count as a face. */
export const MIN_BOX_SCORE = 0.6;
export const MIN_MESH_SCORE = 0.5;

/**
 * Mesh crop relative to the mesh's own extent, measured on 394 images where Human's BlazeFace crop was
 * not clipped (median 1.343, 10–90 % 1.29–1.42): the crops the mesh model sees stay as before.
 */
const CROP_PER_MESH = 1.343;
/**
 * First crop from an Ultraface box, from the same 394 images: crop ≈ 1.108 × box height ≈ 1.597 × box
 * width (the larger of the two wins: a wide box means the face is wider than the box is tall, e.g. cut
 * at the chin), centred 0.065 × height below the box centre.
 */
const CROP_PER_BOX_H = 1.108;
const CROP_PER_BOX_W = 1.597;
const MESH_DY_PER_BOX_H = 0.065;
/** Re-run the mesh on a corrected crop when the first one was off by more than this (fraction of side). */
const RECROP_TOLERANCE = 0.08;
/**
 * Beyond this roll (8°) the mesh is fitted again on a crop turned upright. A fit on an upright crop
 * underestimates a strong tilt (a face turned 45° first measures ≈ 11°), hence the low bar.
 */
const MAX_UPRIGHT_ROLL = (8 * Math.PI) / 180;
const ROLL_AGREEMENT = (5 * Math.PI) / 180;

/** Sideways search: minimum mesh confidence, and largest yaw/pitch (degrees) of an accepted face. */
const TURNED_MIN_CONFIDENCE = 0.9;
const TURNED_MAX_ANGLE = 50;

/** Grey border (fraction of the longer side) for re-detecting faces cut by the image border. */
const BORDER_PAD = 0.25;

/** Faces at most this many; a crowd beyond it is reported by its largest faces. */
const MAX_FACES = 20;

/**
 * Detector backend: Ultraface (onnxruntime-node, ≈ 2 ms) finds face boxes, MediaPipe FaceMesh
 * (onnxruntime-node, ≈ 2–3 ms with the crop) fits 468 landmarks in a crop derived from each box; head pose and alignment points
 * come from the mesh. With `refineEyes` (liveness frames) the iris model re-fits the eye contours
 * (+≈ 10 ms), which makes blinks stand out much more clearly in the eye aspect ratio. ≈ 10 ms per frame with one face, against ≈ 46 ms for Human's
 * BlazeFace + mesh + iris, and more accurate end to end on pairs.csv (docs/vision.md).
 *
 * @example const det = await UltrafaceMeshDetector.create(); const faces = await det.detect(img, { passive: false });
 */
export class UltrafaceMeshDetector implements FaceDetector {
  readonly id = 'ultraface-mediapipe-mesh';

  private readonly boxes: Ultraface;
  private readonly mesh: MeshModel;
  private readonly antiSpoof: PassiveAntiSpoof;
  private constructor(
    boxes: Ultraface,
    mesh: MeshModel,
    antiSpoof: PassiveAntiSpoof,
  ) {
    this.boxes = boxes; this.mesh = mesh; this.antiSpoof = antiSpoof;
  }

  static async create(): Promise<UltrafaceMeshDetector> {
    const [boxes, mesh, antiSpoof] = await Promise.all([Ultraface.create(), MeshModel.create(), PassiveAntiSpoof.create()]);
    return new UltrafaceMeshDetector(boxes, mesh, antiSpoof);
  }

  async detect(img: RgbImage, options: DetectOptions): Promise<DetectedFace[]> {
    const faces = await this.detectOnce(img, options);
    if (faces.length > 0 || options.wide === false) return faces;
    // A face that fills the whole frame (a tight crop) can fall outside the detector's anchors: retry
    // once with a grey border, then map the coordinates back.
    const pad = Math.round(Math.max(img.width, img.height) * 0.3);
    const framed = padImage(img, pad, bytePool);
    let padded: DetectedFace[];
    try {
      padded = (await this.detectOnce(framed, options)).map((f) => shiftFace(f, -pad));
    } finally {
      bytePool.give(framed.data);
    }
    if (padded.length > 0) return padded;
    // A picture taken sideways (a phone photo without its EXIF orientation): look for faces a quarter
    // turn either way and fit the mesh on crops turned to match.
    // Both quarter turns can find "a face" (an upside-down one, from the wrong side): keep the turn
    // whose best mesh fit is the more confident.
    const [cw, ccw] = [await this.detectTurned(img, 1, options), await this.detectTurned(img, -1, options)];
    const best = (r: { confidence: number[] }) => Math.max(-1, ...r.confidence);
    return (best(cw) >= best(ccw) ? cw : ccw).faces;
  }

  /**
   * Streams: the mesh fitted on the crop the previous frame's mesh implies (with the same re-crop and
   * roll corrections as after a detection), ≈ 3 ms instead of detector + mesh. The passive anti-spoof
   * score needs a detector box: frames that ask for it are not tracked.
   */
  async track(img: RgbImage, crop: TrackCrop, options: DetectOptions): Promise<TrackedFit | null> {
    const fitted = await this.fit(img, crop, 1, options.refineEyes ?? false);
    if (!fitted) return null;
    return { face: fitted.face, confidence: fitted.confidence, next: this.trackCrop(fitted.face) };
  }

  /** `track` for several frames at once (of different streams): their first mesh fits run as one batch. */
  async trackBatch(items: Array<{ img: RgbImage; crop: TrackCrop }>, options: DetectOptions): Promise<Array<TrackedFit | null>> {
    if (options.refineEyes || items.length < 2) return Promise.all(items.map((it) => this.track(it.img, it.crop, options)));
    const first = await this.mesh.runBatch(items);
    const out: Array<TrackedFit | null> = [];
    for (const [i, it] of items.entries()) {
      const fitted = await this.fit(it.img, it.crop, 1, false, first[i]);
      out.push(fitted ? { face: fitted.face, confidence: fitted.confidence, next: this.trackCrop(fitted.face) } : null);
    }
    return out;
  }

  trackCrop(face: DetectedFace): TrackCrop {
    const mesh = face.mesh.slice(0, 468) as Mesh;
    const roll = eyeLineAngle(mesh);
    return cropFromMesh(mesh, Math.abs(roll) > MAX_UPRIGHT_ROLL ? roll : 0);
  }

  /** Faces of `img` found upright in the image turned a quarter clockwise (turn 1) or anticlockwise (−1). */
  private async detectTurned(img: RgbImage, turn: 1 | -1, options: DetectOptions): Promise<{ faces: DetectedFace[]; confidence: number[] }> {
    const rotated = quarterTurn(img, turn, bytePool.take(img.data.length));
    try {
      return await this.#detectIn(img, rotated, turn, options);
    } finally {
      bytePool.give(rotated.data);
    }
  }

  /** detectTurned's search of `rotated` (`img` turned by `turn`), the meshes fitted on `img` itself. */
  async #detectIn(img: RgbImage, rotated: RgbImage, turn: 1 | -1, options: DetectOptions): Promise<{ faces: DetectedFace[]; confidence: number[] }> {
    const boxes = (await this.boxes.detect(rotated, MIN_BOX_SCORE)).slice(0, MAX_FACES);
    const faces: DetectedFace[] = [];
    const confidence: number[] = [];
    for (const b of boxes) {
      const c = cropFromBox(b);
      // Back to the original picture: turned clockwise, rotated (x', y') came from (y', H − 1 − x').
      const [cx, cy] = turn === 1 ? [c.cy, img.height - 1 - c.cx] : [img.width - 1 - c.cy, c.cx];
      const fitted = await this.fit(img, { ...c, cx, cy, angle: -turn * (Math.PI / 2) }, b.score, options.refineEyes ?? false);
      // A sideways search also meets profile views and other non-faces: keep only confident, roughly
      // frontal fits.
      if (!fitted || fitted.confidence < TURNED_MIN_CONFIDENCE) continue;
      if (Math.abs(fitted.face.pose.yaw) > TURNED_MAX_ANGLE || Math.abs(fitted.face.pose.pitch) > TURNED_MAX_ANGLE) continue;
      if (options.passive) fitted.face.passiveLiveScore = await this.antiSpoof.score(rotated, b);
      faces.push(fitted.face);
      confidence.push(fitted.confidence);
    }
    return { faces: dedupe(faces), confidence };
  }

  /**
   * The detector's upright face boxes alone, without fitting a mesh on any of them: what a stream's
   * periodic detector frame needs when its main face is already followed (docs/vision.md, "Tracking in
   * streams"; `node scripts/stream-profile.ts` times it).
   */
  async faceBoxes(img: RgbImage): Promise<FoundBox[]> {
    return (await this.findBoxes(img)).map((b) => ({ box: { x: b.x0, y: b.y0, width: b.x1 - b.x0, height: b.y1 - b.y0 }, score: clamp01(b.score) }));
  }

  /** Ultraface boxes of upright faces, the faces cut by the image border found again with a grey border. */
  private async findBoxes(img: RgbImage): Promise<FaceBox[]> {
    const boxes = (await this.boxes.detect(img, MIN_BOX_SCORE)).slice(0, MAX_FACES);
    if (boxes.some((b) => touchesBorder(b, img))) {
      // A face cut by the image border gets a box clipped to it, too small and off-centre for the mesh
      // crop (tight ID-style crops): detect again with a grey border, where the box covers the whole face.
      const pad = Math.round(Math.max(img.width, img.height) * BORDER_PAD);
      const framed = padImage(img, pad, bytePool);
      const padded = await this.boxes.detect(framed, MIN_BOX_SCORE).finally(() => bytePool.give(framed.data));
      if (padded.length > 0) {
        return padded.slice(0, MAX_FACES).map((b) => ({ ...b, x0: b.x0 - pad, y0: b.y0 - pad, x1: b.x1 - pad, y1: b.y1 - pad }));
      }
    }
    return boxes;
  }

  private async detectOnce(img: RgbImage, options: DetectOptions): Promise<DetectedFace[]> {
    const boxes = await this.findBoxes(img);
    const faces: DetectedFace[] = [];
    for (const b of boxes) {
      const face = (await this.fit(img, cropFromBox(b), b.score, options.refineEyes ?? false))?.face;
      if (!face) continue;
      // The passive model was trained on crops around this kind of detector box, not the mesh box.
      if (options.passive) face.passiveLiveScore = await this.antiSpoof.score(img, b);
      faces.push(face);
    }
    return dedupe(faces);
  }

  /**
   * Mesh for one face: the first crop comes from the detector box; when the mesh says that crop was
   * off, it is fitted once more on the crop the mesh implies, and the more confident of the two fits
   * is kept.
   */
  private async fit(
    img: RgbImage,
    first: Crop,
    boxScore: number,
    refineEyes: boolean,
    /** The mesh on `first`, when it was already run (in a batch). */
    firstRun?: Awaited<ReturnType<MeshModel['run']>>,
  ): Promise<{ face: DetectedFace; confidence: number } | null> {
    // The crops are tried without the iris model; only the fit kept is refined (below).
    let crop = first;
    let r = firstRun ?? (await this.mesh.run(img, crop));
    const ideal = cropFromMesh(r.mesh, crop.angle ?? 0);
    const off = Math.max(Math.abs(ideal.side / crop.side - 1), Math.hypot(ideal.cx - crop.cx, ideal.cy - crop.cy) / crop.side);
    if (off > RECROP_TOLERANCE) {
      const second = await this.mesh.run(img, ideal);
      if (second.confidence >= r.confidence - 0.02) {
        r = second;
        crop = ideal;
      }
    }
    if (r.confidence < MIN_MESH_SCORE) return null;
    // A tilted head (roll): the mesh model was trained on upright crops. Fit it again on a crop turned
    // with the eye line and keep that fit when it is at least as confident. A fit on a crop far from
    // upright underestimates the roll, so this repeats (at most 4 times) until the crop's own angle
    // agrees with the eye line within 5°. Only a confident first fit starts it.
    for (let i = 0; i < 4; i++) {
      const roll = eyeLineAngle(r.mesh);
      if (Math.abs(roll) <= MAX_UPRIGHT_ROLL && !crop.angle) break;
      if (Math.abs(angleDiff(roll, crop.angle ?? 0)) < ROLL_AGREEMENT) break;
      const turned = cropFromMesh(r.mesh, roll);
      const next = await this.mesh.run(img, turned);
      if (next.confidence < r.confidence - 0.02) break;
      r = next;
      crop = turned;
    }
    if (r.confidence < MIN_MESH_SCORE) return null;
    // Box, alignment points and pose come from the 468-point mesh before any eye refinement, so
    // templates and angles do not depend on `refineEyes`; only eye openness does.
    const face: DetectedFace = {
      box: boxFromMesh(r.mesh),
      score: clamp01(boxScore),
      mesh: refineEyes ? await this.mesh.refine(img, crop, r.raw) : r.mesh,
      five: fivePoints(r.mesh),
      pose: poseInCrop(r.mesh, crop),
      passiveLiveScore: null,
    };
    return { face, confidence: r.confidence };
  }
}

/**
 * The crop the mesh model expects for a face whose mesh is `mesh`; with `angle`, turned by it (the
 * extent is then measured in the face's own upright frame).
 */
export function cropFromMesh(mesh: Mesh, angle = 0): Crop {
  if (!angle) {
    const b = boxFromMesh(mesh);
    return { cx: b.x + b.width / 2, cy: b.y + b.height / 2, side: CROP_PER_MESH * Math.max(b.width, b.height) };
  }
  const cos = Math.cos(angle), sin = Math.sin(angle);
  let u0 = Infinity, v0 = Infinity, u1 = -Infinity, v1 = -Infinity;
  for (let i = 0; i < 468; i++) {
    const [x, y] = mesh[i];
    const u = x * cos + y * sin, v = -x * sin + y * cos; // rotate by −angle into the face's frame
    if (u < u0) u0 = u;
    if (u > u1) u1 = u;
    if (v < v0) v0 = v;
    if (v > v1) v1 = v;
  }
  const cu = (u0 + u1) / 2, cv = (v0 + v1) / 2;
  return { cx: cu * cos - cv * sin, cy: cu * sin + cv * cos, side: CROP_PER_MESH * Math.max(u1 - u0, v1 - v0), angle };
}

/**
 * In-plane angle of the face: the direction from outer eye corner 33 to 263 (image-left to image-right
 * on an upright face), radians, clockwise positive, in (−π, π] so that a face on its side reads ±π/2.
 */
/**
 * Head pose measured in the crop's own upright frame (the Euler decomposition breaks down near a
 * 90° roll), with the crop's turn added back to the roll.
 */
function poseInCrop(mesh: Mesh, crop: Crop) {
  const a = crop.angle ?? 0;
  if (!a) return headPose(mesh, crop.side);
  const cos = Math.cos(-a), sin = Math.sin(-a);
  const upright: Mesh = mesh.map(([x, y, z]) => {
    const dx = x - crop.cx, dy = y - crop.cy;
    return [crop.cx + dx * cos - dy * sin, crop.cy + dx * sin + dy * cos, z];
  });
  const p = headPose(upright, crop.side);
  const roll = p.roll + (a * 180) / Math.PI;
  return { ...p, roll: ((((roll + 180) % 360) + 360) % 360) - 180 };
}

function angleDiff(a: number, b: number): number {
  return Math.atan2(Math.sin(a - b), Math.cos(a - b));
}

function eyeLineAngle(mesh: Mesh): number {
  return Math.atan2(mesh[263][1] - mesh[33][1], mesh[263][0] - mesh[33][0]);
}

/** The mesh crop for a detector box (before any correction from the mesh itself). */
function cropFromBox(b: FaceBox): Crop {
  const h = b.y1 - b.y0;
  const side = Math.max(CROP_PER_BOX_H * h, CROP_PER_BOX_W * (b.x1 - b.x0));
  return { cx: (b.x0 + b.x1) / 2, cy: (b.y0 + b.y1) / 2 + MESH_DY_PER_BOX_H * h, side };
}

/** The image turned a quarter clockwise (turn 1) or anticlockwise (−1), into `out` (W × H × 3 bytes). */
function quarterTurn(img: RgbImage, turn: 1 | -1, out: Uint8Array): RgbImage {
  const { width: W, height: H, data } = img;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      // clockwise: (x, y) → (H − 1 − y, x); anticlockwise: (x, y) → (y, W − 1 − x); output width is H.
      const o = (turn === 1 ? x * H + (H - 1 - y) : (W - 1 - x) * H + y) * 3, i = (y * W + x) * 3;
      out[o] = data[i];
      out[o + 1] = data[i + 1];
      out[o + 2] = data[i + 2];
    }
  }
  return { data: out, width: H, height: W };
}

/** Whether a box's mesh crop reaches well outside the image: the face is probably cut by the border. */
function touchesBorder(b: FaceBox, img: RgbImage): boolean {
  const c = cropFromBox(b);
  const m = -0.04 * c.side;
  const half = c.side / 2;
  return c.cx - half < m || c.cy - half < m || img.width - (c.cx + half) < m || img.height - (c.cy + half) < m;
}

/** Two detector boxes on one face converge to one mesh: keep the first (best-scored) of overlapping fits. */
function dedupe(faces: DetectedFace[]): DetectedFace[] {
  const keep: DetectedFace[] = [];
  for (const f of faces) {
    const overlaps = keep.some((k) => {
      const w = Math.min(k.box.x + k.box.width, f.box.x + f.box.width) - Math.max(k.box.x, f.box.x);
      const h = Math.min(k.box.y + k.box.height, f.box.y + f.box.height) - Math.max(k.box.y, f.box.y);
      return w > 0 && h > 0 && (w * h) / Math.min(k.box.width * k.box.height, f.box.width * f.box.height) > 0.5;
    });
    if (!overlaps) keep.push(f);
  }
  return keep;
}
