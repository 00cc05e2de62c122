import { describe, expect, it } from 'vitest';
import type { TrainingState } from '../../common/api';
import { describeTraining, EventLines } from './event-lines';

const RUNNING: TrainingState = { state: 'running', jobId: 'job-1', step: 5, steps: 20, share: 0.25, loss: 6.1, etaSeconds: 11.2 };

describe('describeTraining', () => {
  it('describes a running job', () => {
    expect(describeTraining(RUNNING)).toBe('training job-1: step 5 of 20 (25%), loss 6.100, about 12 s left');
  });

  it('describes a finished and a failed job', () => {
    expect(describeTraining({ state: 'finished', jobId: 'job-1', checkpoint: '/srv/m.localist' })).toBe(
      'training job-1: finished, checkpoint /srv/m.localist',
    );
    expect(describeTraining({ state: 'failed', jobId: 'job-1', error: { code: 'internal', message: 'out of memory', details: {} } })).toBe(
      'training job-1: failed: out of memory',
    );
  });
});

describe('EventLines', () => {
  it('writes nothing for project and theme events', () => {
    const lines: string[] = [];
    const printer = new EventLines((line) => lines.push(line));
    printer.handle('theme', { theme: 'dark' });
    printer.handle('project', { id: 'p', name: 'Demo', folder: '/srv/demo', demo: true, corpus: 'brown', openedAt: '2026-12-05T00:00:00Z' });
    expect(lines).toEqual([]);
  });

  it('limits progress lines to one per interval', () => {
    const lines: string[] = [];
    let time = 0;
    const printer = new EventLines((line) => lines.push(line), 5000, () => time);
    printer.handle('training', RUNNING);
    time = 1000;
    printer.handle('training', { ...RUNNING, step: 6 });
    time = 6000;
    printer.handle('training', { ...RUNNING, step: 7 });
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('step 7 of 20');
  });

  it('always writes a change of state', () => {
    const lines: string[] = [];
    const printer = new EventLines((line) => lines.push(line), 5000, () => 0);
    printer.handle('training', RUNNING);
    printer.handle('training', { state: 'cancelled', jobId: 'job-1' });
    expect(lines).toEqual([describeTraining(RUNNING), 'training job-1: cancelled']);
  });

  it('writes every log event with its level', () => {
    const lines: string[] = [];
    const printer = new EventLines((line) => lines.push(line));
    printer.handle('log', { level: 'warning', message: 'backend wasm', time: '2025-01-01T00:00:00.000Z' });
    expect(lines).toEqual(['warning: backend wasm']);
  });
});
