// Header passes between client and upstream, as small named functions. Applied in order by the
// pass-through (passthrough.ts) and by the routes that answer through the upstream client.

import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { HeaderMap } from '../upstream/client.js';

// RFC 9110 §7.6.1: connection-specific fields are not forwarded; neither are the framing
// headers the proxy recomputes for the body it sends.
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'expect',
]);

/** Drops hop-by-hop headers, including any the Connection header names. */
export function withoutHopByHop(headers: IncomingHttpHeaders | HeaderMap): HeaderMap {
  const named = String(headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim());
  const kept: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.includes(name)) continue;
    kept[name] = value;
  }
  return kept;
}

// Connection-specific fields a streamed request must not carry upstream. The body framing
// (Content-Length, Transfer-Encoding) stays: the pass-through streams the body as it came.
const CONNECTION_FIELDS = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer',
  'upgrade'];

/**
 * The request headers the pass-through removes before forwarding (RFC 9110 §7.6.1): the
 * connection-specific ones and any the Connection header names. A client's
 * `Connection: close` is about its own connection; forwarded, it made the upstream close
 * the pooled connection too (undici sends it with every HEAD), one new TCP connection per
 * request.
 */
export function connectionHeaderNames(headers: IncomingHttpHeaders): string[] {
  const named = String(headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim())
    .filter((name) => name !== '' && name !== 'content-length' && name !== 'transfer-encoding');
  return [...CONNECTION_FIELDS, ...named].filter((name) => headers[name] !== undefined);
}

// What a forwarded or Host header may hold: a host name or IP literal, and a port.
const PORT = '(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d\\d|6[0-4]\\d{3}|[1-5]?\\d{1,4})';
const HOST = new RegExp(`^(?:\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]{1,253})(?::${PORT})?$`);

interface PublicAddress {
  readonly proto: 'http' | 'https';
  readonly host: string;
}

/**
 * The scheme and host clients reach the proxy at, as an outer load balancer may have told
 * us. Values that are not a plain scheme or host are ignored rather than trusted or thrown on.
 */
function publicAddress(req: IncomingMessage): PublicAddress {
  const proto = firstValue(req.headers['x-forwarded-proto']);
  const hosts = [firstValue(req.headers['x-forwarded-host']), req.headers.host];
  const own = (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  return {
    proto: proto === 'https' || proto === 'http' ? proto : own,
    host: hosts.find((host) => host !== undefined && HOST.test(host)) ?? 'localhost',
  };
}

export function publicOrigin(req: IncomingMessage): string {
  const { proto, host } = publicAddress(req);
  return `${proto}://${host}`;
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  const first = text?.split(',')[0]?.trim();
  return first === undefined || first === '' ? undefined : first;
}

/** X-Forwarded-* for the upstream, one value each, so the URLs it builds name the proxy. */
export function forwardedHeaders(req: IncomingMessage): HeaderMap {
  const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress]
    .filter((part) => part !== undefined && part !== '')
    .join(', ');
  const { proto, host } = publicAddress(req);
  return { 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': proto, 'x-forwarded-host': host };
}

/** An absolute URL on the upstream origin, moved onto the proxy's public origin. */
export function rebaseUrl(value: string, upstreamOrigin: string, clientOrigin: string): string {
  if (!value.startsWith(upstreamOrigin)) return value;

  const rest = value.slice(upstreamOrigin.length);
  return rest === '' || rest.startsWith('/') || rest.startsWith('?') ? clientOrigin + rest : value;
}

/** Rebases every `<URI>` of a Link header (RFC 8288). */
export function rebaseLink(value: string, upstreamOrigin: string, clientOrigin: string): string {
  return value.replace(/<([^>]*)>/g, (_, uri: string) =>
    `<${rebaseUrl(uri, upstreamOrigin, clientOrigin)}>`);
}

/**
 * Location and Link headers the upstream hands out must lead clients back through the proxy;
 * URLs pointing anywhere else (object storage redirects) are left alone.
 */
export function rebaseResponseUrls(
  headers: Record<string, string | string[] | undefined>,
  upstreamOrigin: string,
  clientOrigin: string,
): void {
  const location = headers.location;
  if (typeof location === 'string') {
    headers.location = rebaseUrl(location, upstreamOrigin, clientOrigin);
  }

  const link = headers.link;
  if (typeof link === 'string') headers.link = rebaseLink(link, upstreamOrigin, clientOrigin);
  if (Array.isArray(link)) {
    headers.link = link.map((one) => rebaseLink(one, upstreamOrigin, clientOrigin));
  }
}
