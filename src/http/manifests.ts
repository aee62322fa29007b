// Manifest PUT and DELETE: forwarded to the upstream, and the referrers index kept in step.
// A referrer is indexed only after the upstream accepted it, and OCI-Subject goes out only
// after the index write succeeded (design.md invariants 1 and 2).

import {
  DigestInvalidError, IndexUnavailableError, NameInvalidError, ReferenceInvalidError,
  TagLockedError, TagReservedError,
} from '../errors.js';
import type { HeldLock } from '../index-store/lock.js';
import { lockingRule, mayPushLockedTag } from '../lifecycle/tag-locks.js';
import { tagDigest } from '../upstream/tags.js';
import { callerRequest } from './caller.js';
import { canCompute, computeDigest, parseDigest } from '../oci/digest.js';
import { readReferrer, type Referrer } from '../oci/manifest.js';
import { isRepositoryName, parseReference, type Reference } from '../oci/name.js';
import { isPinTag, isReferrersTag } from '../oci/referrers-tag.js';
import type { UpstreamResponse } from '../upstream/client.js';
import { readBodyCapped } from './body.js';
import { forwardedHeaders, withoutHopByHop } from './headers.js';
import { relay } from './relay.js';
import type { Dependencies, ProxyContext } from './state.js';

export const SUBJECT_HEADER = 'OCI-Subject';

interface ManifestTarget {
  readonly repository: string;
  readonly reference: Reference;
}

/**
 * Tags the proxy maintains are refused to clients while it maintains them: a client
 * overwriting a pin would let garbage collection take a referrer, and one overwriting a
 * referrers tag would serve a forged list while Redis is down.
 */
export function refuseReservedTag(reference: Reference, deps: Dependencies): void {
  if (reference.kind !== 'tag') return;
  const reserved = (deps.config.pinReferrers && isPinTag(reference.tag))
    || (deps.config.mirror && isReferrersTag(reference.tag));
  if (reserved) throw new TagReservedError(reference.tag);
}

/** Validates the repository and reference of a manifest route. */
export function manifestTarget(ctx: ProxyContext): ManifestTarget {
  const repository = ctx.state.route.repository ?? '';
  if (!isRepositoryName(repository)) throw new NameInvalidError(repository);

  const text = ctx.state.route.reference ?? '';
  const reference = parseReference(text);
  if (reference !== undefined) return { repository, reference };
  if (text.includes(':')) throw new DigestInvalidError(text);
  throw new ReferenceInvalidError(text);
}

export async function putManifest(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  const target = manifestTarget(ctx);
  refuseReservedTag(target.reference, deps);
  const { maxManifestBytes, manifestBodyTimeoutMs } = deps.config;
  const body = await readBodyCapped(ctx.req, maxManifestBytes, manifestBodyTimeoutMs);

  const { repository, reference } = target;
  const rule = reference.kind === 'tag'
    ? lockingRule(await deps.tagLocks.rules(), repository, reference.tag)
    : undefined;
  if (rule === undefined || reference.kind !== 'tag') return storeManifest(ctx, deps, target, body);

  // Pushes to one locked tag take turns, so two first pushes cannot both find it free.
  await deps.locks.withLock(repository, `tag:${reference.tag}`, async () => {
    const current = await tagDigest(callerRequest(ctx, deps), repository, reference.tag);
    if (typeof current === 'object') return relay(ctx, current, deps.upstream.origin.origin);

    const algorithm = current === undefined ? 'sha256' : current.split(':', 1)[0] ?? 'sha256';
    const pushed = canCompute(algorithm) ? computeDigest(body, algorithm) : '';
    if (!mayPushLockedTag(current, pushed)) {
      throw new TagLockedError(rule.name, repository, reference.tag, reference.tag);
    }
    return storeManifest(ctx, deps, target, body);
  });
}

