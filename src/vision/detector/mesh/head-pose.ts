import type { Pose } from '../../types.ts';
import type { Mesh } from './mesh-model.ts';

const RAD = 180 / Math.PI;

type Vec = [number, number, number];
const sub = (a: Vec, b: Vec): Vec => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a: Vec, b: Vec): Vec => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (v: Vec): Vec => {
  const l = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / l, v[1] / l, v[2] / l];
};

/**
 * Head pose from the mesh's forehead (10), chin (152) and cheek (234, 454) points: the face's own axes
 * give a rotation matrix, read as YZX Euler angles. Same construction and scaling as Human's
 * calculateFaceAngle (MIT), so angles match the detector used before; converted to our convention
 * (degrees, yaw > 0 = the person's own right, pitch > 0 = looking up).
 *
 * @param cropSide side of the square crop the mesh was computed on (pixels); z is in 1/192 of it.
 */
export function headPose(mesh: Mesh, cropSide: number): Pose {
  const size = cropSide / 1.5;
  const pt = (i: number): Vec => [mesh[i][0] / size, mesh[i][1] / size, mesh[i][2] / 192];
  const yAxis = norm(sub(pt(152), pt(10)));
  let xAxis = norm(sub(pt(454), pt(234)));
  const zAxis = norm(cross(xAxis, yAxis));
  xAxis = cross(yAxis, zAxis);
  const [r00, , , r10, r11, r12, r20, r21, r22] = [...xAxis, ...yAxis, ...zAxis];
  let tx: number, ty: number, tz: number;
  if (r10 < 1) {
    if (r10 > -1) {
      tz = Math.atan2(r10, Math.sqrt(r00 * r00 + r20 * r20));
      ty = Math.atan2(-r20, r00);
      tx = Math.atan2(-r12, r11);
    } else {
      tz = -Math.PI / 2;
      ty = -Math.atan2(r21, r22);
      tx = 0;
    }
  } else {
    tz = Math.PI / 2;
    ty = Math.atan2(r21, r22);
    tx = 0;
  }
  const fin = (v: number) => (Number.isFinite(v) ? v : 0);
  // Human reports pitch = −θx, yaw = −θy, roll = −θz; its pitch is positive looking down, ours up.
  return { yaw: fin(-ty) * RAD, pitch: fin(tx) * RAD, roll: fin(-tz) * RAD };
}
