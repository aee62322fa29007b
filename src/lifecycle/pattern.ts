// Name patterns of lifecycle rules (tag locks, retention). A small glob, so rules read like the
// names they match: in a repository pattern `*` stays within one path component and `**`
// crosses them; in a tag or artifactType pattern `*` matches any run of characters; `?` is one
// character. Matching simulates all pattern positions at once (no backtracking), so time is
// linear in the name whatever the pattern: names are chosen by clients, and a backtracking
// RegExp let `*a*a*a…b` against a 40-character tag stall the process for a minute.

export interface NamePattern {
  readonly source: string;
  matches(name: string): boolean;
}

export type PatternKind = 'path' | 'flat';

/** Characters a pattern may hold: those of repository names, tags and media types, plus `*?`. */
const PATTERN_TEXT = /^[A-Za-z0-9._\-/+*?]{1,255}$/;

/**
 * Longer names never match. Repository names (255) and tags (128) are far shorter; an
 * artifactType is a media type (RFC 6838: at most 127 + 1 + 127), so a longer one is junk.
 */
export const MAX_MATCHED_LENGTH = 1024;

type Token =
  | { readonly kind: 'literal'; readonly char: string }
  | { readonly kind: 'one' }
  | { readonly kind: 'run'; readonly crossesSlash: boolean };

export function isPatternText(text: string): boolean {
  return PATTERN_TEXT.test(text);
}

/** Compiles a pattern; the caller has checked it with isPatternText. */
export function compilePattern(source: string, kind: PatternKind): NamePattern {
  const tokens = tokenize(source, kind);
  return {
    source,
    matches: (name) => name.length <= MAX_MATCHED_LENGTH && run(tokens, name, kind),
  };
}

function tokenize(source: string, kind: PatternKind): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < source.length; i++) {
    const char = source[i] ?? '';
    if (char === '*') {
      const globstar = source[i + 1] === '*';
      if (globstar) i++;
      tokens.push({ kind: 'run', crossesSlash: kind === 'flat' || globstar });
    } else if (char === '?') {
      tokens.push({ kind: 'one' });
    } else {
      tokens.push({ kind: 'literal', char });
    }
  }
  return tokens;
}

/** Thompson-style simulation: the set of pattern positions reachable after each character. */
function run(tokens: readonly Token[], name: string, kind: PatternKind): boolean {
  let active = closure(tokens, new Set([0]));
  for (const char of name) {
    const next = new Set<number>();
    for (const position of active) {
      const token = tokens[position];
      if (token === undefined) continue;
      if (token.kind === 'literal' && token.char === char) next.add(position + 1);
      const crosses = char !== '/' || kind === 'flat';
      if (token.kind === 'one' && crosses) next.add(position + 1);
      if (token.kind === 'run' && (token.crossesSlash || char !== '/')) next.add(position);
    }
    if (next.size === 0) return false;
    active = closure(tokens, next);
  }
  return active.has(tokens.length);
}

/** A run may match nothing: the position after it is reachable too. */
function closure(tokens: readonly Token[], positions: Set<number>): Set<number> {
  for (const position of [...positions].sort((a, b) => a - b)) {
    let at = position;
    while (tokens[at]?.kind === 'run') positions.add(++at);
  }
  return positions;
}
