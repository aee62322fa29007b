// Which route a request takes. Only manifest PUT/DELETE, the referrers API and the proxy's own
// endpoints are intercepted; everything else streams to the upstream untouched.

export type RouteKind =
  | 'healthz' | 'readyz' | 'notifications' | 'admin'
  | 'manifest-put' | 'manifest-delete' | 'referrers' | 'tags-list'
  | 'base' | 'manifest' | 'blob' | 'upload' | 'tags' | 'catalog' | 'other';

export interface Route {
  readonly kind: RouteKind;
  /** Repository name as it appears in the path (not yet validated). */
  readonly repository?: string;
  /** Manifest reference or referrers subject digest, as in the path. */
  readonly reference?: string;
  readonly intercepted: boolean;
}

/** Where the registry's notifications endpoint points (outside /v2/: not registry API). */
export const NOTIFICATIONS_PATH = '/_referrers-proxy/notifications';

/** The administrative endpoint (tag locks, retention runs), outside /v2/ as well. */
export const ADMIN_PATH_PREFIX = '/_referrers-proxy/admin/';

const MANIFEST = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
// An empty digest or a trailing slash is still a referrers request, answered 400, not passed
// on to a registry whose 404 would tell clients the API is missing.
const REFERRERS = /^\/v2\/(.+)\/referrers\/([^/]*\/?)$/;
const BLOB = /^\/v2\/(.+)\/blobs\/([^/]+)$/;
const UPLOAD = /^\/v2\/(.+)\/blobs\/uploads\/?([^/]*)$/;
const TAGS = /^\/v2\/(.+)\/tags\/list$/;

export function classifyRoute(method: string, path: string): Route {
  if (path === '/healthz') return { kind: 'healthz', intercepted: true };
  if (path === '/readyz') return { kind: 'readyz', intercepted: true };
  if (path === NOTIFICATIONS_PATH) return { kind: 'notifications', intercepted: true };
  if (path.startsWith(ADMIN_PATH_PREFIX) || `${path}/` === ADMIN_PATH_PREFIX) {
    return { kind: 'admin', intercepted: true };
  }

  const referrers = REFERRERS.exec(path);
  if (referrers !== null) {
    const [, repository, reference] = referrers;
    return { kind: 'referrers', repository, reference, intercepted: true };
  }

  const manifest = MANIFEST.exec(path);
  if (manifest !== null) return manifestRoute(method, manifest[1], manifest[2]);

  const tags = TAGS.exec(path);
  if (tags !== null && method === 'GET') {
    return { kind: 'tags-list', repository: tags[1], intercepted: true };
  }

  return passThroughRoute(path);
}

function manifestRoute(method: string, repository?: string, reference?: string): Route {
  if (method === 'PUT') return { kind: 'manifest-put', repository, reference, intercepted: true };
  if (method === 'DELETE') {
    return { kind: 'manifest-delete', repository, reference, intercepted: true };
  }
  return { kind: 'manifest', repository, reference, intercepted: false };
}

function passThroughRoute(path: string): Route {
  if (path === '/v2/' || path === '/v2') return { kind: 'base', intercepted: false };
  if (path === '/v2/_catalog') return { kind: 'catalog', intercepted: false };

  const upload = UPLOAD.exec(path);
  if (upload !== null) return { kind: 'upload', repository: upload[1], intercepted: false };

  const blob = BLOB.exec(path);
  if (blob !== null) return { kind: 'blob', repository: blob[1], intercepted: false };

  const tags = TAGS.exec(path);
  if (tags !== null) return { kind: 'tags', repository: tags[1], intercepted: false };
  return { kind: 'other', intercepted: false };
}
