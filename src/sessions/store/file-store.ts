import { open as openFile, mkdir, readFile, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { MemoryStore } from './memory-store.js';
import type { StoreLimits, StoredSession } from './types.js';

export interface FileStoreOptions {
  directory: string;
  /** Milliseconds between appends to the journal: what a crash can lose at most. */
  flushIntervalMs: number;
}

/** One journal line: a session's whole state after a change, its removal, or the fleet secret. */
type JournalEntry = { s: StoredSession } | { d: string } | { secret: string };

/** Directories file stores of this process hold (a lock naming our own pid may be a stale one). */
const heldHere = new Set<string>();

const SNAPSHOT = 'sessions.json';
const JOURNAL = 'journal.jsonl';
const LOCK = 'LOCK';

/**
 * The embedded store for one machine: sessions in memory (the memory store), every change appended to a
 * journal every `flush_interval`, and the journal folded into a snapshot when it grows past twice the live
 * sessions. Entries hold whole states, so replaying a journal over a snapshot that already has them is
 * harmless; the snapshot is written to a temp file and renamed, and a torn last journal line (kill -9 in the
 * middle of an append) is skipped. So a crash loses at most the last interval, never the store.
 */
export class FileStore extends MemoryStore {
  override readonly backend = 'file' as const;
  /**
   * Sessions changed since the last append, by key (null: removed). Only the latest state of each is
   * journalled, serialised at flush time: a conversation's turns within one interval cost one line, and
   * nothing is serialised on the request path.
   */
  private dirty = new Map<string, StoredSession | null>();
  private secretChanged = false;
  private journalLines = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private lock: FileHandle | null = null;
  /** Journal lines that could not be read back at start (a torn last line after a crash). */
  skippedLines = 0;
  /** Appends that failed (disk full, permissions); their lines are kept and tried again. */
  writeErrors = 0;

  constructor(
    limits: StoreLimits,
    private readonly options: FileStoreOptions,
  ) {
    super(limits);
  }

  override async open(): Promise<void> {
    await mkdir(this.options.directory, { recursive: true });
    await this.takeLock();
    await this.load();
    // A torn last line must not swallow the next append: start the journal afresh from what was read.
    if (this.skippedLines > 0) await this.compact();
    this.timer = setInterval(() => void this.flush().catch(() => {}), this.options.flushIntervalMs).unref();
  }

  /** Appends what changed since the last flush (and compacts when the journal grew large). */
  flush(): Promise<void> {
    const run = this.writing.then(() => this.writeOut());
    // A failed write must not fail every later one, nor (unhandled) the process: the chain goes on.
    this.writing = run.catch(() => {});
    return run;
  }

  override async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush().catch(() => {}); // a disk that fails now loses the last interval, as a crash would
    this.writing = this.writing.then(() => this.compact()).catch(() => {});
    await this.writing;
    await this.lock?.close();
    this.lock = null;
    heldHere.delete(this.options.directory);
    await unlink(this.path(LOCK)).catch(() => {});
  }

  protected override changed(key: string, session: StoredSession | null): void {
    // Moved to the end: the journal replays in the order sessions last changed (the LRU order at restart).
    this.dirty.delete(key);
    this.dirty.set(key, session);
  }

  protected override changedSecret(): void {
    if (this.secret) this.secretChanged = true;
  }

  private async writeOut(): Promise<void> {
    if (this.dirty.size === 0 && !this.secretChanged) return;
    const batch = this.dirty;
    const withSecret = this.secretChanged;
    this.dirty = new Map();
    this.secretChanged = false;
    // Entries hold whole states: a session is serialised as it is now, whatever changed it meanwhile.
    const lines: string[] = [];
    if (withSecret && this.secret) lines.push(`${JSON.stringify({ secret: this.secret })}\n`);
    for (const [key, session] of batch) lines.push(`${JSON.stringify(session ? { s: session } : { d: key })}\n`);
    try {
      const journal = await openFile(this.path(JOURNAL), 'a');
      try {
        await journal.write(lines.join(''));
      } finally {
        await journal.close();
      }
    } catch (err) {
      this.writeErrors++;
      // Tried again at the next flush, before the changes made meanwhile (the journal replays in the order
      // sessions changed), unless a newer change of the same session came meanwhile.
      const newer = this.dirty;
      this.dirty = new Map();
      for (const [key, session] of batch) if (!newer.has(key)) this.dirty.set(key, session);
      for (const [key, session] of newer) this.dirty.set(key, session);
      this.secretChanged ||= withSecret;
      throw err;
    }
    this.journalLines += lines.length;
    if (this.journalLines > Math.max(1000, 2 * this.sessions.size)) await this.compact();
  }

  /** Writes every live session to a new snapshot, then starts an empty journal. */
  private async compact(): Promise<void> {
    const snapshot = { version: 1, secret: this.secret ?? null, sessions: [...this.sessions.rvalues()] }; // least recent first: restoring in order rebuilds the LRU order
    const tmp = this.path(`.${SNAPSHOT}.tmp`);
    const handle = await openFile(tmp, 'w');
    try {
      await handle.writeFile(JSON.stringify(snapshot));
      await handle.sync(); // the rename must not land before the data it names
    } finally {
      await handle.close();
    }
    await rename(tmp, this.path(SNAPSHOT));
    await writeFile(this.path(JOURNAL), '');
    this.journalLines = 0;
  }

  private async load(): Promise<void> {
    const snapshot = await readFile(this.path(SNAPSHOT), 'utf8').catch(missingAsEmpty);
    if (snapshot) {
      const parsed = JSON.parse(snapshot) as { secret: string | null; sessions: StoredSession[] };
      if (parsed.secret) this.secret = parsed.secret;
      for (const session of parsed.sessions) this.restore(session);
    }
    const journal = await readFile(this.path(JOURNAL), 'utf8').catch(missingAsEmpty);
    for (const line of journal.split('\n')) {
      if (!line) continue;
      let entry: JournalEntry;
      try {
        entry = JSON.parse(line) as JournalEntry;
      } catch {
        this.skippedLines++;
        continue;
      }
      if ('s' in entry) this.restore(entry.s);
      else if ('d' in entry) this.sessions.delete(entry.d);
      else if ('secret' in entry) this.secret = entry.secret;
      this.journalLines++;
    }
    this.dirty.clear(); // what loading changed is already on disk
    this.secretChanged = false;
  }

  /** One gateway per directory: two would interleave their journals. A lock left by a dead process is taken over. */
  private async takeLock(): Promise<void> {
    const path = this.path(LOCK);
    try {
      this.lock = await openFile(path, 'wx');
    } catch {
      const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      // Our own pid in the lock is a restart that reused it (pid 1 in a container), unless this very process
      // holds the directory already.
      if (holder && (holder === process.pid ? heldHere.has(this.options.directory) : processAlive(holder))) {
        throw new Error(`session directory ${this.options.directory} is in use by process ${holder}`);
      }
      this.lock = await openFile(path, 'w');
    }
    await this.lock.write(String(process.pid));
    heldHere.add(this.options.directory);
  }

  private path(name: string): string {
    return join(this.options.directory, name);
  }
}

function missingAsEmpty(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return '';
  throw err;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
