// DELETE /v2/<name>/manifests/<reference>: tag locks first, then one manifest, or a cascade
// (the manifest and everything referring to it, see lifecycle/cascade.ts), or a dry run that
// lists what a cascade would delete. Every delete goes to the registry with the caller's own
// credentials, so the registry decides each one.

import {
  CascadeRequestError, ManifestUnknownError, ProxyError, TagLockedError,
} from '../errors.js';
import { MANIFEST_ACCEPT } from '../upstream/manifests.js';
import {
  planCascade, readCascadeRequest, runCascade, type CascadeOutcome, type CascadeRequest,
  type CascadeStep,
} from '../lifecycle/cascade.js';
import { lockedManifests } from '../lifecycle/locked-manifests.js';
import { lockingRule } from '../lifecycle/tag-locks.js';
import type { UpstreamResponse } from '../upstream/client.js';
import { answerJson } from './answers.js';
import { mayPull } from './authorize.js';
import { callerRequest } from './caller.js';
import { errorResponse, internalErrorResponse, ociErrorBody } from './errors.js';
import { forwardAndRelay, manifestTarget, refuseReservedTag } from './manifests.js';
import { relay } from './relay.js';
import type { Dependencies, ProxyContext } from './state.js';

export async function deleteManifest(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  const { repository, reference } = manifestTarget(ctx);
  refuseReservedTag(reference, deps);
  const query = new URLSearchParams(ctx.querystring);

  if (reference.kind === 'tag') {
    // CASCADE_DELETE=always applies to digests; a tag delete asks for no cascade of its own.
    if (query.has('cascade') || query.has('dry-run')) {
      throw new CascadeRequestError('name the manifest by digest');
    }
    const rule = lockingRule(await deps.tagLocks.rules(), repository, reference.tag);
    if (rule !== undefined) {
      throw new TagLockedError(rule.name, repository, reference.tag, reference.tag);
    }
    return forwardAndRelay(ctx, deps);
  }

  const { digest } = reference;
  const request = readCascadeRequest(query, deps.config.cascadeDelete);
  if (!request.cascade && !request.dryRun) return deleteOne(ctx, deps, repository, digest);
  return deleteCascade(ctx, deps, repository, digest, request);
}

async function deleteOne(
  ctx: ProxyContext,
  deps: Dependencies,
  repository: string,
  digest: string,
): Promise<void> {
  const refusal = await refuseLocked(ctx, deps, repository, [{ digest, subject: undefined }]);
  if (refusal !== undefined) return relay(ctx, refusal, deps.upstream.origin.origin);

  const outcome = await deps.deleter.delete(repository, digest, sendDelete(ctx, deps, repository,
    digest), { notFoundMeansGone: false });
  if (outcome.gone && outcome.subject !== undefined) ctx.state.subject = outcome.subject;
  relay(ctx, outcome.response, deps.upstream.origin.origin);
}

async function deleteCascade(
  ctx: ProxyContext,
  deps: Dependencies,
  repository: string,
  root: string,
  request: CascadeRequest,
): Promise<void> {
  // A caller who may read the repository is told the truth by a 404: the manifest is gone.
  if (!(await mayPull(ctx, deps, repository))) return;

  const steps = request.cascade
    ? await planCascade(deps.index, repository, root)
    : [{ digest: root, subject: undefined }];
  if (steps.length === 1) await refuseUnknownRoot(ctx, deps, repository, root);
  const refusal = await refuseLocked(ctx, deps, repository, steps);
  if (refusal !== undefined) return relay(ctx, refusal, deps.upstream.origin.origin);
  if (request.dryRun) return answerJson(ctx, 200, { repository, dryRun: true, delete: steps });

  const outcome = await runCascade(steps, (step) => deps.deleter.delete(repository, step.digest,
    sendDelete(ctx, deps, repository, step.digest), { notFoundMeansGone: true }));
  renderOutcome(ctx, repository, outcome);
}

/**
 * A root already gone counts as deleted when referrers of it are left to delete (a retry);
 * with nothing left, a 404 tells a mistyped digest from a finished job, as a plain DELETE does.
 */
async function refuseUnknownRoot(
  ctx: ProxyContext,
  deps: Dependencies,
  repository: string,
  root: string,
): Promise<void> {
  const response = await callerRequest(ctx, deps)('HEAD', `/v2/${repository}/manifests/${root}`,
    { accept: MANIFEST_ACCEPT });
  if (response.status === 404) throw new ManifestUnknownError(repository, root);
}

/**
 * Throws TagLockedError when a locked tag points at one of the manifests; returns the
 * registry's refusal when it would not show the caller the tags.
 */
async function refuseLocked(
  ctx: ProxyContext,
  deps: Dependencies,
  repository: string,
  steps: readonly CascadeStep[],
): Promise<UpstreamResponse | undefined> {
  const locked = await lockedManifests(callerRequest(ctx, deps), deps.upstream.origin.origin,
    repository, await deps.tagLocks.rules());
  if (!(locked instanceof Map)) return locked;

  for (const { digest } of steps) {
    const by = locked.get(digest);
    if (by !== undefined) throw new TagLockedError(by.rule, repository, by.tag, digest);
  }
  return undefined;
}

function sendDelete(
  ctx: ProxyContext,
  deps: Dependencies,
  repository: string,
  digest: string,
): () => Promise<UpstreamResponse> {
  // Built from the digest, not the request URL: the cascade parameters are ours alone.
  return () => callerRequest(ctx, deps)('DELETE', `/v2/${repository}/manifests/${digest}`, {});
}

/** 202 when all is deleted; else the registry's refusal, with what is done and what is left. */
function renderOutcome(
  ctx: ProxyContext,
  repository: string,
  outcome: CascadeOutcome<UpstreamResponse>,
): void {
  const { deleted, remaining, failure } = outcome;
  if (failure === undefined) return answerJson(ctx, 202, { repository, deleted, remaining });
  const progress = { repository, deleted, remaining };
  if (failure.response === undefined) return renderBroken(ctx, failure.error, progress);

  const { status, headers, body } = failure.response;
  const relayed = status >= 400 && status < 500;
  const challenge = headers['www-authenticate'];
  if (relayed && challenge !== undefined) ctx.set('WWW-Authenticate', challenge);
  ctx.status = relayed ? status : 502;
  ctx.set('Content-Type', 'application/json');
  ctx.body = ociErrorBody(upstreamCode(body, relayed ? 'DENIED' : 'UNAVAILABLE'),
    `cascading delete stopped at ${failure.step.digest}: the registry answered ${status}; `
      + 'retry to finish', { ...progress, status });
}

/** The exchange broke part-way: the usual error answer, with what is done and what is left. */
function renderBroken(ctx: ProxyContext, error: unknown, progress: object): void {
  ctx.state.error = error;
  const response = error instanceof ProxyError
    ? errorResponse(error, progress)
    : internalErrorResponse(progress);
  ctx.status = response.status;
  ctx.set(response.headers);
  ctx.body = response.body;
}

/** The OCI error code of the registry's answer, if it sent one. */
function upstreamCode(body: Buffer, fallback: string): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown }[] };
    const code = parsed.errors?.[0]?.code;
    return typeof code === 'string' && /^[A-Z_]{1,64}$/.test(code) ? code : fallback;
  } catch {
    return fallback;
  }
}
