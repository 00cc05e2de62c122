export interface LatestOnlyListener<Request, Response> {
  /** Called with the response to the newest request submitted so far, or to an older one after a long silence (see `LatestOnlyOptions`). */
  onResult: (response: Response, request: Request, ticket: number) => void;
  /** Called when the newest request submitted so far failed. */
  onError: (reason: unknown, request: Request, ticket: number) => void;
  /** Called when the runner starts or stops having work running or waiting. */
  onBusyChange?: (busy: boolean) => void;
}

export interface LatestOnlyOptions {
  /**
   * Milliseconds without a delivered result after which a stale response is
   * delivered after all (default Infinity: never). While the dial keeps
   * moving, every response is stale by the time it arrives. This keeps the
   * screen following the dial during a long drag.
   */
  maxSilenceMs?: number;
  /** Clock in milliseconds, replaceable in tests. */
  now?: () => number;
}

/**
 * Runs requests one at a time and delivers only the newest request's
 * response. A request submitted while another runs waits, and replaces any
 * request that was already waiting, so a burst of dial moves sends at most
 * two requests. A response or error whose request is older than the newest
 * submitted one is dropped, except for a response after `maxSilenceMs`.
 * Because requests run one at a time, a delivered response is always newer
 * than every response delivered before it.
 */
export class LatestOnlyRunner<Request, Response> {
  private waiting: { request: Request; ticket: number } | null = null;
  private running = false;
  private latestTicket = 0;
  private disposed = false;
  private lastDeliveryTime: number;
  private readonly maxSilenceMs: number;
  private readonly now: () => number;

  constructor(
    private readonly execute: (request: Request) => Promise<Response>,
    private readonly listener: LatestOnlyListener<Request, Response>,
    options: LatestOnlyOptions = {},
  ) {
    this.maxSilenceMs = options.maxSilenceMs ?? Infinity;
    this.now = options.now ?? (() => performance.now());
    this.lastDeliveryTime = this.now();
  }

  /** Queues `request` as the newest one and returns its ticket, which grows by one per call. */
  submit(request: Request): number {
    this.latestTicket += 1;
    this.waiting = { request, ticket: this.latestTicket };
    if (!this.running) void this.drain();
    return this.latestTicket;
  }

  /** Stops delivering results; a request already running finishes unobserved. */
  dispose(): void {
    this.disposed = true;
    this.waiting = null;
  }

  private async drain(): Promise<void> {
    this.running = true;
    this.listener.onBusyChange?.(true);
    while (this.waiting && !this.disposed) {
      const { request, ticket } = this.waiting;
      this.waiting = null;
      try {
        const response = await this.execute(request);
        const silence = this.now() - this.lastDeliveryTime;
        if (!this.disposed && (ticket === this.latestTicket || silence >= this.maxSilenceMs)) {
          this.lastDeliveryTime = this.now();
          this.listener.onResult(response, request, ticket);
        }
      } catch (reason) {
        if (!this.disposed && ticket === this.latestTicket) this.listener.onError(reason, request, ticket);
      }
    }
    this.running = false;
    if (!this.disposed) this.listener.onBusyChange?.(false);
  }
}
