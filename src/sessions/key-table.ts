/**
 * An open-addressing hash table over typed arrays: 64-bit keys (two 32-bit halves of a keyed digest) to
 * fixed-size records of four 32-bit fields. It replaces a Map of string keys to objects, which cost ~170 bytes
 * per entry (key string, entry, value object); here an entry is 24 bytes of typed-array memory and no garbage.
 *
 * Entries are never removed one by one: a record stays until the table decides, on growth, that it is dead
 * (the caller's `isLive`), so dropping a session costs nothing and stale records cannot be returned because
 * callers validate every record they read. A key may hold several records (the same reply in two sessions).
 */
export interface KeyRecord {
  /** Position of the record in the table, to update its fields later. */
  entry: number;
  slot: number;
  seq: number;
  a: number;
  b: number;
}

const EMPTY = 0xffffffff;
const MIN_CAPACITY = 1024;

export class KeyTable {
  private hi!: Uint32Array;
  private lo!: Uint32Array;
  /** Session slot per entry; EMPTY marks a free entry. */
  private slot!: Uint32Array;
  private seq!: Uint32Array;
  private fieldA!: Uint32Array;
  private fieldB!: Uint32Array;
  private capacity = 0;
  /** Entries in use, live or dead: open addressing needs them all until a rebuild. */
  private used = 0;

  constructor(
    /** Whether a record still matters; dead records are dropped when the table is rebuilt. */
    private readonly isLive: (slot: number, seq: number) => boolean,
    private readonly maxPerKey = 16,
    capacity = MIN_CAPACITY,
  ) {
    this.allocate(capacity);
  }

  /** Typed-array bytes held (for metrics and the memory benchmark). */
  get bytes(): number {
    return this.capacity * 24;
  }

  get size(): number {
    return this.used;
  }

  /** Every record stored under the key, live or not: the caller validates. */
  find(hi: number, lo: number): KeyRecord[] {
    const out: KeyRecord[] = [];
    for (let i = this.start(hi, lo); this.slot[i] !== EMPTY; i = this.next(i)) {
      if (this.hi[i] === hi && this.lo[i] === lo) out.push({ entry: i, slot: this.slot[i], seq: this.seq[i], a: this.fieldA[i], b: this.fieldB[i] });
    }
    return out;
  }

  /**
   * Adds a record. A key holds at most `maxPerKey` records: a popular reply ("OK.", the greeting every
   * conversation gets) would otherwise grow one probe chain without bound. When the key is full, a dead
   * record is reused, else the oldest one (lowest sequence number) gives way: recency settles ambiguity.
   */
  insert(hi: number, lo: number, slot: number, seq: number, a: number, b: number): void {
    if ((this.used + 1) * 10 > this.capacity * 9) this.rebuild();
    let i = this.start(hi, lo);
    let matches = 0;
    let reuse = -1;
    for (; this.slot[i] !== EMPTY; i = this.next(i)) {
      if (this.hi[i] !== hi || this.lo[i] !== lo) continue;
      matches++;
      if (!this.isLive(this.slot[i], this.seq[i])) reuse = i;
      else if (reuse === -1 || (this.isLive(this.slot[reuse], this.seq[reuse]) && this.seq[i] < this.seq[reuse])) reuse = i;
    }
    if (reuse !== -1 && (matches >= this.maxPerKey || !this.isLive(this.slot[reuse], this.seq[reuse]))) {
      i = reuse;
      this.used--; // overwriting, not adding
    }
    this.hi[i] = hi;
    this.lo[i] = lo;
    this.slot[i] = slot;
    this.seq[i] = seq;
    this.fieldA[i] = a;
    this.fieldB[i] = b;
    this.used++;
  }

  setB(entry: number, b: number): void {
    this.fieldB[entry] = b;
  }

  clear(): void {
    this.allocate(MIN_CAPACITY);
  }

  /**
   * Keeps the live records, in a table they fill to 60% (any size, not a power of two, so memory follows
   * the live count closely); the next rebuild comes at 90% in use, dead records included. Keys are uniform,
   * so linear probing stays short at that load.
   */
  private rebuild(): void {
    const old = { hi: this.hi, lo: this.lo, slot: this.slot, seq: this.seq, a: this.fieldA, b: this.fieldB };
    let live = 0;
    for (let i = 0; i < old.slot.length; i++) if (old.slot[i] !== EMPTY && this.isLive(old.slot[i], old.seq[i])) live++;
    this.allocate(Math.max(MIN_CAPACITY, Math.ceil((live + 1) / 0.6)));
    for (let i = 0; i < old.slot.length; i++) {
      if (old.slot[i] !== EMPTY && this.isLive(old.slot[i], old.seq[i])) this.insert(old.hi[i], old.lo[i], old.slot[i], old.seq[i], old.a[i], old.b[i]);
    }
  }

  private allocate(capacity: number): void {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
    this.slot = new Uint32Array(capacity).fill(EMPTY);
    this.seq = new Uint32Array(capacity);
    this.fieldA = new Uint32Array(capacity);
    this.fieldB = new Uint32Array(capacity);
    this.capacity = capacity;
    this.used = 0;
  }

  /** The bits of a keyed digest are already uniform: no further mixing needed. */
  private start(hi: number, lo: number): number {
    return ((lo ^ hi) >>> 0) % this.capacity;
  }

  private next(i: number): number {
    return i + 1 === this.capacity ? 0 : i + 1;
  }
}
