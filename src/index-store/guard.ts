// Every failure to reach Redis becomes IndexUnavailableError, so the HTTP edge answers with a
// retryable 503 instead of guessing.

import type { ChainableCommander } from 'ioredis';
import { IndexUnavailableError } from '../errors.js';

export async function guard<T>(operation: string, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (error) {
    throw new IndexUnavailableError(operation, { cause: error });
  }
}

/** EXEC that fails when any queued command failed: ioredis reports those per command. */
export async function execAll(transaction: ChainableCommander): Promise<void> {
  const results = await transaction.exec();
  if (results === null) throw new Error('transaction aborted');

  const failed = results.find(([error]) => error !== null);
  if (failed !== undefined) throw failed[0];
}
