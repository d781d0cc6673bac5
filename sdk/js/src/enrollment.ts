import { multipart, seg, type CallOptions, type HttpTransport } from './http.ts';
import { isBinary } from './images.ts';
import type {
  BatchEnrollmentItem,
  BatchEnrollmentResult,
  CreateEnrollmentSessionInput,
  DirectEnrollmentInput,
  EnrollmentDeleted,
  EnrollmentFrameResult,
  EnrollmentList,
  EnrollmentResult,
  EnrollmentSession,
  ImageInput,
} from './types.ts';

/**
 * `/api/auth/enrollment/…` and `/api/auth/enrollments/…`. Images given as bytes go as multipart
 * files, strings (data URL or base64) in a JSON body.
 * @example await client.enrollment.direct({ user_id: 'EMP001', image: await file.arrayBuffer() })
 */
export class EnrollmentApi {
  private readonly http: HttpTransport;
  constructor(http: HttpTransport) {
    this.http = http;
  }

  /** Starts a frame session (webcam, mobile, upload); keep `session_token` for the frames. */
  create(input: CreateEnrollmentSessionInput, call?: CallOptions): Promise<EnrollmentSession> {
    return this.http.request('POST', '/auth/enrollment/create/', { json: input, call });
  }

  /** Sends one frame of the session (`frame`, optional `frame_metadata`). */
  processFrame(sessionToken: string, frame: ImageInput, frameMetadata?: Record<string, unknown>, call?: CallOptions): Promise<EnrollmentFrameResult> {
    const headers = { 'x-session-token': sessionToken };
    if (isBinary(frame)) return this.http.request('POST', '/auth/enrollment/process-frame/', { form: multipart({ frame_metadata: frameMetadata }, [['frame', frame]]), headers, call });
    return this.http.request('POST', '/auth/enrollment/process-frame/', { json: { frame, frame_metadata: frameMetadata }, headers, call });
  }

  complete(sessionToken: string, call?: CallOptions): Promise<EnrollmentResult> {
    return this.http.request('POST', '/auth/enrollment/complete/', { headers: { 'x-session-token': sessionToken }, call });
  }

  /** Enrolls from one image. */
  direct(input: DirectEnrollmentInput, call?: CallOptions): Promise<EnrollmentResult> {
    const { image, ...fields } = input;
    if (isBinary(image)) return this.http.request('POST', '/auth/enrollment/direct/', { form: multipart(fields, [['image', image]]), call });
    return this.http.request('POST', '/auth/enrollment/direct/', { json: input, call });
  }

  /** Enrolls many users/images at once; images of one user become one enrollment. */
  batch(items: BatchEnrollmentItem[], options: { quality_threshold?: number } = {}, call?: CallOptions): Promise<BatchEnrollmentResult> {
    if (items.some((it) => isBinary(it.image))) {
      const form = multipart(
        { user_ids: items.map((it) => it.user_id), quality_threshold: options.quality_threshold },
        items.map((it) => ['images', it.image]),
      );
      return this.http.request('POST', '/auth/enrollment/batch/', { form, call });
    }
    return this.http.request('POST', '/auth/enrollment/batch/', { json: { items, ...options }, call });
  }

  /** A user's enrollments. */
  list(userId: string, call?: CallOptions): Promise<EnrollmentList> {
    return this.http.request('GET', '/auth/enrollments/', { query: { user_id: userId }, call });
  }

  /** Deletes one enrollment; its templates leave the search at once. */
  delete(enrollmentId: string, call?: CallOptions): Promise<EnrollmentDeleted> {
    return this.http.request('DELETE', `/auth/enrollments/${seg(enrollmentId)}/`, { call });
  }
}
