// What the primary of --workers does when a worker exits.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideOnExit } from '../../src/workers.js';

const facts = { stopping: false, workerListened: false, anyListened: false, failedStarts: 1 };

describe('decideOnExit', () => {
  it('replaces a worker that died after serving, at once', () => {
    assert.deepEqual(decideOnExit({ ...facts, workerListened: true, anyListened: true }),
      { action: 'replace', afterMs: 0 });
  });

  it('gives up when no worker ever served: a bad port or certificate would only repeat', () => {
    assert.deepEqual(decideOnExit(facts), { action: 'give-up' });
  });

  // Regression: a replacement killed before it listened stopped the healthy workers with it.
  it('replaces a replacement that died while starting, waiting longer each time', () => {
    const first = decideOnExit({ ...facts, anyListened: true, failedStarts: 1 });
    const fifth = decideOnExit({ ...facts, anyListened: true, failedStarts: 5 });
    const many = decideOnExit({ ...facts, anyListened: true, failedStarts: 50 });
    assert.equal(first.action, 'replace');
    assert.ok(first.action === 'replace' && fifth.action === 'replace'
      && first.afterMs < fifth.afterMs);
    assert.ok(many.action === 'replace' && many.afterMs === 30_000);
  });

  it('does nothing while stopping', () => {
    assert.deepEqual(decideOnExit({ ...facts, stopping: true, workerListened: true }),
      { action: 'none' });
  });
});
