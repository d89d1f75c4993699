// One small reusable polling loop (start, stop, wake, interruptible sleep), so that the watcher,
// and later the batcher and proposer, do not each hand-roll setInterval and its shutdown bugs.
import type { Logger } from 'pino';
import { backoffDelay, systemClock, type Clock } from './clock.js';

export interface PollingLoopOptions {
  /** Pause between successful iterations, in ms. */
  readonly intervalMs: number;
  /** Backoff after failed iterations (defaults: from intervalMs up to 30 s). */
  readonly errorBackoff?: { readonly baseMs: number; readonly maxMs: number };
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly random?: () => number;
}

/**
 * The body returns `'again'` to run once more at once (there is more work, e.g. a backlog of
 * L1 blocks), or nothing to wait `intervalMs`. A body that throws is logged and retried with
 * backoff: the loop itself never dies while started.
 */
export type LoopBody = (signal: AbortSignal) => Promise<'again' | void>;

export class PollingLoop {
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;
  private wake: AbortController | undefined;
  private failures = 0;
  /** A trigger() that arrived while the body ran: the next sleep is skipped. */
  private woken = false;
  private readonly clock: Clock;

  constructor(
    readonly name: string,
    private readonly body: LoopBody,
    private readonly opts: PollingLoopOptions,
  ) {
    this.clock = opts.clock ?? systemClock;
  }

  get isRunning(): boolean {
    return this.controller !== undefined;
  }

  /** Consecutive failed iterations (0 after a success). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  start(): void {
    if (this.controller) return;
    const controller = new AbortController();
    this.controller = controller;
    this.running = this.run(controller.signal);
  }

  /** Cuts the current sleep short so that the next iteration runs now. */
  trigger(): void {
    this.woken = true;
    this.wake?.abort();
  }

  /** Stops after the current iteration (its signal is aborted) and resolves once it returned. */
  async stop(): Promise<void> {
    const controller = this.controller;
    if (!controller) return;
    controller.abort();
    this.wake?.abort();
    await this.running;
    this.controller = undefined;
    this.running = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    const backoff = this.opts.errorBackoff ?? { baseMs: this.opts.intervalMs, maxMs: 30_000 };
    while (!signal.aborted) {
      let delay = this.opts.intervalMs;
      try {
        const next = await this.body(signal);
        this.failures = 0;
        if (next === 'again') delay = 0;
      } catch (err) {
        if (signal.aborted) break;
        this.failures += 1;
        delay = backoffDelay(this.failures - 1, backoff, this.opts.random);
        this.opts.logger?.warn({ err, loop: this.name, failures: this.failures, retryInMs: delay }, 'loop iteration failed');
      }
      if (signal.aborted) break;
      if (this.woken) {
        this.woken = false;
        delay = 0;
      }
      if (delay > 0) {
        const wake = new AbortController();
        this.wake = wake;
        await this.clock.sleep(delay, AbortSignal.any([signal, wake.signal]));
        this.wake = undefined;
        this.woken = false;
      }
    }
  }
}
