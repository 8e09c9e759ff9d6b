import type { SessionConfig } from '../config/schema.js';
import type { Fingerprinter } from './fingerprint.js';
import type { FleetState } from './fleet.js';
import type { SessionIndex } from './session-index.js';

export type EngineConfig = Omit<SessionConfig, 'enabled' | 'persistence' | 'explicit_id_headers' | 'partition_by'>;

/** Messages of each session kept as sketch values for fuzzy similarity. */
export const SKETCH_SIZE = 12;
/** Paragraphs of the latest reply indexed for compaction, and their minimum length. */
export const PARAGRAPH_MIN = 80;
export const PARAGRAPH_LIMIT = 2;
/** User messages of a request searched for a quoted summary (a compacted history puts it up front). */
export const COMPACTION_SCAN = 4;
/** Response ids of a session that `previous_response_id` can name. */
export const KEEP_RESPONSES = 4;

/**
 * What the parts of the engine (detection rules, fleet keys, reply recording) share: the configuration, the
 * keyed hashing, the live index, and the fleet state when a shared store is attached. Kept in one object so
 * the rules can live in their own files without reaching into the engine class.
 */
export interface EngineParts {
  readonly config: EngineConfig;
  readonly fingerprints: Fingerprinter;
  readonly index: SessionIndex;
  readonly fleet: FleetState | null;
  readonly resetPhrase: (text: string) => string | undefined;
  /** Runs a digest computation, counting its time as hashing (the `hash_computation_ms` metric). */
  hash<T>(compute: () => T): T;
}

/** Time spent hashing during the current decision (reset at the start of each). */
export class HashTimer {
  ms = 0;

  reset(): void {
    this.ms = 0;
  }

  time<T>(compute: () => T): T {
    const started = performance.now();
    const result = compute();
    this.ms += performance.now() - started;
    return result;
  }
}
