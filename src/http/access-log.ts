// The one place that writes the request log line: one line per request, after the response has
// been sent or the client went away, with fixed field names. Headers, query strings and bodies
// are never logged: they may hold credentials or upload state. bytesIn and bytesOut count what
// crossed the client connection for the request, headers included. Both the Koa app and the
// plain pass-through handler (front.ts) report through watchRequest.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Middleware } from 'koa';
import type { Logger } from '../log.js';
import type { Route } from './routes.js';
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

/** What a handler knows about a request once it is over, read when the line is written. */
export interface RequestOutcome {
  readonly path: string;
  readonly route: Route;
  readonly upstreamStatus: number | undefined;
  readonly subject: string | undefined;
  /** What made the request fail, kept for the log line of a 5xx answer. */
  readonly error: unknown;
}

/**
 * Socket byte counters as the previous request on a kept-alive connection left them. By the
 * time a request reaches a handler its headers, and often a small body, are already read,
 * so counting from the end of the previous exchange is what captures this request's bytes.
 */
const socketCounts = new WeakMap<Socket, { read: number; written: number }>();

/** Writes the request's log line once its response has closed. */
export function watchRequest(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  outcome: () => RequestOutcome,
): void {
  const started = process.hrtime.bigint();
  const socket = req.socket;
  const before = socketCounts.get(socket) ?? { read: 0, written: 0 };
  const reqId = requestId(req.headers['x-request-id']);

  res.once('close', () => {
    const { path, route, upstreamStatus, subject, error } = outcome();
    const line: RequestLogLine = {
      reqId,
      method: req.method ?? '',
      path: path.slice(0, 512),
      route: route.kind,
      repository: route.repository,
      status: res.statusCode,
      upstreamStatus,
      durationMs: Number(process.hrtime.bigint() - started) / 1e6,
      bytesIn: socket.bytesRead - before.read,
      bytesOut: socket.bytesWritten - before.written,
      aborted: !res.writableFinished,
      ...(subject === undefined ? {} : { subject }),
    };
    socketCounts.set(socket, { read: socket.bytesRead, written: socket.bytesWritten });
    write(logger, line, error);
  });
}

export function accessLog(logger: Logger): Middleware<RequestState> {
  return async (ctx, next) => {
    watchRequest(logger, ctx.req, ctx.res, () => ({ path: ctx.path, ...ctx.state }));
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
function requestId(given: string | string[] | undefined): string {
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(given)
    ? given
    : randomUUID();
}
