// Pushes and deletes that go straight to the registry reach the index through the registry's
// own notifications (distribution `notifications.endpoints`): it POSTs an envelope of events
// to the proxy. A pushed manifest is read back from the registry and indexed if it carries a
// subject; a deleted referrer is removed once the registry confirms it is gone. The registry
// stays the source of truth: nothing in an event is trusted beyond repository and digest.

import type { DigestLocks } from './index-store/digest-lock.js';
import type { ReferrersIndex } from './index-store/referrers-index.js';
import { parseDigest } from './oci/digest.js';
import { OCI_INDEX, OCI_MANIFEST } from './oci/media-types.js';
import { isRepositoryName } from './oci/name.js';
import type { UpstreamClient } from './upstream/client.js';
import { fetchManifest, referrerOf } from './upstream/manifests.js';

/** The distribution notification envelope, as far as the proxy reads it. */
export interface NotificationEvent {
  readonly action: string;
  readonly repository: string;
  readonly digest: string;
}

export interface NotificationReport {
  indexed: number;
  removed: number;
  ignored: number;
}

/** Reads the events the proxy acts on; undefined when the body is not an envelope at all. */
export function readEnvelope(body: Buffer): NotificationEvent[] | undefined {
  let envelope: unknown;
  try {
    envelope = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const events = (envelope as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) return undefined;
  return events.flatMap((event) => relevantEvent(event));
}

function relevantEvent(event: unknown): NotificationEvent[] {
  const { action, target } = (event ?? {}) as { action?: unknown; target?: unknown };
  const { repository, digest } = (target ?? {}) as { repository?: unknown; digest?: unknown };
  if (action !== 'push' && action !== 'delete') return [];
  if (typeof repository !== 'string' || !isRepositoryName(repository)) return [];
  if (typeof digest !== 'string' || parseDigest(digest) === undefined) return [];
  return [{ action, repository, digest }];
}

export class NotificationHandler {
  constructor(
    private readonly index: ReferrersIndex,
    private readonly locks: DigestLocks,
    /** The proxy's own access to the registry. */
    private readonly upstream: Pick<UpstreamClient, 'send'>,
    private readonly onChange: () => void,
  ) {}

  async handle(events: readonly NotificationEvent[]): Promise<NotificationReport> {
    const report: NotificationReport = { indexed: 0, removed: 0, ignored: 0 };
    for (const event of events) {
      const changed = await this.locks.withLock(event.repository, event.digest, () =>
        event.action === 'push' ? this.#pushed(event) : this.#deleted(event));
      if (!changed) report.ignored++;
      else if (event.action === 'push') report.indexed++;
      else report.removed++;
    }
    if (report.indexed + report.removed > 0) this.onChange();
    return report;
  }

  /** Indexes the manifest if the registry holds it, its bytes match, and it is a referrer. */
  async #pushed({ repository, digest }: NotificationEvent): Promise<boolean> {
    const fetched = await fetchManifest(this.upstream, repository, digest);
    const referrer = fetched === undefined ? undefined : referrerOf(fetched);
    if (referrer === undefined) return false;
    await this.index.add(repository, referrer);
    return true;
  }

  /** Removes an indexed referrer once the registry answers 404 for it. */
  async #deleted({ repository, digest }: NotificationEvent): Promise<boolean> {
    if (await this.index.subjectOf(repository, digest) === undefined) return false;
    const response = await this.upstream.send('HEAD', `/v2/${repository}/manifests/${digest}`,
      { accept: `${OCI_MANIFEST}, ${OCI_INDEX}` });
    if (response.status !== 404) return false;

    await this.index.remove(repository, digest);
    return true;
  }
}
