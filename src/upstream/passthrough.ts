// Streaming pass-through of every request the proxy does not intercept. Bodies are piped with
// backpressure and never buffered; no timeout cuts a slow transfer (a 10 GiB layer may take
// hours), and the client going away aborts the upstream request.

import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import httpProxy from 'http-proxy';
import { UpstreamUnavailableError } from '../errors.js';
import {
  connectionHeaderNames, forwardedHeaders, publicOrigin, rebaseResponseUrls,
} from '../http/headers.js';

interface InFlight {
  readonly clientOrigin: string;
  readonly onUpstreamStatus: (status: number) => void;
  upstreamRequest?: ClientRequest;
}

export class PassThrough {
  readonly #proxy: httpProxy;
  readonly #agent: Agent;
  readonly #inFlight = new WeakMap<IncomingMessage, InFlight>();

  constructor(private readonly upstream: URL, ca?: Buffer) {
    const isHttps = upstream.protocol === 'https:';
    this.#agent = isHttps
      ? new HttpsAgent({ keepAlive: true, maxSockets: 256, ...(ca === undefined ? {} : { ca }) })
      : new Agent({ keepAlive: true, maxSockets: 256 });
    this.#proxy = httpProxy.createProxyServer({
      target: upstream.origin,
      agent: this.#agent,
      changeOrigin: true, // virtual-hosted registries route on Host
      // http-proxy's own xfwd appends to X-Forwarded-Proto ("https,http"), which registry 2.8
      // pastes into Location as it is; forwardedHeaders() sends single values instead.
      xfwd: false,
      proxyTimeout: 0,
      timeout: 0,
      ws: false,
    });
    this.#proxy.on('proxyReq', (proxyReq, req) => {
      // Without these the agent's own `Connection: keep-alive` applies, so the pooled
      // upstream connection outlives a client that closes its own.
      for (const name of connectionHeaderNames(req.headers)) proxyReq.removeHeader(name);
      for (const [name, value] of Object.entries(forwardedHeaders(req))) {
        proxyReq.setHeader(name, value);
      }
      const flight = this.#inFlight.get(req);
      if (flight !== undefined) flight.upstreamRequest = proxyReq;
    });
    this.#proxy.on('proxyRes', (proxyRes, req) => this.#onResponse(proxyRes, req));
  }

  #onResponse(proxyRes: IncomingMessage, req: IncomingMessage): void {
    const flight = this.#inFlight.get(req);
    if (flight === undefined) return;

    flight.onUpstreamStatus(proxyRes.statusCode ?? 0);
    rebaseResponseUrls(proxyRes.headers, this.upstream.origin, flight.clientOrigin);
  }

  /**
   * Pipes one request to the upstream and its answer back. Settles when the exchange ends,
   * with an error only when the upstream failed before any response byte was sent.
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    onUpstreamStatus: (status: number) => void,
  ): Promise<UpstreamUnavailableError | undefined> {
    const flight: InFlight = { clientOrigin: publicOrigin(req), onUpstreamStatus };
    this.#inFlight.set(req, flight);

    return new Promise((resolve) => {
      const done = (error?: UpstreamUnavailableError): void => resolve(error);

      res.once('close', () => {
        // A client that leaves mid-download must free the upstream socket: http-proxy only
        // aborts on the request's 'aborted' event, which Node no longer emits once the
        // request body is complete, so each abandoned download held a pooled socket forever.
        if (!res.writableFinished) flight.upstreamRequest?.destroy();
        done();
      });
      this.#proxy.web(req, res, {}, (cause) => {
        if (res.headersSent) {
          res.destroy(); // mid-body failure: the client must see a broken transfer, not a short one
          return;
        }
        done(new UpstreamUnavailableError(req.method ?? 'GET', pathOf(req), { cause }));
      });
    });
  }

  close(): void {
    this.#proxy.close();
    this.#agent.destroy();
  }
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?', 1)[0] ?? '/';
}
