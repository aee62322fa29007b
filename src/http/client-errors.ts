// Requests Node's HTTP server handles before they become requests (a malformed request line,
// conflicting Content-Length and Transfer-Encoding, headers over the size limit, CONNECT, an
// Expect it cannot meet) still get an OCI error body (design.md invariant 9), and a log line
// of their own.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import { ociErrorBody } from './errors.js';

interface ParserError extends Error {
  readonly code?: string;
}

export function answerClientError(logger: Logger): (error: ParserError, socket: Socket) => void {
  return (error, socket) => {
    // A peer that hung up mid-request (reset, or half-closed inside a body) is no request to
    // answer or log here: the request's own line records it as aborted.
    if (!socket.writable || error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE') {
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

/** CONNECT asks for a tunnel, which a registry proxy does not offer. */
export function answerConnect(logger: Logger): (req: IncomingMessage, socket: Duplex) => void {
  return (req, socket) => {
    logger.info({ method: req.method, status: 405 }, 'request rejected: CONNECT');
    const body = ociErrorBody('UNSUPPORTED', 'CONNECT is not supported');
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };
}

/** An Expect other than 100-continue cannot be met (RFC 9110 §10.1.1): 417. */
export function answerExpectation(logger: Logger)
  : (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    logger.info({ method: req.method, status: 417 }, 'request rejected: Expect');
    const body = ociErrorBody('UNSUPPORTED', 'only Expect: 100-continue is supported');
    res.writeHead(417, { 'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)), connection: 'close' });
    res.end(body);
  };
}
