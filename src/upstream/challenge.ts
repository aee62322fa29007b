// WWW-Authenticate challenges of a registry (RFC 9110 §11.6.1; the token flow of the
// distribution token authentication spec): `Basic realm="..."` or
// `Bearer realm="...",service="...",scope="..."`. Pure parsing, no I/O.

export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses the first challenge of a WWW-Authenticate value; undefined when there is none. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  const match = /^\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*(.*)$/.exec(header ?? '');
  if (match === null) return undefined;

  const params: Record<string, string> = {};
  const pairs = /([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (const [, key, quoted, token] of (match[2] ?? '').matchAll(pairs)) {
    if (key === undefined) continue;
    params[key.toLowerCase()] = quoted?.replace(/\\(.)/g, '$1') ?? token ?? '';
  }
  return { scheme: (match[1] ?? '').toLowerCase(), params };
}
