// The one place that writes the request log line: one line per request, after the response has
// been sent or the client went away, with fixed field names. Headers, query strings and bodies
// are never logged: they may hold credentials or upload state. bytesIn and bytesOut count what
// crossed the client connection for the request, headers included.

import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Middleware } from 'koa';
import type { Logger } from '../log.js';
import type { RequestState } from './state.js';

export interface RequestLogLine {
  readonly reqId: string;
  readonly method: string;
  readonly path: string;
  readonly route: string;
  readonly repository: string | undefined;
  readonly status: number;
  readonly upstreamStatus: number | undefined;
  readonly durationMs: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly aborted: boolean;
  readonly subject?: string;
}

/**
 * Socket byte counters as the previous request on a kept-alive connection left them. By the
 * time a request reaches the middleware its headers, and often a small body, are already read,
 * so counting from the end of the previous exchange is what captures this request's bytes.
 */
const socketCounts = new WeakMap<Socket, { read: number; written: number }>();

export function accessLog(logger: Logger): Middleware<RequestState> {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const socket = ctx.req.socket;
    const before = socketCounts.get(socket) ?? { read: 0, written: 0 };
    const reqId = requestId(ctx.get('x-request-id'));

    ctx.res.once('close', () => {
      const line: RequestLogLine = {
        reqId,
        method: ctx.method,
        path: ctx.path.slice(0, 512),
        route: ctx.state.route.kind,
        repository: ctx.state.route.repository,
        status: ctx.res.statusCode,
        upstreamStatus: ctx.state.upstreamStatus,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        bytesIn: socket.bytesRead - before.read,
        bytesOut: socket.bytesWritten - before.written,
        aborted: !ctx.res.writableFinished,
        ...(ctx.state.subject === undefined ? {} : { subject: ctx.state.subject }),
      };
      socketCounts.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
      write(logger, line, ctx.state.error);
    });
    await next();
  };
}

/** 5xx at error, with the cause when the proxy itself failed; a not-ready probe is routine. */
function write(logger: Logger, line: RequestLogLine, error: unknown): void {
  if (line.status < 500 || line.route === 'readyz') logger.info(line, 'request');
  else if (error === undefined) logger.error(line, 'request failed');
  else logger.error({ ...line, err: error }, 'request failed');
}

/** Keeps a caller's request id when it is short and plain; otherwise makes one. */
function requestId(given: string): string {
  return /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : randomUUID();
}
