// The retention planner: which referrers expire under which policy, and why.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRetentionPolicy, type RetentionPolicy } from '../../src/lifecycle/policy.js';
import {
  CREATED_ANNOTATION, descriptorFacts, planRetention, type ReferrerFacts,
} from '../../src/lifecycle/retention-plan.js';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const DAY = 86_400_000;
const SIG = 'application/vnd.dev.cosign.artifact.sig.v1+json';
const SBOM = 'application/spdx+json';

function policy(fields: Record<string, unknown>): RetentionPolicy {
  return parseRetentionPolicy({ name: 'p', ...fields }, 'retention[0]');
}

function referrer(digest: string, extra: Partial<ReferrerFacts> = {}): ReferrerFacts {
  return { repository: 'app', subject: 'sha256:subject', digest, artifactType: SIG,
    annotations: {}, indexedAt: NOW - DAY, subjectMissingSince: undefined, ...extra };
}

function created(daysAgo: number): Record<string, string> {
  return { [CREATED_ANNOTATION]: new Date(NOW - daysAgo * DAY).toISOString() };
}

const expired = (policies: RetentionPolicy[], referrers: ReferrerFacts[]) =>
  planRetention(policies, referrers, NOW).map((expiry) => expiry.referrer.digest);

describe('planRetention', () => {
  it('keeps the newest N per subject and artifactType by the created annotation', () => {
    const referrers = [
      referrer('sha256:old', { annotations: created(3) }),
      referrer('sha256:new', { annotations: created(1) }),
      referrer('sha256:mid', { annotations: created(2) }),
      referrer('sha256:sbom', { artifactType: SBOM, annotations: created(9) }),
      referrer('sha256:other-subject', { subject: 'sha256:s2', annotations: created(9) }),
    ];
    assert.deepEqual(expired([policy({ keepNewest: 1 })], referrers),
      ['sha256:mid', 'sha256:old']);
    assert.deepEqual(expired([policy({ keepNewest: 1, artifactType: SIG })], referrers),
      ['sha256:mid', 'sha256:old']);
  });

  it('falls back on the first-indexed time when the annotation is absent or malformed', () => {
    const referrers = [
      referrer('sha256:a', { indexedAt: NOW - 10 * DAY }),
      referrer('sha256:b', { annotations: { [CREATED_ANNOTATION]: 'last week' },
        indexedAt: NOW - 1 * DAY }),
    ];
    assert.deepEqual(expired([policy({ olderThan: '5d' })], referrers), ['sha256:a']);
  });

  it('expires by age only beyond the kept newest when both are given', () => {
    const referrers = [1, 2, 10, 20].map((days) =>
      referrer(`sha256:d${days}`, { annotations: created(days) }));
    assert.deepEqual(expired([policy({ keepNewest: 1, olderThan: '5d' })], referrers),
      ['sha256:d10', 'sha256:d20']);
  });

  it('selects by numeric and time annotation ranges; a missing value is never in range', () => {
    const referrers = [
      referrer('sha256:low', { annotations: { 'x.score': '2' } }),
      referrer('sha256:high', { annotations: { 'x.score': '7.5' } }),
      referrer('sha256:junk', { annotations: { 'x.score': 'high' } }),
      referrer('sha256:none'),
    ];
    assert.deepEqual(expired([policy({ annotation: { key: 'x.score', max: 3 } })], referrers),
      ['sha256:low']);

    const expiring = [
      referrer('sha256:past', { annotations: { 'x.expires': '2026-12-01T00:00:00Z' } }),
      referrer('sha256:future', { annotations: { 'x.expires': '2027-01-01T00:00:00Z' } }),
    ];
    assert.deepEqual(expired([policy({ annotation: { key: 'x.expires', before: 'now' } })],
      expiring), ['sha256:past']);
  });

  it('expires referrers whose subject has been missing longer than the grace period', () => {
    const referrers = [
      referrer('sha256:long', { subjectMissingSince: NOW - 8 * DAY }),
      referrer('sha256:short', { subject: 'sha256:s2', subjectMissingSince: NOW - DAY }),
      referrer('sha256:present', { subject: 'sha256:s3' }),
    ];
    assert.deepEqual(expired([policy({ orphanedFor: '7d' })], referrers), ['sha256:long']);
  });

  it('limits a policy to its repository pattern', () => {
    const referrers = [referrer('sha256:in', { repository: 'team/app' }),
      referrer('sha256:out', { repository: 'other/app' })];
    assert.deepEqual(expired([policy({ repository: 'team/*', olderThan: '1h' })], referrers),
      ['sha256:in']);
  });

  it('reports each referrer once, under the first policy that expires it, with a reason', () => {
    const referrers = [referrer('sha256:x', { annotations: { ...created(30), 'x.score': '1' } })];
    const plan = planRetention([
      parseRetentionPolicy({ name: 'old', olderThan: '7d' }, 'r'),
      parseRetentionPolicy({ name: 'low', annotation: { key: 'x.score', max: 3 } }, 'r'),
    ], referrers, NOW);
    assert.equal(plan.length, 1);
    assert.equal(plan[0]?.policy, 'old');
    assert.match(plan[0]?.reason ?? '', /created 2026-11-04T12:00:00.000Z/);
  });
});

describe('descriptorFacts', () => {
  it('reads artifactType and the string annotations of a stored descriptor', () => {
    const json = JSON.stringify({ mediaType: 'm', digest: 'd', size: 1, artifactType: SBOM,
      annotations: { a: 'b', n: 1 } });
    assert.deepEqual(descriptorFacts(json), { artifactType: SBOM, annotations: { a: 'b' } });
    assert.deepEqual(descriptorFacts('not json'), { artifactType: undefined, annotations: {} });
  });
});
