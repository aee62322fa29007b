// POST /_referrers-proxy/notifications: the registry's notification endpoint. Off unless a
// token is configured; the registry authenticates with `Authorization: Bearer <token>`.

import { readEnvelope } from '../notifications.js';
import { hasBearerToken } from './bearer.js';
import { readBodyCapped } from './body.js';
import { answerJson, answerOciError } from './answers.js';
import type { Dependencies, ProxyContext } from './state.js';

/** Envelopes are small; registry 2.8 batches a few events at most. */
const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;

export async function receiveNotifications(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  const token = deps.config.notificationsToken;
  if (token === undefined) return answerOciError(ctx, 404, 'UNSUPPORTED', 'notifications are off');
  if (ctx.method !== 'POST') return answerOciError(ctx, 405, 'UNSUPPORTED', 'only POST');
  if (!hasBearerToken(ctx.get('authorization'), token)) {
    return answerOciError(ctx, 401, 'UNAUTHORIZED', 'notification token missing or wrong');
  }

  const body = await readBodyCapped(ctx.req, MAX_ENVELOPE_BYTES,
    deps.config.manifestBodyTimeoutMs);
  const events = readEnvelope(body);
  if (events === undefined) return answerOciError(ctx, 400, 'UNSUPPORTED', 'not an event envelope');

  const report = await deps.notifications.handle(events);
  answerJson(ctx, 200, report);
}
