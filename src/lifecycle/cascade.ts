// Cascading delete: a manifest together with everything that refers to it, recursively (a
// signature of an SBOM of an image), within one repository. Referrers go before their subject,
// so a failure part-way never leaves a referrer whose subject is gone; a retry reads the
// index again and finishes what is left.

import type { CascadeMode } from '../config.js';
import { CascadeRequestError } from '../errors.js';
import { booleanParam, refuseUnknownParams } from '../oci/extension-query.js';
import type { ReferrersIndex } from '../index-store/referrers-index.js';

export interface CascadeStep {
  readonly digest: string;
  /** The manifest this one refers to; undefined for the root of the cascade. */
  readonly subject: string | undefined;
}

/** Stops a runaway walk; a real chain is a few levels deep and some thousands wide at most. */
const MAX_CASCADE_STEPS = 100_000;

/**
 * Post-order over the referrer tree: every referrer before its subject, the root last. A
 * digest met twice is taken once (content addressing rules out cycles, but the index is data).
 */
export function deletionOrder(
  root: string,
  referrersOf: ReadonlyMap<string, readonly string[]>,
): CascadeStep[] {
  // An explicit stack, not recursion: a chain thousands of levels deep overflowed the call
  // stack (a 9,000-level chain answered 500).
  const order: CascadeStep[] = [];
  const seen = new Set<string>([root]);
  const stack: { step: CascadeStep; children: readonly string[]; next: number }[] = [
    { step: { digest: root, subject: undefined }, children: referrersOf.get(root) ?? [], next: 0 },
  ];

  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top === undefined) break;
    const child = top.children[top.next++];
    if (child === undefined) {
      order.push(top.step);
      stack.pop();
    } else if (!seen.has(child)) {
      seen.add(child);
      stack.push({ step: { digest: child, subject: top.step.digest },
        children: referrersOf.get(child) ?? [], next: 0 });
    }
  }
  return order;
}

/** Reads the referrer tree under `root` from the index, level by level. */
async function referrerTree(
  index: Pick<ReferrersIndex, 'referrersOf'>,
  repository: string,
  root: string,
): Promise<Map<string, string[]>> {
  const tree = new Map<string, string[]>();
  let level = [root];

  while (level.length > 0) {
    const fresh = level.filter((digest) => !tree.has(digest));
    const children = await Promise.all(fresh.map((digest) =>
      index.referrersOf(repository, digest)));
    fresh.forEach((digest, n) => tree.set(digest, children[n] ?? []));
    // Cutting the walk short would delete a subject before referrers it never read.
    if (tree.size > MAX_CASCADE_STEPS) {
      throw new CascadeRequestError(`more than ${MAX_CASCADE_STEPS} manifests in the tree; `
        + 'delete some of its branches first');
    }
    level = children.flat();
  }
  return tree;
}

export async function planCascade(
  index: Pick<ReferrersIndex, 'referrersOf'>,
  repository: string,
  root: string,
): Promise<CascadeStep[]> {
  return deletionOrder(root, await referrerTree(index, repository, root));
}

/** The step that failed: the registry refused it (response), or the exchange broke (error). */
export type CascadeFailure<R> =
  | { readonly step: CascadeStep; readonly response: R; readonly error?: undefined }
  | { readonly step: CascadeStep; readonly response?: undefined; readonly error: unknown };

export interface CascadeOutcome<R> {
  readonly deleted: readonly CascadeStep[];
  /** Steps not carried out, the failed one first. */
  readonly remaining: readonly CascadeStep[];
  readonly failure: CascadeFailure<R> | undefined;
}

/** Deletes step by step, stopping at the first step the registry refuses. */
export async function runCascade<R>(
  steps: readonly CascadeStep[],
  deleteStep: (step: CascadeStep) => Promise<{ gone: boolean; response: R }>,
): Promise<CascadeOutcome<R>> {
  const deleted: CascadeStep[] = [];
  for (const [n, step] of steps.entries()) {
    let outcome: { gone: boolean; response: R };
    try {
      outcome = await deleteStep(step);
    } catch (error) {
      // Outcome unknown (the registry or Redis went away): the journal settles it later, and
      // the caller still learns what was done before.
      return { deleted, remaining: steps.slice(n), failure: { step, error } };
    }
    if (!outcome.gone) {
      return { deleted, remaining: steps.slice(n), failure: { step, response: outcome.response } };
    }
    deleted.push(step);
  }
  return { deleted, remaining: [], failure: undefined };
}

const EXTENSION_PARAMS = ['cascade', 'dry-run'];

export interface CascadeRequest {
  readonly cascade: boolean;
  readonly dryRun: boolean;
}

/**
 * What a DELETE asks for: `cascade=true|false` and `dry-run=true|false` in the query (an
 * extension; spec-only clients send neither and get the setting's default). Throws on any
 * other value, on other parameters beside them (`dryrun=true` must not delete for real), and
 * on `cascade=true` while cascading is off.
 */
export function readCascadeRequest(query: URLSearchParams, mode: CascadeMode): CascadeRequest {
  if (query.has('cascade') || query.has('dry-run')) refuseUnknownParams(query, EXTENSION_PARAMS);
  const cascade = booleanParam(query, 'cascade') ?? mode === 'always';
  const dryRun = booleanParam(query, 'dry-run') ?? false;
  if (cascade && mode === 'off') throw new CascadeRequestError('CASCADE_DELETE is off');
  return { cascade, dryRun };
}
