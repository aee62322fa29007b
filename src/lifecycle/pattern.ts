// Name patterns of lifecycle rules (tag locks, retention). A small glob, so rules read like the
// names they match: in a repository pattern `*` stays within one path component and `**`
// crosses them; in a tag or artifactType pattern `*` matches any run of characters.

export interface NamePattern {
  readonly source: string;
  matches(name: string): boolean;
}

export type PatternKind = 'path' | 'flat';

/** Characters a pattern may hold: those of repository names, tags and media types, plus `*?`. */
const PATTERN_TEXT = /^[A-Za-z0-9._\-/+*?]{1,255}$/;

export function isPatternText(text: string): boolean {
  return PATTERN_TEXT.test(text);
}

/** Compiles a pattern; the caller has checked it with isPatternText. */
export function compilePattern(source: string, kind: PatternKind): NamePattern {
  const expression = new RegExp(`^${translate(source, kind)}$`);
  return { source, matches: (name) => expression.test(name) };
}

function translate(source: string, kind: PatternKind): string {
  const one = kind === 'path' ? '[^/]' : '.';
  let out = '';

  for (let i = 0; i < source.length; i++) {
    const char = source[i] ?? '';
    if (char === '*' && source[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (char === '*') {
      out += `${one}*`;
    } else if (char === '?') {
      out += one;
    } else {
      out += char.replace(/[.+/\-]/g, '\\$&');
    }
  }
  return out;
}
