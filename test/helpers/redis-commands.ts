import { Redis } from 'ioredis';

/**
 * What a Redis server did, from INFO commandstats: calls per command, the ones scripts ran included (Redis
 * counts those too). Meant for a server of the test's own, reset first, so nothing else is counted.
 */
export class RedisWork {
  private readonly admin: Redis;

  constructor(url: string) {
    this.admin = new Redis(url);
  }

  async reset(): Promise<void> {
    await this.admin.config('RESETSTAT');
  }

  /** Calls per command since the reset, without this helper's INFO and CONFIG RESETSTAT. */
  async commands(): Promise<Record<string, number>> {
    const text = await this.admin.info('commandstats');
    const calls: Record<string, number> = {};
    for (const [, name, count] of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
      if (name !== 'info' && !name.startsWith('config')) calls[name] = Number(count);
    return calls;
  }

  close(): void {
    this.admin.disconnect();
  }
}
