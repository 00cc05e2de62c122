/**
 * Synchronization of data-parallel training replicas through shared memory:
 * a reusable barrier, a stop decision all replicas read at the same step,
 * and an all-reduce that averages gradients.
 *
 * Control words (Int32Array over a SharedArrayBuffer):
 * 0 arrivals at the barrier, 1 barrier generation, 2 cancel request from the
 * host, 3 stop decision for the current step (0 go on, 1 cancelled, 2 time
 * budget spent), 4 failure flag, 5 the schedule's share of the run done, in
 * billionths, 6 the next task of a job whose workers take tasks in turn.
 */
const ARRIVALS = 0;
const GENERATION = 1;
const CANCEL = 2;
const DECISION = 3;
const FAILED = 4;
const PROGRESS = 5;
const NEXT_TASK = 6;
const CONTINUE = 0;
const STOP_CANCELLED = 1;
const STOP_BUDGET = 2;
const PROGRESS_SCALE = 1e9;
export const CONTROL_WORDS = 8;

export class ReplicaFailedError extends Error {
  constructor() {
    super('another engine worker failed; see its error');
    this.name = 'ReplicaFailedError';
  }
}

export function requestCancel(control: Int32Array): void {
  Atomics.store(control, CANCEL, 1);
  Atomics.notify(control, GENERATION);
}

/**
 * Aborts `controller` once the host requests a cancel, polling every 50 ms;
 * returns the function that stops polling. For jobs that run in one worker.
 */
export function watchCancel(control: Int32Array, controller: AbortController): () => void {
  const poll = setInterval(() => {
    if (Atomics.load(control, CANCEL)) controller.abort();
  }, 50);
  return () => clearInterval(poll);
}

/** Returns the index of the next task and advances the shared counter. */
export function claimTask(control: Int32Array): number {
  return Atomics.add(control, NEXT_TASK, 1);
}

/** Returns whether a worker of the job has failed. */
export function hasFailed(control: Int32Array): boolean {
  return Atomics.load(control, FAILED) === 1;
}

export function markFailed(control: Int32Array): void {
  Atomics.store(control, FAILED, 1);
  Atomics.add(control, GENERATION, 1);
  Atomics.notify(control, GENERATION);
}

export class ReplicaGroup {
  readonly replica: number;
  readonly replicas: number;
  private readonly control: Int32Array;
  private readonly slots: Float32Array[];

  /** `gradients` contains one slot of `slotSize` floats per replica. */
  constructor(control: Int32Array, gradients: SharedArrayBuffer, replica: number, replicas: number, slotSize: number) {
    this.control = control;
    this.replica = replica;
    this.replicas = replicas;
    this.slots = Array.from({ length: replicas }, (_, r) => new Float32Array(gradients, r * slotSize * 4, slotSize));
  }

  /** Waits until every replica arrives; throws when one has failed. */
  barrier(): void {
    const generation = Atomics.load(this.control, GENERATION);
    if (Atomics.load(this.control, FAILED)) throw new ReplicaFailedError();
    if (Atomics.add(this.control, ARRIVALS, 1) === this.replicas - 1) {
      Atomics.store(this.control, ARRIVALS, 0);
      Atomics.add(this.control, GENERATION, 1);
      Atomics.notify(this.control, GENERATION);
      return;
    }
    while (Atomics.load(this.control, GENERATION) === generation) {
      Atomics.wait(this.control, GENERATION, generation, 200);
    }
    if (Atomics.load(this.control, FAILED)) throw new ReplicaFailedError();
  }

  /**
   * Agrees on whether to take the next step and on the schedule's progress.
   * Replica 0 reads the host's cancel request and its own clock once, and
   * every replica reads the decision after the same barrier, so all stop at
   * the same step and use the same learning rate.
   * `budgetSpent` and `progress` are read on replica 0 only.
   */
  agree(budgetSpent: boolean, progress: number): { stop: 'cancelled' | 'time-budget' | null; progress: number } {
    if (this.replica === 0) {
      const cancel = Atomics.load(this.control, CANCEL) === 1;
      let decision = CONTINUE;
      if (budgetSpent) decision = STOP_BUDGET;
      if (cancel) decision = STOP_CANCELLED;
      Atomics.store(this.control, DECISION, decision);
      Atomics.store(this.control, PROGRESS, Math.round(Math.min(1, Math.max(0, progress)) * PROGRESS_SCALE));
    }
    this.barrier();
    const decision = Atomics.load(this.control, DECISION);
    const stops = { [CONTINUE]: null, [STOP_CANCELLED]: 'cancelled', [STOP_BUDGET]: 'time-budget' } as const;
    return {
      stop: stops[decision as keyof typeof stops] ?? null,
      progress: Atomics.load(this.control, PROGRESS) / PROGRESS_SCALE,
    };
  }

  /**
   * Writes this replica's values, waits for the others and returns the sum.
   * Each replica's loss is its share of the batch objective, so the sum of
   * their gradients is the gradient of the whole batch.
   */
  allReduceSum(local: Float32Array): Float32Array {
    this.slots[this.replica].set(local);
    this.barrier();
    const sum = new Float32Array(local.length);
    // Every replica adds the slots in the same order, so all get bit-identical sums.
    for (const slot of this.slots) for (let i = 0; i < sum.length; i++) sum[i] += slot[i];
    return sum;
  }
}
