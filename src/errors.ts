// Domain errors: what went wrong, with typed fields and a stable code. They know nothing of HTTP;
// src/http/errors.ts maps each code to an OCI error code and status in one table. Codes are
// documented in docs/errors.md and never reused for another meaning.

export type ErrorCode =
  | 'RP_ERR_NAME_INVALID'
  | 'RP_ERR_DIGEST_INVALID'
  | 'RP_ERR_REFERENCE_INVALID'
  | 'RP_ERR_MANIFEST_INVALID'
  | 'RP_ERR_MANIFEST_TOO_LARGE'
  | 'RP_ERR_INDEX_UNAVAILABLE'
  | 'RP_ERR_UPSTREAM_UNAVAILABLE'
  | 'RP_ERR_PAGINATION_INVALID'
  | 'RP_ERR_PATH_INVALID'
  | 'RP_ERR_TARGET_INVALID'
  | 'RP_ERR_BODY_TIMEOUT'
  | 'RP_ERR_TAG_RESERVED'
  | 'RP_ERR_UPSTREAM_INVALID'
  | 'RP_ERR_TAG_LOCKED'
  | 'RP_ERR_POLICY_INVALID'
  | 'RP_ERR_ADMIN_UNAUTHORIZED'
  | 'RP_ERR_CASCADE_INVALID'
  | 'RP_ERR_RETENTION_BUSY'
  | 'RP_ERR_QUERY_INVALID'
  | 'RP_ERR_TAG_LOCK_UNKNOWN'
  | 'RP_ERR_MANIFEST_UNKNOWN';

export abstract class ProxyError extends Error {
  abstract readonly code: ErrorCode;

  /** Machine-readable context, sent as the OCI error `detail`. */
  abstract readonly detail: Readonly<Record<string, unknown>>;
}

export class NameInvalidError extends ProxyError {
  override readonly name = 'NameInvalidError';
  readonly code = 'RP_ERR_NAME_INVALID';

  constructor(readonly repository: string) {
    super('repository name does not match the distribution-spec grammar');
  }

  get detail() {
    return { name: this.repository.slice(0, 300) };
  }
}

export class DigestInvalidError extends ProxyError {
  override readonly name = 'DigestInvalidError';
  readonly code = 'RP_ERR_DIGEST_INVALID';

  constructor(readonly digest: string, reason = 'digest does not match algorithm ":" encoded') {
    super(reason);
  }

  get detail() {
    return { digest: this.digest.slice(0, 300) };
  }
}

export class ReferenceInvalidError extends ProxyError {
  override readonly name = 'ReferenceInvalidError';
  readonly code = 'RP_ERR_REFERENCE_INVALID';

  constructor(readonly reference: string) {
    super('manifest reference is neither a valid tag nor a valid digest');
  }

  get detail() {
    return { reference: this.reference.slice(0, 300) };
  }
}

export class ManifestInvalidError extends ProxyError {
  override readonly name = 'ManifestInvalidError';
  readonly code = 'RP_ERR_MANIFEST_INVALID';

  constructor(readonly reason: string) {
    super(`manifest invalid: ${reason}`);
  }

  get detail() {
    return { reason: this.reason };
  }
}

export class ManifestTooLargeError extends ProxyError {
  override readonly name = 'ManifestTooLargeError';
  readonly code = 'RP_ERR_MANIFEST_TOO_LARGE';

  constructor(readonly limit: number) {
    super(`manifest body exceeds the limit of ${limit} bytes`);
  }

  get detail() {
    return { limit: this.limit };
  }
}

/** The referrers index (Redis) cannot be read or written right now; retrying may succeed. */
export class IndexUnavailableError extends ProxyError {
  override readonly name = 'IndexUnavailableError';
  readonly code = 'RP_ERR_INDEX_UNAVAILABLE';

  constructor(readonly operation: string, options?: ErrorOptions) {
    super(`referrers index unavailable during ${operation}; retry later`, options);
  }

  get detail() {
    return { operation: this.operation };
  }
}

/** The upstream registry could not be reached or broke off the exchange. */
export class UpstreamUnavailableError extends ProxyError {
  override readonly name = 'UpstreamUnavailableError';
  readonly code = 'RP_ERR_UPSTREAM_UNAVAILABLE';

  constructor(readonly method: string, readonly path: string, options?: ErrorOptions) {
    super(`upstream registry unavailable (${method} ${path})`, options);
  }

  get detail() {
    return { method: this.method, path: this.path };
  }
}

export class PaginationInvalidError extends ProxyError {
  override readonly name = 'PaginationInvalidError';
  readonly code = 'RP_ERR_PAGINATION_INVALID';

  constructor(readonly query: string) {
    super('n must be an integer from 0 to 999999999');
  }

  get detail() {
    return { query: this.query.slice(0, 300) };
  }
}

/** The upstream answered with content the proxy cannot trust (design.md invariant 6). */
export class UpstreamInvalidError extends ProxyError {
  override readonly name = 'UpstreamInvalidError';
  readonly code = 'RP_ERR_UPSTREAM_INVALID';

  constructor(readonly path: string, readonly reason: string) {
    super(`upstream registry answered ${path} with invalid content: ${reason}`);
  }

  get detail() {
    return { path: this.path, reason: this.reason };
  }
}