/** Forwards the manifest, and indexes it first when it is a referrer. */
async function storeManifest(
  ctx: ProxyContext,
  deps: Dependencies,
  target: ManifestTarget,
  body: Buffer,
): Promise<void> {
  const digest = referrerDigest(target.reference, body);
  const referrer = digest === undefined
    ? undefined
    : readReferrer(body, ctx.get('content-type'), digest);

  if (referrer === undefined) return forwardAndRelay(ctx, deps, body);

  const { repository } = target;
  // If the exchange breaks, the upstream may or may not have stored the manifest: the
  // journal entry stays, and recovery asks the upstream later.
  const change = { op: 'add', repository, referrer, since: Date.now() } as const;
  await deps.locks.withJournalledLock(deps.journal, change, async (lock) => {
    const response = await forward(ctx, deps, body);
    ctx.state.upstreamStatus = response.status;
    await settlePush(ctx, deps, { repository, referrer, response, lock });
    relay(ctx, response, deps.upstream.origin.origin);
  });
}

/** Indexes an accepted referrer (then, and only then, OCI-Subject), or clears the journal. */
interface PushOutcome {
  readonly repository: string;
  readonly referrer: Referrer;
  readonly response: UpstreamResponse;
  readonly lock: Pick<HeldLock, 'intact'>;
}

async function settlePush(
  ctx: ProxyContext,
  deps: Dependencies,
  { repository, referrer, response, lock }: PushOutcome,
): Promise<void> {
  const digest = referrer.descriptor.digest;
  if (!accepted(response, referrer)) {
    // The refusal is relayed even if Redis just went away; recovery then drops the entry.
    await deps.journal.clear(repository, 'add', digest).catch(() => undefined);
    return;
  }

  // After a Redis outage longer than the lock's expiry, a delete through another proxy may
  // have run meanwhile; indexing now could list a manifest already gone (invariant 7). The
  // journal entry stays, recovery settles it from the registry, and the client retries.
  if (!lock.intact()) throw new IndexUnavailableError('digest lock lost during the push');
  await deps.index.add(repository, referrer);
  deps.mirror.kick();
  ctx.state.subject = referrer.subject;
  ctx.set(SUBJECT_HEADER, referrer.subject);
}

/**
 * The digest the upstream will store the bytes under: the one in the URL (the upstream checks
 * the bytes match it), else the canonical sha256. Undefined for algorithms we cannot compute:
 * such a push is forwarded and never indexed, so nothing unverified enters the index.
 */
function referrerDigest(reference: Reference, body: Buffer): string | undefined {
  if (reference.kind === 'tag') return computeDigest(body, 'sha256');

  const { algorithm } = parseDigest(reference.digest) ?? { algorithm: '' };
  if (!canCompute(algorithm)) return undefined;
  const computed = computeDigest(body, algorithm);
  return computed === reference.digest ? computed : undefined;
}

/** 2xx, and the digest the upstream reports (when it reports one) is the one we computed. */
function accepted(response: UpstreamResponse, referrer: Referrer): boolean {
  if (response.status < 200 || response.status > 299) return false;

  const reported = response.headers['docker-content-digest'];
  if (typeof reported !== 'string') return true;
  const sameAlgorithm = reported.split(':', 1)[0] === referrer.descriptor.digest.split(':', 1)[0];
  return !sameAlgorithm || reported === referrer.descriptor.digest;
}

export async function forwardAndRelay(
  ctx: ProxyContext,
  deps: Dependencies,
  body?: Buffer,
): Promise<void> {
  const response = await forward(ctx, deps, body);
  ctx.state.upstreamStatus = response.status;
  relay(ctx, response, deps.upstream.origin.origin);
}

function forward(ctx: ProxyContext, deps: Dependencies, body?: Buffer): Promise<UpstreamResponse> {
  const headers = { ...withoutHopByHop(ctx.req.headers), ...forwardedHeaders(ctx.req) };
  return deps.upstream.send(ctx.method, ctx.url, headers, body);
}
