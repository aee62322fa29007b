// The pass-through keeps its pooled upstream connections whatever the client does with its
// own: a client's `Connection: close` (undici sends one with every HEAD) is hop-by-hop
// (RFC 9110 §7.6.1) and must not close the proxy's connection to the registry. A TCP relay
// in front of the real registry counts the connections the proxy opens.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import {
  createConnection, createServer, type AddressInfo, type Server, type Socket,
} from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { initializedKey } from '../../src/index-store/keys.js';
import { parseConfig, readRawSettings } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { randomImage } from '../support/oci-layout.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startRegistry, type Registry } from '../support/registry.js';
import { pushImage } from '../support/registry-client.js';

let redis: RedisServer;
let registry: Registry;
let relay: Server;
let relayed = 0;
const relaySockets = new Set<Socket>();
let proxy: RunningServer;

before(async () => {
  redis = await startRedis();
  registry = await startRegistry();
  await pushImage(registry.url, 'conn/app', 'v1', randomImage());
  await markIndexBuilt(redis.url);
  const target = new URL(registry.url);
  relay = createServer((client) => {
    relayed++;
    const upstream = createConnection(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      relaySockets.add(socket);
      socket.on('close', () => relaySockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
  const config = parseConfig(readRawSettings(['--upstream', relayUrl, '--redis', redis.url,
    '--listen', '127.0.0.1:0', '--mirror', 'off', '--pin-referrers', 'off'], {}));
  proxy = await startServer(config, { logger: createLogger('silent') });
});
after(async () => {
  await proxy.close();
  for (const socket of relaySockets) socket.destroy();
  await new Promise<void>((resolve) => relay.close(() => resolve()));
  await Promise.all([registry.stop(), redis.stop()]);
});

/** So that no start-up rebuild talks to the registry while connections are counted. */
async function markIndexBuilt(url: string): Promise<void> {
  const client = new Redis(url);
  await client.set(initializedKey(), 'test');
  client.disconnect();
}

/** One request on a connection of its own that the client closes after the answer. */
function closingRequest(method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sent = request(`${proxy.url}${path}`, { method, agent: false,
      headers: { connection: 'close', accept: 'application/vnd.oci.image.manifest.v1+json' } },
    (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    sent.on('error', reject);
    sent.end();
  });
}

describe('upstream connections of the pass-through', () => {
  it('outlive clients that close their own connection after each request', async () => {
    const before = relayed;
    for (let n = 0; n < 5; n++) {
      assert.equal(await closingRequest('HEAD', '/v2/conn/app/manifests/v1'), 200);
      assert.equal(await closingRequest('GET', '/v2/conn/app/manifests/v1'), 200);
    }
    assert.equal(relayed - before, 1, 'ten requests, one upstream connection');
  });
});