/**
 * A /v2/ path the proxy cannot route the way the registry would: percent-escapes. Registry
 * 2.8 decodes them before routing, so `/v2/r/%6danifests/x` would reach the manifest handler
 * past the proxy's interception; no valid name, reference or digest needs an escape.
 */
export class PathInvalidError extends ProxyError {
  override readonly name = 'PathInvalidError';
  readonly code = 'RP_ERR_PATH_INVALID';

  constructor(readonly path: string) {
    super('percent-encoded characters are not accepted in /v2/ paths');
  }

  get detail() {
    return { path: this.path.slice(0, 300) };
  }
}

/** A request target that is neither a path nor an absolute URL (RFC 9112 §3.2). */
export class TargetInvalidError extends ProxyError {
  override readonly name = 'TargetInvalidError';
  readonly code = 'RP_ERR_TARGET_INVALID';

  constructor() {
    super('the request target is neither a path nor an absolute URL');
  }

  // The target is not echoed: its user info may hold credentials.
  get detail() {
    return {};
  }
}

export class BodyTimeoutError extends ProxyError {
  override readonly name = 'BodyTimeoutError';
  readonly code = 'RP_ERR_BODY_TIMEOUT';

  constructor(readonly timeoutMs: number) {
    super(`manifest body not received within ${timeoutMs / 1000} s`);
  }

  get detail() {
    return { timeoutSeconds: this.timeoutMs / 1000 };
  }
}

/** A client tried to write or delete a tag the proxy maintains (mirror or pin tags). */
export class TagReservedError extends ProxyError {
  override readonly name = 'TagReservedError';
  readonly code = 'RP_ERR_TAG_RESERVED';

  constructor(readonly tag: string) {
    super('this tag is maintained by referrers-proxy (referrers tag schema or pin tag)');
  }

  get detail() {
    return { tag: this.tag };
  }
}

/**
 * A tag lock refuses the change: moving or deleting a locked tag, or deleting the manifest a
 * locked tag points to. `reference` is the tag or digest the request named.
 */
export class TagLockedError extends ProxyError {
  override readonly name = 'TagLockedError';
  readonly code = 'RP_ERR_TAG_LOCKED';

  constructor(
    readonly rule: string,
    readonly repository: string,
    readonly tag: string,
    readonly reference: string,
  ) {
    super(`tag "${tag}" of ${repository} is locked by rule "${rule}"`);
  }

  get detail() {
    return { rule: this.rule, repository: this.repository, tag: this.tag,
      reference: this.reference };
  }
}

/** A lifecycle rule (tag lock or retention policy) is malformed; `field` says where. */
export class PolicyInvalidError extends ProxyError {
  override readonly name = 'PolicyInvalidError';
  readonly code = 'RP_ERR_POLICY_INVALID';

  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
  }

  get detail() {
    return { field: this.field, reason: this.reason };
  }
}

/** The administrative endpoint was called without its token, or with a wrong one. */
export class AdminUnauthorizedError extends ProxyError {
  override readonly name = 'AdminUnauthorizedError';
  readonly code = 'RP_ERR_ADMIN_UNAUTHORIZED';

  constructor() {
    super('administrative token missing or wrong');
  }

  get detail() {
    return {};
  }
}

/** A cascading delete asked for while CASCADE_DELETE=off, for a tag, or with a bad value. */
export class CascadeRequestError extends ProxyError {
  override readonly name = 'CascadeRequestError';
  readonly code = 'RP_ERR_CASCADE_INVALID';

  constructor(readonly reason: string) {
    super(`cascading delete refused: ${reason}`);
  }

  get detail() {
    return { reason: this.reason };
  }
}

/** A retention run (real, not dry) is already going on in some proxy process. */
export class RetentionBusyError extends ProxyError {
  override readonly name = 'RetentionBusyError';
  readonly code = 'RP_ERR_RETENTION_BUSY';

  constructor() {
    super('a retention run is in progress; retry when it has finished');
  }

  get detail() {
    return {};
  }
}

/** A query parameter of an extension is unknown, repeated, or has a value it cannot take. */
export class QueryInvalidError extends ProxyError {
  override readonly name = 'QueryInvalidError';
  readonly code = 'RP_ERR_QUERY_INVALID';

  constructor(readonly parameter: string, readonly reason: string) {
    super(`query parameter ${parameter}: ${reason}`);
  }

  get detail() {
    return { parameter: this.parameter.slice(0, 100), reason: this.reason };
  }
}

/** The administrative endpoint was asked about a tag lock rule it does not hold. */
export class TagLockUnknownError extends ProxyError {
  override readonly name = 'TagLockUnknownError';
  readonly code = 'RP_ERR_TAG_LOCK_UNKNOWN';

  constructor(readonly rule: string) {
    super(`no administrative tag lock named "${rule}"`);
  }

  get detail() {
    return { rule: this.rule };
  }
}

/** A cascading delete names a manifest the registry does not hold and nothing refers to. */
export class ManifestUnknownError extends ProxyError {
  override readonly name = 'ManifestUnknownError';
  readonly code = 'RP_ERR_MANIFEST_UNKNOWN';

  constructor(readonly repository: string, readonly digest: string) {
    super('manifest unknown to the registry, and nothing in the index refers to it');
  }

  get detail() {
    return { repository: this.repository, digest: this.digest };
  }
}
