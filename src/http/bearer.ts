// The shared-secret check of the proxy's own endpoints (notifications, admin).

import { timingSafeEqual } from 'node:crypto';

/** Constant-time check of `Authorization: Bearer <token>`; only the length can leak. */
export function hasBearerToken(header: string | undefined, token: string): boolean {
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
