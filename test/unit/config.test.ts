import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError, describeConfig, parseConfig, readPolicyFile, readRawSettings,
} from '../../src/config.js';

function load(argv: string[], env: Record<string, string> = {}) {
  return parseConfig(readRawSettings(argv, env));
}

function assertBadSetting(run: () => unknown, setting: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, setting);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
}

describe('settings', () => {
  it('has the contract defaults', () => {
    const config = load(['--upstream', 'http://127.0.0.1:5001']);
    assert.equal(config.upstream.origin, 'http://127.0.0.1:5001');
    assert.equal(config.listenHost, '0.0.0.0');
    assert.equal(config.listenPort, 5000);
    assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.maxManifestBytes, 4 * 1024 * 1024);
    assert.ok(Object.isFrozen(config));
  });

  it('reads environment variables, and flags win over them', () => {
    const env = { UPSTREAM_URL: 'http://reg:5000/', LISTEN: '127.0.0.1:7000', LOG_LEVEL: 'debug' };
    const config = load(['--listen=[::1]:8000'], env);
    assert.equal(config.upstream.host, 'reg:5000');
    assert.equal(config.listenHost, '::1');
    assert.equal(config.listenPort, 8000);
    assert.equal(config.logLevel, 'debug');
  });

  it('names the bad setting in one line', () => {
    assertBadSetting(() => load([]), /--upstream\/UPSTREAM_URL.*required/);
    assertBadSetting(() => load(['--upstream', 'ftp://x']), /--upstream\/UPSTREAM_URL/);
    assertBadSetting(() => load(['--upstream', 'http://u:p@reg']), /must not contain credentials/);
    assertBadSetting(() => load(['--upstream', 'http://reg/sub']), /no path/);
    const up = ['--upstream', 'http://reg'];
    assertBadSetting(() => load([...up, '--listen', '5000']), /--listen\/LISTEN/);
    assertBadSetting(() => load([...up, '--listen', 'h:70000']), /--listen\/LISTEN.*range/);
    assertBadSetting(() => load([...up, '--redis', 'http://x']), /--redis\/REDIS_URL/);
    assertBadSetting(() => load([...up, '--log-level', 'loud']), /--log-level\/LOG_LEVEL/);
    assertBadSetting(() => load([...up, '--max-manifest-bytes', '4MB']), /MAX_MANIFEST_BYTES/);
    assertBadSetting(() => load([...up, '--nope', 'x']), /--nope.*unknown flag/);
    assertBadSetting(() => load([...up, '--listen']), /--listen.*missing value/);
  });

  it('runs one process unless told otherwise', () => {
    assert.equal(load(['--upstream', 'http://reg']).workers, 1);
    assert.equal(load(['--upstream', 'http://reg'], { WORKERS: '4' }).workers, 4);
  });

  it('names --workers when it is wrong', () => {
    for (const workers of ['0', '-1', '2.5', 'two', '65']) {
      assertBadSetting(() => load(['--upstream', 'http://reg', '--workers', workers]),
        /--workers\/WORKERS/);
    }
  });

  it('streams blobs unless told to redirect them', () => {
    assert.equal(load(['--upstream', 'http://reg']).blobRedirect, undefined);
    const config = load(['--upstream', 'http://reg'],
      { BLOB_REDIRECT_URL: 'https://registry.example.test' });
    assert.equal(config.blobRedirect?.origin, 'https://registry.example.test');
  });

  it('names --blob-redirect when it is wrong', () => {
    const up = ['--upstream', 'http://reg'];
    const urls = ['reg:5000', 'ftp://reg', 'http://u:p@reg', 'http://reg/v2', 'http://reg?a'];
    for (const url of urls) {
      assertBadSetting(() => load([...up, '--blob-redirect', url]),
        /--blob-redirect\/BLOB_REDIRECT_URL/);
    }
  });

  it('keeps 32 MiB of referrers pages by default; 0 turns that off', () => {
    const up = ['--upstream', 'http://reg'];
    assert.equal(load(up).referrersCacheBytes, 32 * 1024 * 1024);
    assert.equal(load(up, { REFERRERS_CACHE_BYTES: '0' }).referrersCacheBytes, 0);
    assertBadSetting(() => load([...up, '--referrers-cache-bytes', '10']),
      /REFERRERS_CACHE_BYTES.*must be 0 or between/);
    assertBadSetting(() => load([...up, '--referrers-cache-bytes', '-1']),
      /REFERRERS_CACHE_BYTES/);
  });

  it('never shows a Redis password in the effective settings', () => {
    for (const redis of ['redis://:s3cret@r:6379/0', 'redis://r:6379/?password=s3cret']) {
      const config = load(['--upstream', 'http://reg', '--redis', redis]);
      assert.doesNotMatch(JSON.stringify(describeConfig(config)), /s3cret/);
    }
  });

  it('never shows the upstream password, only the user', () => {
    const config = load(['--upstream', 'http://reg', '--upstream-username', 'bot'],
      { UPSTREAM_PASSWORD: 'hunter2' });
    assert.deepEqual(config.upstreamCredentials, { username: 'bot', password: 'hunter2' });
    const described = JSON.stringify(describeConfig(config));
    assert.doesNotMatch(described, /hunter2/);
    assert.match(described, /"upstreamUser":"bot"/);
  });
});

describe('policy file', () => {
  const setting = '--policy-file/POLICY_FILE';

  it('reads a file with a byte-order mark, and names the file and field when one is bad', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-'));
    try {
      const good = join(dir, 'good.json');
      writeFileSync(good, `\uFEFF${JSON.stringify({ retention: [{ name: 'a', keepNewest: 1 }] })}`);
      assert.equal(readPolicyFile(good, setting).retention.length, 1);

      const bad = join(dir, 'bad.json');
      writeFileSync(bad, JSON.stringify({ retention: [{ name: 'a', keepNewst: 1 }] }));
      assert.throws(() => readPolicyFile(bad, setting),
        (error: unknown) => error instanceof ConfigError
          && /bad\.json: retention\[0\]\.keepNewst/.test(error.message));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  // Regression: /dev/zero or a FIFO made the start hang instead of failing with a message.
  it('refuses what is not a regular file instead of reading it forever', () => {
    assert.throws(() => readPolicyFile('/dev/zero', setting), /not a regular file/);
    assert.throws(() => readPolicyFile(tmpdir(), setting), /not a regular file/);
    assert.throws(() => readPolicyFile('/nonexistent/policy.json', setting), /ENOENT/);
  });
});
