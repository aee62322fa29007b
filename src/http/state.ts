// What one request carries between middlewares: its route, and what the log line reports.

import type { DigestLocks } from '../index-store/digest-lock.js';
import type { ChangeJournal } from '../index-store/journal.js';
import type { ReferrersIndex } from '../index-store/referrers-index.js';
import type { Config } from '../config.js';
import type { ManifestDeleter } from '../lifecycle/manifest-delete.js';
import type { RetentionRunner } from '../lifecycle/retention.js';
import type { TagLockStore } from '../lifecycle/tag-lock-store.js';
import type { NotificationHandler } from '../notifications.js';
import type { UpstreamClient } from '../upstream/client.js';
import type { PassThrough } from '../upstream/passthrough.js';
import type { AccessCache } from './access-cache.js';
import type { Route } from './routes.js';

export interface RequestState {
  route: Route;
  upstreamStatus: number | undefined;
  /** The subject a request indexed or un-indexed a referrer for, for the log line. */
  subject: string | undefined;
  /** What made the request fail, kept for the log line of a 5xx answer. */
  error: unknown;
}

export interface Dependencies {
  readonly config: Config;
  readonly index: ReferrersIndex;
  readonly journal: ChangeJournal;
  readonly locks: DigestLocks;
  /** Told after every index change, so the registry's mirror follows soon. */
  readonly mirror: { kick(): void };
  readonly notifications: NotificationHandler;
  readonly accessCache: AccessCache;
  readonly upstream: UpstreamClient;
  readonly passThrough: PassThrough;
  readonly deleter: ManifestDeleter;
  readonly tagLocks: TagLockStore;
  readonly retention: RetentionRunner;
}

export type ProxyContext = import('koa').ParameterizedContext<RequestState>;
