// Durations and time bounds in lifecycle rules: "90s", "30m", "12h", "30d", "2w"; and time
// bounds that are either an RFC 3339 date-time or "now" shifted by a duration ("now-30d").

const UNIT_MS: Readonly<Record<string, number>> = {
  s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000,
};

/** Milliseconds of a duration text, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,9})([smhdw])$/.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * (UNIT_MS[match[2] ?? ''] ?? 0);
}

/** A point in time, fixed or relative to the moment a rule is evaluated. */
export type TimeBound =
  | { readonly kind: 'fixed'; readonly at: number }
  | { readonly kind: 'relative'; readonly offsetMs: number };

export function parseTimeBound(text: string): TimeBound | undefined {
  const relative = /^now(?:([+-])(.+))?$/.exec(text);
  if (relative !== null) {
    if (relative[1] === undefined) return { kind: 'relative', offsetMs: 0 };
    const ms = parseDuration(relative[2] ?? '');
    if (ms === undefined) return undefined;
    return { kind: 'relative', offsetMs: relative[1] === '-' ? -ms : ms };
  }

  const at = parseDateTime(text);
  return at === undefined ? undefined : { kind: 'fixed', at };
}

export function resolveTimeBound(bound: TimeBound, now: number): number {
  return bound.kind === 'fixed' ? bound.at : now + bound.offsetMs;
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Milliseconds since the epoch of an RFC 3339 date-time (the format image-spec annotations.md
 * prescribes for org.opencontainers.image.created); undefined for anything else, so a
 * malformed date never counts as old.
 */
export function parseDateTime(text: string): number | undefined {
  const match = RFC3339.exec(text);
  if (match === null) return undefined;

  // Date.parse rolls 2026-02-30 over to March 2nd; a date that does not exist is refused.
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const calendar = new Date(Date.UTC(year ?? 0, (month ?? 0) - 1, day ?? 0));
  if (calendar.getUTCMonth() !== (month ?? 0) - 1 || calendar.getUTCDate() !== day) {
    return undefined;
  }
  if ((hour ?? 0) > 23 || (minute ?? 0) > 59 || (second ?? 0) > 60) return undefined;

  const at = Date.parse(text.replace(' ', 'T'));
  return Number.isNaN(at) ? undefined : at;
}
