// Waiting for what the proxy does in the background (mirror, recovery, notifications,
// reconnecting to Redis): poll a bounded number of times, then fail with what was seen.

import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { pinTag } from '../../src/oci/referrers-tag.js';
import { getManifest, getReferrers } from './registry-client.js';

const ATTEMPTS = 100;
const PAUSE_MS = 100;

/** Waits until the referrers of `subject` are exactly `expected` (any order); returns them. */
export async function waitForReferrers(
  base: string,
  repo: string,
  subject: string,
  expected: readonly string[],
  attempts = ATTEMPTS,
): Promise<string[]> {
  const wanted = [...expected].sort();
  let seen: string[] = [];
  for (let attempt = 0; attempt < attempts; attempt++) {
    const listing = await getReferrers(base, repo, subject);
    seen = (listing.body?.manifests ?? []).map((entry) => entry.digest).sort();
    if (JSON.stringify(seen) === JSON.stringify(wanted)) return seen;
    await sleep(PAUSE_MS);
  }
  assert.deepEqual(seen, wanted);
  return seen;
}

/** Waits until /readyz answers 200 (Redis and the registry both reachable again). */
export async function waitUntilReady(base: string): Promise<void> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if ((await fetch(`${base}/readyz`)).status === 200) return;
    await sleep(PAUSE_MS);
  }
  throw new Error(`${base} did not become ready again`);
}

/** Waits until the registry holds the referrer's pin tag, pointing at the referrer. */
export async function waitForPin(registry: string, repo: string, digest: string): Promise<void> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const pinned = await getManifest(registry, repo, pinTag(digest));
    if (pinned.status === 200 && pinned.headers.get('docker-content-digest') === digest) return;
    await sleep(PAUSE_MS);
  }
  throw new Error(`no pin tag for ${digest}`);
}
