/** The block recruitment job: recruit blocks into a checkpoint's model and save the result. */
import type { BackendInfo } from './backend';
import { CancelledError } from './engine-errors';
import type { BlockRecruitJob, RecruitResult, WorkerMessage } from './jobs';
import { recruitBlocks } from './recruit-blocks';
import { watchCancel } from './replicas';
import { disposeRun, resumeRun, saveRun } from './trainer';
import type { WorkerInput } from './worker';

export async function runRecruitJob(
  job: BlockRecruitJob,
  input: WorkerInput,
  control: Int32Array,
  backend: BackendInfo,
  post: (message: WorkerMessage) => void,
): Promise<RecruitResult> {
  const start = await resumeRun(job.checkpoint);
  const controller = new AbortController();
  const stopWatching = watchCancel(control, controller);
  try {
    post({ type: 'log', message: `block recruitment on ${backend.name}, ${start.data.streams.train.length} training tokens, ${start.blockTable.blocks.length} blocks to start` });
    const result = await recruitBlocks(
      start,
      { ...job.options, recordsPath: job.recordsPath },
      {
        signal: controller.signal,
        onProgress: (progress) => post({ type: 'recruit-progress', ...progress }),
        onRecord: (record) => post({ type: 'recruit-record', record }),
      },
    );
    try {
      const summary = await saveRun(result.run, job.output, backend.name, input.appVersion);
      return {
        kind: 'recruit',
        backend: backend.name,
        backendSkipped: backend.skipped,
        checkpoint: summary.path,
        sha256: summary.sha256,
        recordsPath: job.recordsPath,
        records: result.records,
        recruited: result.recruited.map((block) => ({ id: block.id, name: block.name, tokens: block.tokens })),
        stopReason: result.stopReason,
        rounds: result.rounds.length,
        trainingTokens: result.trainingTokens,
      };
    } finally {
      disposeRun(result.run);
    }
  } catch (error) {
    if (controller.signal.aborted) throw new CancelledError('recruitment cancelled on request; the input checkpoint is unchanged');
    throw error;
  } finally {
    stopWatching();
    disposeRun(start);
  }
}
