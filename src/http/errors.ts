// The one table from domain errors to OCI error codes and HTTP statuses, and the OCI error body
// (distribution-spec v1.1.1 "Error Codes": {"errors":[{"code","message","detail"}]}).

import { ProxyError, type ErrorCode } from '../errors.js';

interface WireError {
  readonly status: number;
  readonly ociCode: string;
  /** Seconds a client should wait before retrying, for retryable failures. */
  readonly retryAfter?: number;
}

const WIRE: Readonly<Record<ErrorCode, WireError>> = {
  RP_ERR_NAME_INVALID: { status: 400, ociCode: 'NAME_INVALID' },
  RP_ERR_DIGEST_INVALID: { status: 400, ociCode: 'DIGEST_INVALID' },
  RP_ERR_REFERENCE_INVALID: { status: 400, ociCode: 'MANIFEST_INVALID' },
  RP_ERR_MANIFEST_INVALID: { status: 400, ociCode: 'MANIFEST_INVALID' },
  RP_ERR_MANIFEST_TOO_LARGE: { status: 413, ociCode: 'SIZE_INVALID' },
  RP_ERR_INDEX_UNAVAILABLE: { status: 503, ociCode: 'UNAVAILABLE', retryAfter: 5 },
  RP_ERR_UPSTREAM_UNAVAILABLE: { status: 502, ociCode: 'UNAVAILABLE', retryAfter: 5 },
  // distribution's own code for this case; the spec lists none.
  RP_ERR_PAGINATION_INVALID: { status: 400, ociCode: 'PAGINATION_NUMBER_INVALID' },
  RP_ERR_PATH_INVALID: { status: 400, ociCode: 'NAME_INVALID' },
  // As for requests the HTTP parser refuses (client-errors.ts).
  RP_ERR_TARGET_INVALID: { status: 400, ociCode: 'UNSUPPORTED' },
  RP_ERR_BODY_TIMEOUT: { status: 408, ociCode: 'MANIFEST_INVALID' },
  RP_ERR_TAG_RESERVED: { status: 403, ociCode: 'DENIED' },
  RP_ERR_UPSTREAM_INVALID: { status: 502, ociCode: 'UNAVAILABLE' },
  RP_ERR_TAG_LOCKED: { status: 403, ociCode: 'DENIED' },
  RP_ERR_POLICY_INVALID: { status: 400, ociCode: 'UNSUPPORTED' },
  RP_ERR_ADMIN_UNAUTHORIZED: { status: 401, ociCode: 'UNAUTHORIZED' },
  RP_ERR_CASCADE_INVALID: { status: 400, ociCode: 'UNSUPPORTED' },
  RP_ERR_RETENTION_BUSY: { status: 503, ociCode: 'UNAVAILABLE', retryAfter: 60 },
  RP_ERR_QUERY_INVALID: { status: 400, ociCode: 'UNSUPPORTED' },
  RP_ERR_TAG_LOCK_UNKNOWN: { status: 404, ociCode: 'NAME_UNKNOWN' },
  RP_ERR_MANIFEST_UNKNOWN: { status: 404, ociCode: 'MANIFEST_UNKNOWN' },
};

export interface ErrorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export function ociErrorBody(code: string, message: string, detail?: unknown): string {
  const error = detail === undefined ? { code, message } : { code, message, detail };
  return JSON.stringify({ errors: [error] });
}

/** The wire form of a domain error; `context` joins its detail (e.g. a cascade's progress). */
export function errorResponse(error: ProxyError, context: object = {}): ErrorResponse {
  const wire = WIRE[error.code];
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (wire.retryAfter !== undefined) headers['retry-after'] = String(wire.retryAfter);
  return {
    status: wire.status,
    headers,
    body: ociErrorBody(wire.ociCode, error.message,
      { ...error.detail, ...context, proxyCode: error.code }),
  };
}

/**
 * The answer to any error thrown while handling a request. A request body not read to its end
 * (413, 408) must not be parsed as the next request on the socket: the connection closes.
 */
export function answerFor(error: unknown, requestComplete: boolean): ErrorResponse {
  const response = error instanceof ProxyError ? errorResponse(error) : internalErrorResponse();
  if (requestComplete) return response;
  return { ...response, headers: { ...response.headers, connection: 'close' } };
}

/** For failures nobody anticipated: the message stays in our log, not on the wire. */
export function internalErrorResponse(context?: object): ErrorResponse {
  return {
    status: 500,
    headers: { 'content-type': 'application/json' },
    body: ociErrorBody('UNKNOWN', 'internal error in referrers-proxy', context),
  };
}
