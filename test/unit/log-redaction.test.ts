import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger } from '../../src/log.js';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

describe('log redaction', () => {
  // Regression: ioredis attaches the failed command to its errors; a rejected AUTH carried the
  // Redis password into the "redis connection lost" line.
  it('drops the command a Redis error carries, also when it is a cause', () => {
    const { lines, stream } = capture();
    const logger = createLogger('info', stream);
    const failed = Object.assign(new Error('WRONGPASS'), {
      command: { name: 'auth', args: ['SECRETRIGHT'] },
    });
    logger.warn({ err: failed }, 'redis');
    logger.warn({ err: new Error('index unavailable', { cause: failed }) }, 'index');

    assert.equal(lines.length, 2);
    assert.ok(lines.every((line) => !line.includes('SECRETRIGHT')), lines.join('\n'));
  });

  it('drops request authorization and cookies if a request is ever logged', () => {
    const { lines, stream } = capture();
    createLogger('info', stream).info({
      req: { headers: { authorization: 'Bearer tok', cookie: 'session=abc' } },
    }, 'request');
    assert.doesNotMatch(lines.join(''), /Bearer tok|session=abc/);
  });
});
