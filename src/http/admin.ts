// The administrative endpoint, /_referrers-proxy/admin/ (outside /v2/: not registry API). Off
// unless ADMIN_TOKEN is set; every call carries `Authorization: Bearer <ADMIN_TOKEN>`.
//
//   GET    /_referrers-proxy/admin/tag-locks          every rule, file and admin
//   PUT    /_referrers-proxy/admin/tag-locks/<name>   {"repository": "...", "tag": "..."}
//   DELETE /_referrers-proxy/admin/tag-locks/<name>
//   POST   /_referrers-proxy/admin/retention[?dry-run=true][&repository=<name>]

import {
  AdminUnauthorizedError, NameInvalidError, PolicyInvalidError, TagLockUnknownError,
} from '../errors.js';
import { booleanParam, refuseUnknownParams, singleParam } from '../oci/extension-query.js';
import { parseTagLock, ruleName, tagLockJson } from '../lifecycle/policy.js';
import { isRepositoryName } from '../oci/name.js';
import { hasBearerToken } from './bearer.js';
import { readBodyCapped } from './body.js';
import { answerJson, answerOciError } from './answers.js';
import { ADMIN_PATH_PREFIX } from './routes.js';
import type { Dependencies, ProxyContext } from './state.js';

/** A rule is a few hundred bytes. */
const MAX_RULE_BYTES = 64 * 1024;

export async function administer(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  const token = deps.config.adminToken;
  if (token === undefined) {
    return answerOciError(ctx, 404, 'UNSUPPORTED',
      'the administrative endpoint is off (ADMIN_TOKEN)');
  }
  if (!hasBearerToken(ctx.get('authorization'), token)) throw new AdminUnauthorizedError();

  const path = ctx.path.slice(ADMIN_PATH_PREFIX.length); // empty for the bare prefix
  if (path === 'tag-locks') return listLocks(ctx, deps);
  if (path.startsWith('tag-locks/')) return changeLock(ctx, deps, path.slice('tag-locks/'.length));
  if (path === 'retention') return runRetention(ctx, deps);
  return answerOciError(ctx, 404, 'UNSUPPORTED', 'no such administrative resource');
}

async function listLocks(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  if (ctx.method !== 'GET') return methodNotAllowed(ctx, 'GET');
  const rules = await deps.tagLocks.rules();
  answerJson(ctx, 200, { tagLocks: rules.map(tagLockJson) });
}

async function changeLock(ctx: ProxyContext, deps: Dependencies, name: string): Promise<void> {
  if (ctx.method === 'DELETE') {
    const checked = ruleName(name, 'rule.name');
    if (!await deps.tagLocks.delete(checked)) throw new TagLockUnknownError(checked);
    return answerJson(ctx, 200, { deleted: checked });
  }
  if (ctx.method !== 'PUT') return methodNotAllowed(ctx, 'PUT, DELETE');

  const body = await readBodyCapped(ctx.req, MAX_RULE_BYTES, deps.config.manifestBodyTimeoutMs);
  const rule = parseTagLock({ ...readJsonObject(body), name }, 'rule', 'admin');
  const added = await deps.tagLocks.put(rule);
  answerJson(ctx, added ? 201 : 200, tagLockJson(rule));
}

async function runRetention(ctx: ProxyContext, deps: Dependencies): Promise<void> {
  if (ctx.method !== 'POST') return methodNotAllowed(ctx, 'POST');
  const query = new URLSearchParams(ctx.querystring);
  refuseUnknownParams(query, ['dry-run', 'repository']);
  const dryRun = booleanParam(query, 'dry-run') ?? false;
  const repository = singleParam(query, 'repository');
  if (repository !== undefined && !isRepositoryName(repository)) {
    throw new NameInvalidError(repository);
  }

  const report = await deps.retention.run({ dryRun, repository });
  answerJson(ctx, 200, report);
}

function readJsonObject(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new PolicyInvalidError('rule', 'is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PolicyInvalidError('rule', 'must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function methodNotAllowed(ctx: ProxyContext, allow: string): void {
  ctx.set('Allow', allow);
  answerOciError(ctx, 405, 'UNSUPPORTED', `this resource answers ${allow}`);
}

