import { randomBytes } from 'node:crypto';

/**
 * A segment's file name: `<prefix>-<ISO start time>-<pid>-<tag>-<seq>.jsonl`. Names sort by start time, so
 * retention can go by name or by modification time. The pid keeps node:cluster workers apart; the random
 * tag (per writer) keeps apart replicas that share a directory and the same pid (pid 1 in containers), and
 * two writers of one process; seq counts the writer's segments. The writer creates the file exclusively,
 * so even a repeated name is never shared.
 */
export function segmentFileName(prefix: string, startedAt: number, pid: number, tag: string, seq: number): string {
  return `${prefix}-${new Date(startedAt).toISOString()}-${pid}-${tag}-${seq}.jsonl`;
}

/** A writer's random tag: six hex digits. */
export function segmentTag(): string {
  return randomBytes(3).toString('hex');
}
