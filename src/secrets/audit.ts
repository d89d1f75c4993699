import { createHash } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export type AuditAction = 'read' | 'write' | 'rotate' | 'destroy' | 'list' | 'import' | 'export' | 'sign' | 'create' | 'verify';

/** Who did what to which secret, when, and whether it worked. Never a value: there is no field for one. */
export interface AuditEvent {
  readonly at: string;
  readonly actor: string;
  readonly action: AuditAction;
  readonly name?: string;
  readonly version?: number;
  readonly backend?: string;
  readonly outcome: 'ok' | 'denied' | 'error';
  /** A stable error code when the outcome is not ok. */
  readonly code?: string;
}

export interface AuditSink {
  append(event: AuditEvent): Promise<void>;
}

export class MemoryAuditSink implements AuditSink {
  readonly events: AuditEvent[] = [];
  async append(event: AuditEvent): Promise<void> {
    this.events.push(event);
  }
}

function lineHash(line: string): string {
  return createHash('sha256').update(line).digest('hex');
}

/**
 * JSON lines opened in append mode and fsynced per event. Each line carries the SHA-256 of the
 * line before it, so that a deleted or edited line breaks the chain that verifyAuditLog checks:
 * append-only by construction is not enough when the reader has to trust an old file.
 */
export class FileAuditSink implements AuditSink {
  private prev: string | null = null;
  private queue: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  append(event: AuditEvent): Promise<void> {
    const next = this.queue.then(() => this.write(event));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async write(event: AuditEvent): Promise<void> {
    if (this.prev === null) this.prev = await lastLineHash(this.path);
    const line = JSON.stringify({ ...event, prev: this.prev });
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const fh = await open(this.path, 'a', 0o600);
    try {
      await fh.write(`${line}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.prev = lineHash(line);
  }
}

async function lastLineHash(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  const lines = text.split('\n').filter((l) => l.length > 0);
  const last = lines[lines.length - 1];
  return last === undefined ? '0'.repeat(64) : lineHash(last);
}

/** Reads an audit log and checks its hash chain; returns the events, or where the chain breaks. */
export async function verifyAuditLog(path: string): Promise<{ ok: true; events: AuditEvent[] } | { ok: false; brokenAtLine: number }> {
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.length > 0);
  let prev = '0'.repeat(64);
  const events: AuditEvent[] = [];
  for (const [i, line] of lines.entries()) {
    let parsed: AuditEvent & { prev?: string };
    try {
      parsed = JSON.parse(line) as AuditEvent & { prev?: string };
    } catch {
      return { ok: false, brokenAtLine: i + 1 };
    }
    if (parsed.prev !== prev) return { ok: false, brokenAtLine: i + 1 };
    const { prev: _prev, ...event } = parsed;
    events.push(event);
    prev = lineHash(line);
  }
  return { ok: true, events };
}
