// Requests Node's HTTP parser refuses before they become requests (a malformed request line,
// conflicting Content-Length and Transfer-Encoding, headers over the size limit) still get an
// OCI error body (design.md invariant 9), and a log line of their own.

import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import { ociErrorBody } from './errors.js';

interface ParserError extends Error {
  readonly code?: string;
}

export function answerClientError(logger: Logger): (error: ParserError, socket: Socket) => void {
  return (error, socket) => {
    // A peer that hung up mid-request is no request to answer or log.
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }

    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    logger.info({ status, code: error.code }, 'request rejected by the HTTP parser');
    const body = ociErrorBody(tooLarge ? 'SIZE_INVALID' : 'UNSUPPORTED',
      tooLarge ? 'request headers too large' : 'malformed HTTP request');
    const reason = tooLarge ? 'Request Header Fields Too Large' : 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };
}
