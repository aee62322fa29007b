// Digests (image-spec v1.1.1 descriptor.md "Digests"):
//   digest    ::= algorithm ":" encoded
//   algorithm ::= component (separator component)*   component ::= [a-z0-9]+  separator ::= [+._-]
//   encoded   ::= [a-zA-Z0-9=_-]+
// Registered algorithms have fixed encodings; unknown algorithms that match the grammar are
// accepted as opaque names (the spec says implementations SHOULD accept them).

import { createHash } from 'node:crypto';

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

const REGISTERED: Readonly<Record<string, RegExp>> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

export interface ParsedDigest {
  readonly algorithm: string;
  readonly encoded: string;
}

/** Parses a digest string, or returns undefined when it breaks the grammar. */
export function parseDigest(value: string): ParsedDigest | undefined {
  if (value.length > 1024 || !DIGEST.test(value)) return undefined;

  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  const registered = REGISTERED[algorithm];
  if (registered !== undefined && !registered.test(encoded)) return undefined;
  return { algorithm, encoded };
}

export function isDigest(value: string): boolean {
  return parseDigest(value) !== undefined;
}

/** True when this process can compute digests of the algorithm (the registered ones). */
export function canCompute(algorithm: string): algorithm is 'sha256' | 'sha512' {
  return algorithm === 'sha256' || algorithm === 'sha512';
}

export function computeDigest(
  bytes: Uint8Array,
  algorithm: 'sha256' | 'sha512' = 'sha256',
): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}
