import type { Logger } from 'pino';
import { errors } from '../server/errors.js';
import { answerError, cut } from './answer.js';
import type { Exchange } from './exchange.js';

/**
 * One step of the request path. It reads and fills the exchange, and may answer the client itself (a 400,
 * an interceptor's 429), which ends the stages. It returns nothing, or a promise when it must wait (a
 * shared store, an async hook, the provider).
 */
export interface Stage {
  readonly name: string;
  /** Milliseconds the stage may wait before the request is answered with an error; 0: no limit of its own. */
  readonly deadlineMs: number;
  run(ex: Exchange): void | Promise<void>;
}

/** What the runner counts; `/metrics` shows it. */
export class PipelineFigures {
  /** Requests a stage failed (threw, rejected, or missed its deadline), by stage name. */
  readonly failed: Record<string, number> = {};
  /** Of those, the ones that missed their deadline. */
  deadlinesMissed = 0;
  /** A sink that threw (the client was already answered; the other sinks still ran). */
  sinkFailures = 0;

  failure(stage: string): void {
    this.failed[stage] = (this.failed[stage] ?? 0) + 1;
  }

  figures(): { gateway_errors: number; by_stage: Record<string, number>; deadlines_missed: number; sink_failures: number } {
    let total = 0;
    for (const stage in this.failed) total += this.failed[stage];
    return { gateway_errors: total, by_stage: { ...this.failed }, deadlines_missed: this.deadlinesMissed, sink_failures: this.sinkFailures };
  }
}

class DeadlineMissed extends Error {
  constructor(stage: string, ms: number) {
    super(`stage ${stage} did not finish within ${ms} ms`);
  }
}

/**
 * Runs the stages of one exchange in order, then its finish step, in the manner of fastify's hook runner:
 * synchronous stages run without a promise, a stage that returns one is awaited. Every way a stage can fail
 * (a synchronous throw, a rejection, a missed deadline) ends in the same place: the failure is logged once
 * with the request id and stage, counted, and the client gets the standard 500 `gateway_error` answer (or,
 * if its response had started, a cut connection). The finish step runs exactly once whatever happened, so
 * no exchange is left without an answer, a log line or its sinks.
 */
export class StageRunner {
  constructor(
    private readonly stages: readonly Stage[],
    private readonly finish: (ex: Exchange) => void,
    private readonly figures: PipelineFigures,
    private readonly log: Logger,
  ) {}

  start(ex: Exchange): void {
    this.next(ex, 0);
  }

  private next(ex: Exchange, from: number): void {
    for (let i = from; i < this.stages.length; i++) {
      // A stage answered the client (or the client left): the remaining stages have nothing to do.
      if (ex.answered || ex.res.destroyed) break;
      const stage = this.stages[i];
      ex.stage = stage.name;
      let result: void | Promise<void>;
      try {
        result = stage.run(ex);
      } catch (err) {
        this.fail(ex, err);
        return;
      }
      if (result) {
        this.await(stage, result).then(
          () => this.next(ex, i + 1),
          (err: unknown) => this.fail(ex, err),
        );
        return;
      }
    }
    this.complete(ex);
  }

  private await(stage: Stage, pending: Promise<void>): Promise<void> {
    if (!stage.deadlineMs) return pending;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.figures.deadlinesMissed++;
        reject(new DeadlineMissed(stage.name, stage.deadlineMs));
      }, stage.deadlineMs);
    });
    return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
  }

  private fail(ex: Exchange, err: unknown): void {
    if (ex.finished) {
      this.log.error({ err, request_id: ex.requestId, stage: ex.stage }, 'a stage failed after its exchange was finished');
      return;
    }
    this.figures.failure(ex.stage);
    this.log.error({ err, request_id: ex.requestId, stage: ex.stage }, 'the gateway failed to handle the request');
    ex.failure = 'gateway_error';
    ex.note = `${ex.stage} failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300);
    ex.call?.abort();
    if (ex.answered) cut(ex);
    else answerError(ex, errors.gatewayError(ex.stage));
    this.complete(ex);
  }

  private complete(ex: Exchange): void {
    if (ex.finished) return;
    ex.finished = true;
    if (!ex.answered && ex.res.destroyed) {
      ex.status ||= 499;
      ex.failure ??= 'client_closed';
      ex.note ??= 'client closed the connection';
    } else if (!ex.answered) {
      // Every stage ran and none answered: a bug, but the client still gets an answer.
      this.figures.failure(ex.stage);
      ex.failure = 'gateway_error';
      answerError(ex, errors.gatewayError(ex.stage));
    }
    try {
      this.finish(ex);
    } catch (err) {
      this.figures.sinkFailures++;
      this.log.error({ err, request_id: ex.requestId }, 'finishing the exchange failed');
    }
  }
}
