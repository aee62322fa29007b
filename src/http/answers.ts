// JSON answers the proxy writes itself, outside the thrown-error path: reports of its own
// endpoints and OCI error bodies for refusals that are not domain errors.

import { ociErrorBody } from './errors.js';
import type { ProxyContext } from './state.js';

export function answerJson(ctx: ProxyContext, status: number, value: object): void {
  ctx.status = status;
  ctx.set('Content-Type', 'application/json');
  ctx.body = JSON.stringify(value);
}

export function answerOciError(
  ctx: ProxyContext,
  status: number,
  code: string,
  message: string,
): void {
  ctx.status = status;
  ctx.set('Content-Type', 'application/json');
  ctx.body = ociErrorBody(code, message);
}
