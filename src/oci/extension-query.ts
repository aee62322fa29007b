// Query parameters of the proxy's extensions (cascade delete, admin endpoint). Read strictly:
// a typo such as `dryrun=true` must fail loudly, not fall back to a real deletion.

import { QueryInvalidError } from '../errors.js';

/** Refuses any parameter not in `known`. */
export function refuseUnknownParams(query: URLSearchParams, known: readonly string[]): void {
  for (const name of query.keys()) {
    if (!known.includes(name)) {
      throw new QueryInvalidError(name, `unknown parameter (known: ${known.join(', ')})`);
    }
  }
}

/** The one value of a parameter, or undefined when absent; a repeated one is refused. */
export function singleParam(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw new QueryInvalidError(name, 'given more than once');
  return values[0];
}

/** `true` or `false`, or undefined when absent; anything else is refused. */
export function booleanParam(query: URLSearchParams, name: string): boolean | undefined {
  const value = singleParam(query, name);
  if (value === undefined) return undefined;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new QueryInvalidError(name, 'must be true or false');
}
