// Blob redirect mode (--blob-redirect): blob GETs are answered with a redirect to an address
// of the upstream that clients reach themselves, so blob bytes do not cross the proxy.

/**
 * Where a blob GET is sent: the same path and query on the redirect base. `requestUrl` is the
 * origin-form request target, e.g. `/v2/library/app/blobs/sha256:...?ns=x`.
 */
export function blobRedirectLocation(base: URL, requestUrl: string): string {
  return base.origin + requestUrl;
}
