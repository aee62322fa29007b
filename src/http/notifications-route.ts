// POST /_referrers-proxy/notifications: the registry's notification endpoint. Off unless a
// token is configured; the registry authenticates with `Authorization: Bearer <token>`.

import { hasBearerToken, readEnvelope } from '../notifications.js';
import { readBodyCapped } from './body.js';
import { ociErrorBody } from './errors.js';
import type { Dependencies, ProxyContext } from './state.js';

/** Envelopes are small; registry 2.8 batches a few events at most. */
const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

export async function receiveNotifications(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  const token = deps.config.notificationsToken;
  if (token === undefined) return refuse(ctx, 404, 'UNSUPPORTED', 'notifications are off');
  if (ctx.method !== 'POST') return refuse(ctx, 405, 'UNSUPPORTED', 'only POST');
  if (!hasBearerToken(ctx.get('authorization'), token)) {
    return refuse(ctx, 401, 'UNAUTHORIZED', 'notification token missing or wrong');
  }

  const body = await readBodyCapped(ctx.req, MAX_ENVELOPE_BYTES,
    deps.config.manifestBodyTimeoutMs);
  const events = readEnvelope(body);
  if (events === undefined) return refuse(ctx, 400, 'UNSUPPORTED', 'not an event envelope');

  const report = await deps.notifications.handle(events);
  ctx.set('Content-Type', 'application/json');
  ctx.body = JSON.stringify(report);
}

function refuse(ctx: ProxyContext, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.set('Content-Type', 'application/json');
  ctx.body = ociErrorBody(code, message);
}
