// The server's request handler. Traffic the proxy does not intercept (blob and manifest reads,
// uploads, catalog) goes straight to the pass-through stream, the hottest path, which needs
// nothing of Koa's context and middleware chain; in blob redirect mode blob GETs are answered
// here with a redirect. Intercepted routes, and percent-escaped paths (which Koa refuses with
// 400, see app.ts), go to the Koa app.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { TargetInvalidError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PassThrough } from '../upstream/passthrough.js';
import { watchRequest, type RequestOutcome } from './access-log.js';
import { answerFor } from './errors.js';
import { blobRedirectLocation } from './redirect.js';
import { classifyRoute, type Route } from './routes.js';

export interface FrontOptions {
  readonly passThrough: PassThrough;
  /** Base URL blob GETs are redirected to; undefined streams them. */
  readonly blobRedirect: URL | undefined;
  readonly logger: Logger;
}

/** What the log line reports, filled in as the exchange goes (no subject: nothing indexed). */
type Exchange = { -readonly [K in keyof RequestOutcome]: RequestOutcome[K] };

function exchangeOf(path: string, route: Route, error?: unknown): Exchange {
  return { path, route, upstreamStatus: undefined, subject: undefined, error };
}

/** What the front handler does with one origin-form request. */
export type FrontChoice =
  | { readonly to: 'koa' }
  | { readonly to: 'stream' | 'redirect'; readonly path: string; readonly route: Route };

export function chooseHandling(method: string, url: string, blobRedirect: boolean): FrontChoice {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  // Koa refuses escaped /v2/ paths with 400 (app.ts); a fragment is parsed there as well. An
  // escape in the query is ordinary (a redirected blob GET keeps it).
  if (path.includes('%') || url.includes('#')) return { to: 'koa' };

  const route = classifyRoute(method, path);
  if (route.intercepted) return { to: 'koa' };
  const redirect = blobRedirect && route.kind === 'blob' && method === 'GET';
  return { to: redirect ? 'redirect' : 'stream', path, route };
}

export function frontHandler(options: FrontOptions, koa: RequestListener): RequestListener {
  return (req, res) => {
    const url = originForm(req);
    if (url === undefined) return refuseTarget(options.logger, req, res);
    const choice = chooseHandling(req.method ?? 'GET', url, options.blobRedirect !== undefined);
    if (choice.to === 'koa') return koa(req, res);

    const exchange = exchangeOf(choice.path, choice.route);
    watchRequest(options.logger, req, res, () => exchange);
    if (choice.to === 'redirect' && options.blobRedirect !== undefined) {
      redirect(res, blobRedirectLocation(options.blobRedirect, url));
      return;
    }
    forward(options.passThrough, req, res, exchange).catch((error: unknown) => {
      exchange.error = error;
      sendError(req, res, error);
    });
  };
}

// RFC 9112 §3.2.2 absolute-form: scheme "://" authority, then path and query.
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*(.*)$/s;

/**
 * The origin-form of a request target. An absolute-form target would be forwarded as it came,
 * user info included, so the upstream gets its path and query only. Undefined for targets
 * that are neither (asterisk-form, authority-form, garbage). Parsed by hand: url.parse prints
 * a malformed URL, user info included, in a deprecation warning, and throws on some.
 */
export function originFormOf(target: string): string | undefined {
  if (target.startsWith('/')) return target;

  const rest = ABSOLUTE_FORM.exec(target)?.[1];
  if (rest === undefined) return undefined;
  return rest.startsWith('/') ? rest : `/${rest}`;
}

function originForm(req: IncomingMessage): string | undefined {
  const url = originFormOf(req.url ?? '/');
  if (url !== undefined) req.url = url;
  return url;
}

function refuseTarget(logger: Logger, req: IncomingMessage, res: ServerResponse): void {
  const error = new TargetInvalidError();
  const exchange = exchangeOf('', { kind: 'other', intercepted: false }, error);
  watchRequest(logger, req, res, () => exchange);
  sendError(req, res, error);
}

async function forward(
  passThrough: PassThrough,
  req: IncomingMessage,
  res: ServerResponse,
  exchange: Exchange,
): Promise<void> {
  const error = await passThrough.forward(req, res, (status) => {
    exchange.upstreamStatus = status;
  });
  if (error !== undefined) throw error;
}

/**
 * 307 keeps the method (RFC 9110 §15.4.8); clients already follow the registry's own blob
 * redirects to object storage this way (distribution-spec "Pulling blobs").
 */
function redirect(res: ServerResponse, location: string): void {
  res.writeHead(307, { location, 'content-length': '0' });
  res.end();
}

function sendError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const response = answerFor(error, req.complete);
  res.writeHead(response.status, { ...response.headers,
    'content-length': String(Buffer.byteLength(response.body)) });
  res.end(response.body);
}
