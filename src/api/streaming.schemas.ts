import { Type, type Static } from '@sinclair/typebox';
import { CHALLENGES } from '../services/liveness.service.ts';
import { Nullable } from './common.schemas.ts';
import { ChallengeTimeout } from './face-schemas.ts';

const unit = Type.Number({ minimum: 0, maximum: 1 });

export const CreateStreamBody = Type.Object(
  {
    session_type: Type.Optional(Type.Literal('webrtc', { description: 'Only webrtc; the WebSocket stream needs no session (docs/realtime.md)' })),
    mode: Type.Optional(Type.Union([Type.Literal('identification'), Type.Literal('verification')], { description: 'Default: verification with user_id, else identification' })),
    user_id: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'External id of the user to verify' })),
    require_liveness: Type.Optional(Type.Boolean({ description: 'Frames feed server-driven liveness challenges, as over the WebSocket' })),
    liveness_challenges: Type.Optional(Type.Array(Type.Union(CHALLENGES.map((c) => Type.Literal(c))), { minItems: 1, maxItems: 4, description: 'Default: blink, head_movement' })),
    challenge_timeout: Type.Optional(ChallengeTimeout),
    confidence_threshold: Type.Optional(unit),
    search_threshold: Type.Optional(unit),
    max_results: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
    max_fps: Type.Optional(Type.Number({ minimum: 1, maximum: 30, description: 'Frames per second sampled from the camera track (default 10); never more than the engine keeps up with' })),
    timeout: Type.Optional(Type.Integer({ minimum: 30, maximum: 3600, description: 'Session lifetime in seconds (default 600)' })),
    page_token_ttl: Type.Optional(Type.Integer({ minimum: 10, maximum: 600, description: 'Seconds within which page_token may send the offer (default 120)' })),
  },
  { additionalProperties: false },
);
export type CreateStreamBody = Static<typeof CreateStreamBody>;

const IceServer = Type.Object({
  urls: Type.Union([Type.String(), Type.Array(Type.String())]),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});

const SessionFields = {
  session_id: Type.String({ format: 'uuid' }),
  session_type: Type.Literal('webrtc'),
  status: Type.Union([Type.Literal('created'), Type.Literal('connecting'), Type.Literal('connected'), Type.Literal('closed')]),
  mode: Type.Union([Type.Literal('identification'), Type.Literal('verification')]),
  user_id: Nullable(Type.String()),
  require_liveness: Type.Boolean(),
  max_fps: Type.Number(),
  data_channel: Type.String({ description: 'Label of the data channel the browser opens for results' }),
  offer_url: Type.String(),
  expires_at: Type.String({ format: 'date-time' }),
};

export const StreamSession = Type.Object({
  ...SessionFields,
  ice_servers: Type.Array(IceServer),
  page_token: Type.String({
    description: 'Bearer token for this session only (X-Stream-Token on its offer, status and DELETE), for a page that must not see the API secret: the backend creates the session and passes the page only session_id and page_token',
  }),
  page_token_expires_at: Type.String({ format: 'date-time', description: 'The offer must be sent with page_token before this time' }),
});

/** A page opened from a link authenticates with the session's page token instead of the API key. */
export const StreamTokenHeaders = Type.Object({
  'x-stream-token': Type.Optional(Type.String({ minLength: 16, maxLength: 128, description: 'page_token of this session (instead of Authorization)' })),
});

export const StreamStatus = Type.Object({
  ...SessionFields,
  ice_servers: Type.Array(IceServer),
  stats: Type.Object({
    frames_received: Type.Integer(),
    frames_processed: Type.Integer(),
    frames_skipped: Type.Integer(),
    results: Type.Integer(),
    errors: Type.Integer(),
  }),
});

export const StreamParams = Type.Object({ session_id: Type.String({ minLength: 1, maxLength: 64 }) });

export const OfferBody = Type.Object(
  { type: Type.Literal('offer'), sdp: Type.String({ minLength: 1, maxLength: 100_000 }) },
  { additionalProperties: false },
);

export const AnswerBody = Type.Object({ type: Type.Literal('answer'), sdp: Type.String(), session_id: Type.String() });
