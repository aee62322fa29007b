// One referrers page read in one Redis round trip: a Lua script walks the subject's sorted
// set, picks entries by their stored size and artifactType (entry-meta), and returns the
// picked descriptors' JSON already joined by commas, so the proxy sends Redis's bytes as they
// are. All its keys carry the repository's hash tag (keys.ts), so the script runs on one
// Redis Cluster node. One call scans a bounded number of digests, so a filter that matches
// little among a huge list never holds Redis for long; the caller goes on where it stopped.

import { createHash } from 'node:crypto';
import type { RedisConnection } from './connection.js';

/** Digests read per ZRANGEBYLEX inside the script; also bounds Lua's unpack() (8,000). */
const BATCH = 1000;

/** Digests one call may scan before it hands back: a few milliseconds of Redis time. */
export const SCAN_PER_CALL = 20 * BATCH;

// KEYS: referrers zset, entry-meta hash, descriptors hash, subject versions hash.
// ARGV: start ('-' or '(<digest>'), bytes used, entries admitted, bound bytes, scan limit,
// subject, the version of a page the caller holds ('' for none), then the artifactType
// values to keep (none: no filter).
// Reply: {state, last scanned digest, last admitted digest, bytes used, entries admitted,
// joined JSON, subject version}; state is 'same' (the caller's page is current, nothing
// read), 'full' (the next entry did not fit), 'end' or 'more' (scan limit reached).
// The budget is the page rule of docs/architecture.md: an entry adds its JSON bytes and a
// comma; the first entry is always admitted, so paging advances.
const PAGE_LUA = `
local cursor, used, count = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local bound, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local version = redis.call('HGET', KEYS[4], ARGV[6]) or ''
if version ~= '' and version == ARGV[7] then return {'same', '', '', 0, 0, '', version} end
local wanted
if #ARGV > 7 then
  wanted = {}
  for i = 8, #ARGV do wanted[ARGV[i]] = true end
end
local parts, scanned, last_scanned, last_admitted = {}, 0, '', ''
local function take(picked)
  if #picked == 0 then return end
  for _, json in ipairs(redis.call('HMGET', KEYS[3], unpack(picked))) do
    if json then parts[#parts + 1] = json end
  end
end
local function reply(state)
  return {state, last_scanned, last_admitted, used, count, table.concat(parts, ','), version}
end
while scanned < limit do
  local digests = redis.call('ZRANGEBYLEX', KEYS[1], cursor, '+', 'LIMIT', 0, ${BATCH})
  if #digests == 0 then return reply('end') end
  local metas = redis.call('HMGET', KEYS[2], unpack(digests))
  local picked = {}
  for i, digest in ipairs(digests) do
    local meta = metas[i]
    if meta then
      local space = string.find(meta, ' ', 1, true)
      if wanted == nil or wanted[string.sub(meta, space + 1)] then
        local added = tonumber(string.sub(meta, 1, space - 1))
        if count > 0 then added = added + 1 end
        if count > 0 and used + added > bound then
          take(picked)
          return reply('full')
        end
        used, count, last_admitted = used + added, count + 1, digest
        picked[#picked + 1] = digest
      end
    end
    last_scanned = digest
  end
  take(picked)
  scanned = scanned + #digests
  if #digests < ${BATCH} then return reply('end') end
  cursor = '(' .. last_scanned
end
return reply('more')
`;

const PAGE_SHA = createHash('sha1').update(PAGE_LUA).digest('hex');

export interface PageState {
  /** Where the next scan starts: '-' (the beginning) or '(<digest>' (after it). */
  readonly start: string;
  /** Serialized bytes of the page so far, the empty index included. */
  readonly usedBytes: number;
  readonly count: number;
}

export type StepState = 'same' | 'full' | 'end' | 'more';

export interface PageStep {
  readonly state: StepState;
  readonly lastScanned: string | undefined;
  readonly lastAdmitted: string | undefined;
  readonly usedBytes: number;
  readonly count: number;
  /** The admitted descriptors' JSON joined by commas, exactly as Redis holds them. */
  readonly json: Buffer;
  /** The subject's change token when the step ran; undefined if it never changed. */
  readonly version: string | undefined;
}

export interface PageKeys {
  readonly referrers: string;
  readonly entryMeta: string;
  readonly descriptors: string;
  readonly versions: string;
}

export interface PageQuestion {
  readonly subject: string;
  readonly boundBytes: number;
  readonly artifactTypes: readonly string[];
  /** Version of the page the caller holds; the step answers 'same' if it is current. */
  readonly heldVersion: string | undefined;
}

/**
 * Runs one step of the page script: EVALSHA, and EVAL once when Redis does not know the
 * script (after a restart, or on a node that never ran it), which also caches it there.
 */
export async function pageStep(
  redis: RedisConnection,
  keys: PageKeys,
  state: PageState,
  question: PageQuestion,
): Promise<PageStep> {
  const args = [4, keys.referrers, keys.entryMeta, keys.descriptors, keys.versions,
    state.start, state.usedBytes, state.count, question.boundBytes, SCAN_PER_CALL,
    question.subject, question.heldVersion ?? '', ...question.artifactTypes];
  // callBuffer: bulk replies arrive as Buffers, so the JSON is never decoded to a string.
  try {
    return readPageReply(await redis.callBuffer('EVALSHA', PAGE_SHA, ...args));
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return readPageReply(await redis.callBuffer('EVAL', PAGE_LUA, ...args));
  }
}

/** Checks the script's reply shape; anything else is a fault, not a page. */
export function readPageReply(reply: unknown): PageStep {
  if (!Array.isArray(reply) || reply.length !== 7) throw new Error('page script: bad reply');
  const [state, scanned, admitted, used, count, json, version] = reply as unknown[];
  const text = (value: unknown) => (Buffer.isBuffer(value) ? value.toString('latin1') : '');
  const stateText = text(state);
  if (!isStepState(stateText)) throw new Error(`page script: bad state ${stateText}`);
  if (typeof used !== 'number' || typeof count !== 'number' || !Buffer.isBuffer(json)) {
    throw new Error('page script: bad reply');
  }
  return { state: stateText, lastScanned: text(scanned) || undefined,
    lastAdmitted: text(admitted) || undefined, usedBytes: used, count, json,
    version: text(version) || undefined };
}

function isStepState(text: string): text is StepState {
  return text === 'same' || text === 'full' || text === 'end' || text === 'more';
}
