// The Koa application: log line, error rendering, then one handler per route. Built apart from
// listening (server.ts) so tests can drive it on any socket. Requests reach it through
// front.ts, which has already put the request line in origin form and streams plain
// pass-through traffic itself.

import Koa from 'koa';
import { PathInvalidError } from '../errors.js';
import type { Logger } from '../log.js';
import { answerFor, ociErrorBody } from './errors.js';
import { accessLog } from './access-log.js';
import { administer } from './admin.js';
import { deleteManifest } from './manifest-delete.js';
import { putManifest } from './manifests.js';
import { listReferrers } from './referrers.js';
import { listTags } from './tags.js';
import { receiveNotifications } from './notifications-route.js';
import { classifyRoute } from './routes.js';
import type { Dependencies, ProxyContext, RequestState } from './state.js';

export function createApp(deps: Dependencies, logger: Logger): Koa<RequestState> {
  const app = new Koa<RequestState>();
  app.silent = true; // every error is rendered and logged by our own middleware

  app.use(async (ctx, next) => {
    ctx.state.route = classifyRoute(ctx.method, ctx.path);
    ctx.state.upstreamStatus = undefined;
    ctx.state.subject = undefined;
    await next();
  });
  app.use(accessLog(logger));
  app.use(renderErrors);
  app.use((ctx) => {
    if (ctx.path.startsWith('/v2/') && ctx.path.includes('%')) {
      throw new PathInvalidError(ctx.path);
    }
    return dispatch(ctx, deps);
  });
  return app;
}

async function renderErrors(ctx: ProxyContext, next: Koa.Next): Promise<void> {
  try {
    await next();
  } catch (error) {
    ctx.state.error = error; // the log line shows it for 5xx answers
    const response = answerFor(error, ctx.req.complete);

    ctx.respond = true;
    ctx.status = response.status;
    ctx.set(response.headers);
    ctx.body = response.body;
  }
}

async function dispatch(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  switch (ctx.state.route.kind) {
    case 'healthz':
      return health(ctx);
    case 'readyz':
      return readiness(ctx, deps);
    case 'manifest-put':
      return putManifest(ctx, deps);
    case 'manifest-delete':
      return deleteManifest(ctx, deps);
    case 'referrers':
      return referrers(ctx, deps);
    case 'tags-list':
      return listTags(ctx, deps);
    case 'notifications':
      return receiveNotifications(ctx, deps);
    case 'admin':
      return administer(ctx, deps);
    default:
      return passThrough(ctx, deps);
  }
}

function referrers(ctx: ProxyContext, deps: Dependencies): Promise<void> | void {
  if (ctx.method === 'GET' || ctx.method === 'HEAD') return listReferrers(ctx, deps);

  ctx.status = 405;
  ctx.set({ 'Content-Type': 'application/json', Allow: 'GET, HEAD' });
  ctx.body = ociErrorBody('UNSUPPORTED', 'the referrers API only answers GET and HEAD');
}

function health(ctx: ProxyContext): void {
  ctx.set('Content-Type', 'application/json');
  ctx.body = '{"status":"ok"}';
}

/** Ready only while both the index and the upstream answer. */
async function readiness(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  const [index, upstream] = await Promise.all([deps.index.ping(), deps.upstream.ping()]);

  ctx.status = index && upstream ? 200 : 503;
  ctx.set('Content-Type', 'application/json');
  ctx.body = JSON.stringify({ redis: index ? 'ok' : 'down', upstream: upstream ? 'ok' : 'down' });
}

async function passThrough(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  ctx.respond = false;
  const error = await deps.passThrough.forward(ctx.req, ctx.res, (status) => {
    ctx.state.upstreamStatus = status;
  });
  if (error !== undefined) throw error;
}
