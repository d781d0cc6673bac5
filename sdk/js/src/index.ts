/**
 * @wajah/sdk: the JavaScript/TypeScript client of a Wajah server. No runtime
 * dependencies and no node: imports here (browser-safe); `@wajah/sdk/node` adds a
 * synchronous webhook signature check on node:crypto.
 */
export { FaceRecognitionClient, type FaceRecognitionClientOptions } from './client.ts';
export { FaceRecognitionError, SDK_ERROR_CODES, type FaceRecognitionErrorInit, type SdkErrorCode } from './errors.ts';
export type { CallOptions, FetchLike } from './http.ts';
export { UsersApi } from './users.ts';
export { EnrollmentApi } from './enrollment.ts';
export { AuthenticationApi } from './authentication.ts';
export { WebhooksApi, WebhookEndpointsApi, WebhookLogsApi } from './webhooks.ts';
export {
  RecognitionSocket,
  realtimeUrl,
  type FrameOptions,
  type RealtimeEvents,
  type RealtimeOptions,
  type RecognitionResult,
  type ServerMessage,
  type WebSocketConstructor,
  type WebSocketLike,
} from './realtime.ts';
export { verifyWebhookSignature, signWebhookPayload, parseSignatureHeader, type RawBody } from './webhook-signature.ts';
export * from './types.ts';
