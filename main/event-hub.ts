/**
 * The services' `EventSink`, fanned out to every transport that listens:
 * the Electron window, the WebSocket clients of `localist serve`, and the
 * serve command's own progress lines.
 */
import type { EventName, Events } from '../common/api';
import type { EventSink } from './services/types';

type Listener = <Name extends EventName>(name: Name, payload: Events[Name]) => void;

export class EventHub implements EventSink {
  private readonly listeners = new Set<Listener>();

  /** Calls `listener` with every event; returns the function that stops it. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Sends an event to every listener. A listener that throws is logged and
   * skipped, so one closed window or socket cannot stop the others or the
   * service that emitted the event.
   */
  emit<Name extends EventName>(name: Name, payload: Events[Name]): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(name, payload);
      } catch (error) {
        console.error(`events: a listener of "${name}" failed`, error);
      }
    }
  }
}
