import { multipart, type CallOptions, type HttpTransport } from './http.ts';
import { isBinary } from './images.ts';
import type {
  AuthDecision,
  AuthenticationSession,
  BatchProcessOptions,
  BatchProcessResult,
  CreateAuthenticationSessionInput,
  IdentifyInput,
  ImageInput,
  VerifyInput,
} from './types.ts';

/**
 * `/api/auth/authentication/…`: sessions (with server-driven liveness) and one-shot verify/identify.
 * A face that does not match is not an error: the answer has `status: 'failed'` and `result.failure_reason`.
 * @example const d = await client.authentication.verify({ user_id: 'EMP001', image: bytes }); d.result?.authenticated
 */
export class AuthenticationApi {
  private readonly http: HttpTransport;
  constructor(http: HttpTransport) {
    this.http = http;
  }

  create(input: CreateAuthenticationSessionInput, call?: CallOptions): Promise<AuthenticationSession> {
    return this.http.request('POST', '/auth/authentication/create/', { json: input, call });
  }

  processFrame(sessionToken: string, frame: ImageInput, frameMetadata?: Record<string, unknown>, call?: CallOptions): Promise<AuthDecision> {
    const headers = { 'x-session-token': sessionToken };
    if (isBinary(frame)) return this.http.request('POST', '/auth/authentication/process-frame/', { form: multipart({ frame_metadata: frameMetadata }, [['frame', frame]]), headers, call });
    return this.http.request('POST', '/auth/authentication/process-frame/', { json: { frame, frame_metadata: frameMetadata }, headers, call });
  }

  /** Verifies or identifies many frames in one request. */
  batchProcess(frames: ImageInput[], options: BatchProcessOptions = {}, call?: CallOptions): Promise<BatchProcessResult> {
    if (frames.some(isBinary)) {
      const form = multipart({ options }, frames.map((f) => ['frames', f]));
      return this.http.request('POST', '/auth/authentication/batch-process/', { form, call });
    }
    return this.http.request('POST', '/auth/authentication/batch-process/', { json: { frames, options }, call });
  }

  /** One-shot 1:1 verification (server to server). */
  verify(input: VerifyInput, call?: CallOptions): Promise<AuthDecision> {
    return this.#oneShot('/auth/authentication/verify/', input, call);
  }

  /** One-shot 1:N identification; `result.matches` best first. */
  identify(input: IdentifyInput, call?: CallOptions): Promise<AuthDecision> {
    return this.#oneShot('/auth/authentication/identify/', input, call);
  }

  #oneShot(path: string, input: { image: ImageInput }, call?: CallOptions): Promise<AuthDecision> {
    const { image, ...fields } = input;
    if (isBinary(image)) return this.http.request('POST', path, { form: multipart(fields, [['image', image]]), call });
    return this.http.request('POST', path, { json: input, call });
  }
}
