// Manifest PUT and DELETE: forwarded to the upstream, and the referrers index kept in step.
// A referrer is indexed only after the upstream accepted it, and OCI-Subject goes out only
// after the index write succeeded (design.md invariants 1 and 2).

import {
  DigestInvalidError, NameInvalidError, ReferenceInvalidError, TagReservedError,
} from '../errors.js';
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

/** Validates the repository and reference of a manifest route. */
/**
 * Tags the proxy maintains are refused to clients while it maintains them: a client
 * overwriting a pin would let garbage collection take a referrer, and one overwriting a
 * referrers tag would serve a forged list while Redis is down.
 */
function refuseReservedTag(reference: Reference, deps: Dependencies): void {
  if (reference.kind !== 'tag') return;
  const reserved = (deps.config.pinReferrers && isPinTag(reference.tag))
    || (deps.config.mirror && isReferrersTag(reference.tag));
  if (reserved) throw new TagReservedError(reference.tag);
}

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

  const digest = referrerDigest(target.reference, body);
  const referrer = digest === undefined
    ? undefined
    : readReferrer(body, ctx.get('content-type'), digest);

  if (referrer === undefined) return forwardAndRelay(ctx, deps, body);

  const { repository } = target;
  await deps.locks.withLock(repository, referrer.descriptor.digest, async () => {
    // If the exchange breaks, the upstream may or may not have stored the manifest: the
    // journal entry stays, and recovery asks the upstream later.
    await deps.journal.record({ op: 'add', repository, referrer, since: Date.now() });
    const response = await forward(ctx, deps, body);
    ctx.state.upstreamStatus = response.status;
    await settlePush(ctx, deps, repository, referrer, response);
    relay(ctx, response, deps.upstream.origin.origin);
  });
}

/** Indexes an accepted referrer (then, and only then, OCI-Subject), or clears the journal. */
async function settlePush(
  ctx: ProxyContext,
  deps: Dependencies,
  repository: string,
  referrer: Referrer,
  response: UpstreamResponse,
): Promise<void> {
  const digest = referrer.descriptor.digest;
  if (!accepted(response, referrer)) {
    // The refusal is relayed even if Redis just went away; recovery then drops the entry.
    await deps.journal.clear(repository, 'add', digest).catch(() => undefined);
    return;
  }

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

export async function deleteManifest(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  const { repository, reference } = manifestTarget(ctx);
  refuseReservedTag(reference, deps);
  if (reference.kind === 'tag') return forwardAndRelay(ctx, deps);

  // Locked even when nothing is indexed yet: a push of this digest may be on its way.
  const { digest } = reference;
  await deps.locks.withLock(repository, digest, async () => {
    const subject = await deps.index.subjectOf(repository, digest);
    if (subject === undefined) return forwardAndRelay(ctx, deps);

    await deps.journal.record({ op: 'remove', repository, digest, since: Date.now() });
    const response = await forward(ctx, deps);
    ctx.state.upstreamStatus = response.status;
    await settleDelete(ctx, deps, repository, digest, subject, response.status);
    relay(ctx, response, deps.upstream.origin.origin);
  });
}

/**
 * Only a 202 proves the manifest is gone: a registry may answer 404 to hide a repository from
 * a caller, who must not be able to empty the index that way.
 */
async function settleDelete(
  ctx: ProxyContext,
  deps: Dependencies,
  repository: string,
  digest: string,
  subject: string,
  status: number,
): Promise<void> {
  if (status !== 202) {
    await deps.journal.clear(repository, 'remove', digest).catch(() => undefined);
    return;
  }

  await deps.index.remove(repository, digest);
  deps.mirror.kick();
  ctx.state.subject = subject;
}

async function forwardAndRelay(
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
