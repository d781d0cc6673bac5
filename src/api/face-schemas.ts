import { Type } from '@sinclair/typebox';

/** Shared TypeBox pieces of the enrollment and authentication routes. */
export const ErrorResponse = Type.Object(
  { code: Type.String(), message: Type.String(), statusCode: Type.Integer(), details: Type.Optional(Type.Unknown()) },
  { description: 'The one error shape (docs/errors.md)' },
);

export const SessionHeaders = Type.Object({ 'x-session-token': Type.String({ minLength: 1, description: 'session_token from the create call' }) });

/** 0..1 thresholds. */
export const unit = Type.Number({ minimum: 0, maximum: 1 });

/** Seconds per liveness challenge, for every way a session is created (HTTP session, WebRTC stream). */
export const ChallengeTimeout = Type.Number({ minimum: 1, maximum: 120, description: 'Seconds per challenge (default 10)' });

/** An image part: documented as a file; in a JSON body a data URL string. */
export const UploadText = (description: string) => Type.String({ description });

/** Where the face that was used sits in the picture (pixels of the decoded, EXIF-rotated image). */
export const FaceLocationSchema = Type.Object(
  {
    box: Type.Object({ x: Type.Integer(), y: Type.Integer(), width: Type.Integer(), height: Type.Integer() }),
    image_width: Type.Integer(),
    image_height: Type.Integer(),
  },
  { description: 'The face the result is about: its box in the image, and the image size, so a client can draw it' },
);

/** How a batch spends the hourly calls (docs/foundation.md, "Limits"): in the batch routes' and the review request's descriptions. */
export const BATCH_QUOTA =
  'Each image counts as one API call of the hourly budget (X-RateLimit-Remaining after them); a batch larger than the calls left this hour is refused whole before any image is processed: 429 RATE_LIMIT_EXCEEDED with Retry-After and details {limit, remaining, requested}, and nothing of it is counted.';
