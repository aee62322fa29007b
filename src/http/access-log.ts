// The one place that writes the request log line: one line per request, after the response has
// been sent or the client went away, with fixed field names. Headers, query strings and bodies
// are never logged: they may hold credentials or upload state.

import { randomUUID } from 'node:crypto';
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

export function accessLog(logger: Logger): Middleware<RequestState> {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const socket = ctx.req.socket;
    const readBefore = socket.bytesRead;
    const writtenBefore = socket.bytesWritten;
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
        bytesIn: socket.bytesRead - readBefore,
        bytesOut: socket.bytesWritten - writtenBefore,
        aborted: !ctx.res.writableFinished,
        ...(ctx.state.subject === undefined ? {} : { subject: ctx.state.subject }),
      };
      write(logger, line, ctx.state.error);
    });
    await next();
  };
}

function write(logger: Logger, line: RequestLogLine, error: unknown): void {
  if (line.status >= 500) logger.error({ ...line, err: error }, 'request failed');
  else logger.info(line, 'request');
}

/** Keeps a caller's request id when it is short and plain; otherwise makes one. */
function requestId(given: string): string {
  return /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : randomUUID();
}
