/**
 * Measures the time from a dial input event until every heatmap has been
 * redrawn with the response to it, and appends it, in milliseconds, to
 * `window.__dialLatencies`, where the dial-latency benchmark and the tests
 * read it. Inputs whose response was dropped as stale record nothing.
 */
export class DialLatencyRecorder {
  private readonly started = new Map<number, { inputTime: number; drawn: Set<string> }>();

  constructor(private readonly heatmapCount: number) {}

  /** Starts timing the response drawn with `revision`. `inputTime` is the input event's `timeStamp`. */
  begin(revision: number, inputTime: number): void {
    this.started.set(revision, { inputTime, drawn: new Set() });
  }

  /** Notes that heatmap `heatmapId` finished drawing `revision`, and records the latency once all have. */
  reportDrawn(revision: number, heatmapId: string): void {
    const entry = this.started.get(revision);
    if (!entry) return;
    entry.drawn.add(heatmapId);
    if (entry.drawn.size < this.heatmapCount) return;

    recordedDialLatencies().push(performance.now() - entry.inputTime);
    // Older revisions will never finish drawing, because newer figures replaced theirs.
    for (const pending of this.started.keys()) {
      if (pending <= revision) this.started.delete(pending);
    }
  }
}

/** Returns `window.__dialLatencies`, creating it on first use. */
export function recordedDialLatencies(): number[] {
  window.__dialLatencies ??= [];
  return window.__dialLatencies;
}
