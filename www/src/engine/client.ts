// The page's side of the engine worker: one request in flight at a time, and "live" requests
// (previews and their insights) replace any queued one of the same lane, so typing never builds
// a backlog: the worker always evaluates the newest definition next.
import type { Answer, Counts, EngineError, Loaded, Preview, Request, SavedMap, SegmentDoc, Suggestions } from './protocol';

type Job = { req: Request; lane: string | null; transfer?: Transferable[]; resolve: (v: unknown) => void; reject: (e: unknown) => void };

/** Thrown in place of a result that a newer request made obsolete. */
export class Superseded extends Error {
  constructor() { super('superseded'); }
}

export class EngineClient {
  private readonly worker: Worker;
  private queue: Job[] = [];
  private inFlight: { id: number; job: Job } | null = null;
  private nextId = 1;

  constructor() {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<Answer>) => this.answered(e.data);
    this.worker.onerror = (e) => {
      const job = this.inFlight?.job;
      this.inFlight = null;
      job?.reject({ code: 'worker_error', path: '', message: e.message } satisfies EngineError);
      this.pump();
    };
  }

  /** Whether a request is being evaluated or waiting. */
  get busy(): boolean {
    return this.inFlight !== null || this.queue.length > 0;
  }

  load(bytes: ArrayBuffer): Promise<Loaded> {
    return this.send({ kind: 'load', bytes }, null, [bytes]) as Promise<Loaded>;
  }
  preview(doc: SegmentDoc, now: string, sample: number, saved: SavedMap, lane = 'preview'): Promise<Preview> {
    return this.send({ kind: 'preview', doc, now, sample, saved }, lane) as Promise<Preview>;
  }
  counts(docs: SegmentDoc[], now: string, saved: SavedMap, lane: string | null = 'counts'): Promise<Counts> {
    return this.send({ kind: 'counts', docs, now, saved }, lane) as Promise<Counts>;
  }
  history(doc: SegmentDoc, nows: string[], saved: SavedMap, lane: string | null = 'history'): Promise<Counts> {
    return this.send({ kind: 'history', doc, nows, saved }, lane) as Promise<Counts>;
  }
  /** Audiences for a goal; a newer request replaces one still waiting. */
  suggest(goal: string, horizon: string, now: string): Promise<Suggestions> {
    return this.send({ kind: 'suggest', goal, horizon, now }, 'suggest') as Promise<Suggestions>;
  }
  /** Drops queued requests of `lane` (their promises reject with `Superseded`). */
  cancel(lane: string): void {
    for (const job of this.queue.filter((j) => j.lane === lane)) job.reject(new Superseded());
    this.queue = this.queue.filter((j) => j.lane !== lane);
  }

  private send(req: Request, lane: string | null, transfer?: Transferable[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (lane) this.cancel(lane);
      this.queue.push({ req, lane, transfer, resolve, reject });
      this.pump();
    });
  }
  private pump(): void {
    if (this.inFlight) return;
    const job = this.queue.shift();
    if (!job) return;
    const id = this.nextId++;
    this.inFlight = { id, job };
    this.worker.postMessage({ id, req: job.req }, job.transfer ?? []);
  }
  private answered(a: Answer): void {
    const current = this.inFlight;
    if (!current || current.id !== a.id) return;
    this.inFlight = null;
    if (a.ok) current.job.resolve(a.result);
    else current.job.reject(a.error);
    this.pump();
  }
}
