import { Type } from '@sinclair/typebox';

/** Shared TypeBox pieces of the enrollment and authentication routes. */
export const ErrorResponse = Type.Object(
  { code: Type.String(), message: Type.String(), statusCode: Type.Integer(), details: Type.Optional(Type.Unknown()) },
  { description: 'The one error shape (docs/errors.md)' },
);

export const SessionHeaders = Type.Object({ 'x-session-token': Type.String({ minLength: 1, description: 'session_token from the create call' }) });

/** 0..1 thresholds. */
export const unit = Type.Number({ minimum: 0, maximum: 1 });

/** An image part: documented as a file; in a JSON body a data URL string. */
export const UploadText = (description: string) => Type.String({ description });
