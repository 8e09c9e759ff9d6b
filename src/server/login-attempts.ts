import { LRUCache } from 'lru-cache';

/** Wrong admin tokens one client may present in a window before it is refused for the rest of it. */
export const LOGIN_MAX_FAILURES = 10;
export const LOGIN_WINDOW_SECONDS = 15 * 60;
/** Clients remembered at most: a flood of addresses evicts the oldest, never grows memory. */
const MAX_CLIENTS = 10_000;

interface Window {
  failures: number;
  endsAt: number;
}

/**
 * Limits guessing of the admin token: each client (an IPv4 address, or an IPv6 /64, which one host
 * usually holds whole) may fail LOGIN_MAX_FAILURES times per window, which starts at its first failure.
 * Past that, every attempt of that client (sign-in or Bearer header, right or wrong) is refused until the
 * window ends, so no guess is even checked. A success forgets the client's failures.
 */
export class LoginAttempts {
  private readonly windows = new LRUCache<string, Window>({ max: MAX_CLIENTS });
  readonly counts = { failures: 0, limited: 0 };

  constructor(private readonly now: () => number = Date.now) {}

  /** Seconds until this client may try again, or 0 when it may try now (a refusal is counted). */
  retryAfter(ip: string): number {
    const window = this.current(ip);
    if (!window || window.failures < LOGIN_MAX_FAILURES) return 0;
    this.counts.limited++;
    return Math.max(1, Math.ceil((window.endsAt - this.now()) / 1000));
  }

  /** Counts a wrong token; true when it was this client's last allowed one (worth a log line). */
  failed(ip: string): boolean {
    this.counts.failures++;
    const window = this.current(ip) ?? { failures: 0, endsAt: this.now() + LOGIN_WINDOW_SECONDS * 1000 };
    window.failures++;
    this.windows.set(clientKey(ip), window);
    return window.failures === LOGIN_MAX_FAILURES;
  }

  succeeded(ip: string): void {
    this.windows.delete(clientKey(ip));
  }

  private current(ip: string): Window | undefined {
    const key = clientKey(ip);
    const window = this.windows.get(key);
    if (window && window.endsAt <= this.now()) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }
}

/** IPv4 as is (also when mapped into IPv6); IPv6 by its /64. */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const address = ip.split('%')[0]!; // a zone (fe80::1%eth0) names the interface, not the host
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
