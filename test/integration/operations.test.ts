// What an operator relies on: health and readiness endpoints, the start-up and request log
// lines with their fixed fields, settings refused at start with a line naming them.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { artifactManifest, descriptorOf, randomImage } from '../support/oci-layout.js';
import { runCommand } from '../support/process.js';
import { pushBlob, pushImage, pushManifest } from '../support/registry-client.js';
import { startProxyEnv, type LogLine, type ProxyEnv } from '../support/proxy-env.js';

let env: ProxyEnv;
before(async () => {
  env = await startProxyEnv();
});
after(async () => {
  await env.stop();
});

/** Log lines are written when the response closes; give the event loop a moment. */
async function lastRequestLine(path: string): Promise<LogLine> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const line = env.logs.requests().findLast((candidate) => candidate.path === path);
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no request log line for ${path}`);
}

describe('health and readiness', () => {
  it('/healthz answers 200 while the process serves', async () => {
    const response = await fetch(`${env.url}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  it('/readyz answers 200 only while Redis and the upstream answer', async () => {
    assert.equal((await fetch(`${env.url}/readyz`)).status, 200);

    env.registry.kill('SIGKILL');
    try {
      const down = await fetch(`${env.url}/readyz`);
      assert.equal(down.status, 503);
      assert.deepEqual(await down.json(), { redis: 'ok', upstream: 'down' });
    } finally {
      await env.registry.restart();
    }
    assert.equal((await fetch(`${env.url}/readyz`)).status, 200);
  });

  it('answers 502 with an OCI error body when the upstream is unreachable', async () => {
    env.registry.kill('SIGKILL');
    try {
      const response = await fetch(`${env.url}/v2/some/repo/tags/list`);
      assert.equal(response.status, 502);
      const body = await response.json() as { errors: { code: string }[] };
      assert.equal(body.errors[0]?.code, 'UNAVAILABLE');
    } finally {
      await env.registry.restart();
    }
  });
});

describe('log lines', () => {
  it('writes a start-up line with the effective settings', () => {
    const started = env.logs.lines.find((line) => line.msg === 'referrers-proxy started');
    const settings = started?.settings as Record<string, unknown> | undefined;
    assert.equal(settings?.upstream, env.registry.url);
    assert.equal(settings?.maxManifestBytes, 4 * 1024 * 1024);
  });

  it('writes one line per request with the fixed fields', async () => {
    const image = randomImage();
    await pushImage(env.url, 'logs/app', 'v1', image);
    const subject = descriptorOf(image.manifest);
    const sbom = artifactManifest({ subject, artifactType: 'application/spdx+json' });
    for (const blob of sbom.blobs) await pushBlob(env.url, 'logs/app', blob);
    await pushManifest(env.url, 'logs/app', sbom.manifest.digest, sbom.manifest);

    const path = `/v2/logs/app/manifests/${sbom.manifest.digest}`;
    const line = await lastRequestLine(path);
    assert.equal(line.method, 'PUT');
    assert.equal(line.route, 'manifest-put');
    assert.equal(line.repository, 'logs/app');
    assert.equal(line.status, 201);
    assert.equal(line.upstreamStatus, 201);
    assert.equal(line.subject, subject.digest);
    assert.equal(typeof line.durationMs, 'number');
    assert.ok(Number(line.bytesIn) >= sbom.manifest.size);
    assert.ok(Number(line.bytesOut) > 0);
    assert.equal(typeof line.reqId, 'string');
    assert.equal(env.logs.requests().filter((candidate) => candidate.path === path).length, 1);
  });

  it('logs the upstream status of pass-through requests', async () => {
    const response = await fetch(`${env.url}/v2/logs/none/manifests/missing`);
    await response.body?.cancel();
    const line = await lastRequestLine('/v2/logs/none/manifests/missing');
    assert.equal(line.route, 'manifest');
    assert.equal(line.status, 404);
    assert.equal(line.upstreamStatus, 404);
  });

  it('never logs credentials, cookies or query strings', async () => {
    const secret = 'Bearer tok-very-secret-123';
    const response = await fetch(`${env.url}/v2/logs/app/tags/list?token=query-secret-456`, {
      headers: { authorization: secret, cookie: 'session=cookie-secret-789' },
    });
    await response.body?.cancel();
    await lastRequestLine('/v2/logs/app/tags/list');

    const logged = env.logs.raw.join('\n');
    for (const needle of ['tok-very-secret-123', 'query-secret-456', 'cookie-secret-789']) {
      assert.ok(!logged.includes(needle), `${needle} leaked into the log`);
    }
  });
});

describe('settings checked at start', () => {
  const cases: [string[], RegExp][] = [
    [[], /--upstream\/UPSTREAM_URL/],
    [['--upstream', 'not a url'], /--upstream\/UPSTREAM_URL/],
    [['--upstream', 'http://127.0.0.1:1', '--listen', 'nowhere'], /--listen\/LISTEN/],
    [['--upstream', 'http://127.0.0.1:1', '--log-level', 'chatty'], /--log-level\/LOG_LEVEL/],
  ];
  for (const [argv, named] of cases) {
    it(`refuses ${JSON.stringify(argv)} with one line naming the setting`, async () => {
      const result = await runCommand(process.execPath, ['--import', 'tsx', 'src/main.ts',
        ...argv], { env: { PATH: process.env.PATH ?? '' }, timeoutMs: 20_000 });
      const stderr = result.stderr.toString().trim();
      assert.equal(result.code, 2);
      assert.match(stderr, named);
      assert.equal(stderr.split('\n').length, 1, stderr);
    });
  }

  it('reads settings from environment variables', async () => {
    const result = await runCommand(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', UPSTREAM_URL: 'http://127.0.0.1:1', LISTEN: 'bad' },
      timeoutMs: 20_000,
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr.toString(), /--listen\/LISTEN: "bad" is not HOST:PORT/);
  });
});
