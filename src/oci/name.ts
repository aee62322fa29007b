// Repository names and references (distribution-spec v1.1.1 "Pulling manifests").

import { isDigest } from './digest.js';

const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** distribution-spec notes that many clients limit names to 255 characters. */
export const MAX_NAME_LENGTH = 255;

export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME.test(name);
}

export function isTag(reference: string): boolean {
  return TAG.test(reference);
}

export type Reference =
  | { readonly kind: 'tag'; readonly tag: string }
  | { readonly kind: 'digest'; readonly digest: string };

/** A manifest reference is a tag or a digest; undefined when it is neither. */
export function parseReference(reference: string): Reference | undefined {
  if (isTag(reference)) return { kind: 'tag', tag: reference };
  if (isDigest(reference)) return { kind: 'digest', digest: reference };
  return undefined;
}
