/**
 * The model recruitment job. Several workers take tasks (the baseline, then
 * one specialist per domain) from a shared counter and return their
 * measurements. A last stage in one worker then decides, writes the accepted
 * specialists and the model set, and routes the test documents with their
 * labels hidden.
 */
import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackendInfo } from './backend';
import { hashFile } from './checkpoint';
import { ruleMaskBuilder } from './data';
import { CancelledError } from './engine-errors';
import type { ModelRecruitJob, ModelRecruitResult, RecruitTasksResult, RouteJob, RouteResult, SpecialistFile, WorkerMessage } from './jobs';
import { slug } from './recruit-blocks';
import { decideSpecialists, planModelRecruitment, runRecruitTask, taskRun, type RecruitTask } from './recruit-models';
import { claimTask, hasFailed, ReplicaFailedError, watchCancel } from './replicas';
import { ModelSetError, readModelSet, writeModelSet, type ModelSetEntry } from './model-set';
import { appendRoutingLog, routeDocument, summarizeRouting, type RoutedModel, type RoutingDecision } from './routing';
import { restoreAdapterState } from './specialists';
import { disposeRun, loadModel, resumeRun, saveRun, type LoadedModel, type RunState } from './trainer';
import type { WorkerInput } from './worker';

/**
 * File name of a domain's specialist: the domain in lower case, with other
 * characters as "-". Where two of `domains` give the same stem, or a domain
 * gives none, the first 8 hex digits of the domain's SHA-256 follow it, so
 * every domain gets its own file.
 */
export function specialistFileName(domain: string, domains: readonly string[] = [domain]): string {
  const stem = slug(domain);
  const shared = domains.some((other) => other !== domain && slug(other) === stem);
  if (stem && !shared) return `${stem}.localist`;
  const hash = createHash('sha256').update(domain).digest('hex').slice(0, 8);
  return `${stem || 'domain'}-${hash}.localist`;
}

function taskLabel(task: RecruitTask): string {
  return task.kind === 'baseline' ? 'baseline' : task.domain;
}

/** Runs tasks until the shared counter passes the last one. */
export async function runModelRecruitTasks(
  job: ModelRecruitJob,
  input: WorkerInput,
  control: Int32Array,
  backend: BackendInfo,
  post: (message: WorkerMessage) => void,
): Promise<RecruitTasksResult> {
  const parent = await resumeRun(job.checkpoint);
  const controller = new AbortController();
  const stopWatching = watchCancel(control, controller);
  try {
    const plan = planModelRecruitment(parent, job.options);
    if (input.replica === 0) {
      const sizes = plan.domains.map((domain) => `${domain.domain} ${domain.trainingTokens}`).join(', ');
      post({
        type: 'log',
        message: `model recruitment on ${backend.name}: ${plan.tasks.length} tasks on ${job.workers} worker(s), P_spec ${plan.parameters} parameters; training tokens per domain: ${sizes}`,
      });
    }
    const measurements = [];
    for (let index = claimTask(control); index < plan.tasks.length; index = claimTask(control)) {
      if (hasFailed(control)) throw new ReplicaFailedError();
      const task = plan.tasks[index];
      const result = await runRecruitTask(parent, plan, task, {
        signal: controller.signal,
        onProgress: (progress) =>
          post({ type: 'recruit-model-progress', ...progress, tasksDone: Math.min(index, plan.tasks.length), tasks: plan.tasks.length }),
      });
      measurements.push(result);
      post({ type: 'log', message: `${taskLabel(task)}: adapters trained and measured in ${Math.round(result.seconds)} s` });
    }
    return { kind: 'recruit-tasks', backend: backend.name, backendSkipped: backend.skipped, measurements };
  } catch (error) {
    if (controller.signal.aborted) throw new CancelledError('model recruitment cancelled on request; nothing was written');
    throw error;
  } finally {
    stopWatching();
    disposeRun(parent);
  }
}

/** Decides, writes the accepted specialists, the records and the model set, and routes the test documents. */
export async function finishModelRecruitment(
  job: ModelRecruitJob,
  input: WorkerInput,
  control: Int32Array,
  backend: BackendInfo,
  post: (message: WorkerMessage) => void,
): Promise<ModelRecruitResult> {
  const started = performance.now();
  const measurements = job.measurements ?? [];
  const parent = await resumeRun(job.checkpoint);
  const parentSha256 = await hashFile(job.checkpoint);
  const controller = new AbortController();
  const stopWatching = watchCancel(control, controller);
  const specialists: RunState[] = [];
  const written: string[] = [];
  try {
    const plan = planModelRecruitment(parent, job.options);
    const records = decideSpecialists(plan, measurements);
    const recordsPath = join(job.outputFolder, 'records.jsonl');
    const routingPath = join(job.outputFolder, 'routing.jsonl');
    const modelSetPath = join(job.outputFolder, 'models.json');
    // Domains too small for one context window get a line too, so the records list every domain considered.
    const minimumTokens = parent.config.model.contextLength + 1;
    const skipped = plan.domains
      .filter((domain) => domain.sampleTokens === 0)
      .map((domain) => ({ domain: domain.domain, trainingTokens: domain.trainingTokens, decision: 'skipped: too little text', minimumTokens }));
    const lines = [...records, ...skipped].map((record) => `${JSON.stringify(record)}\n`);
    await writeFile(recordsPath, lines.join(''), 'utf8');
    written.push(recordsPath);

    const files: SpecialistFile[] = [];
    const entries: ModelSetEntry[] = [];
    const acceptedDomains = records.filter((record) => record.decision === 'accepted').map((record) => record.domain);
    for (const record of records) {
      if (record.decision !== 'accepted') continue;
      const task: RecruitTask = { kind: 'specialist', domain: record.domain };
      const trained = measurements.find((result) => result.task.kind === 'specialist' && result.task.domain === record.domain);
      if (!trained?.adapters) throw new Error(`no trained adapters came back for domain "${record.domain}"; run the recruitment again`);
      const state = taskRun(parent, plan, task);
      specialists.push(state);
      restoreAdapterState(state, trained.adapters);
      state.step = plan.settings.stepsPerSpecialist;
      const path = join(job.outputFolder, specialistFileName(record.domain, acceptedDomains));
      const metrics = { recruitment: record, parent: { checkpoint: job.checkpoint, sha256: parentSha256 } };
      const summary = await saveRun(state, path, backend.name, input.appVersion, metrics);
      written.push(path);
      files.push({ domain: record.domain, checkpoint: summary.path, sha256: summary.sha256 });
      entries.push({ id: `specialist:${record.domain}`, domain: record.domain, checkpoint: summary.path, sha256: summary.sha256 });
      post({ type: 'log', message: `specialist for "${record.domain}" written: ${summary.path}` });
    }

    await writeModelSet(modelSetPath, {
      version: 1,
      parent: { id: 'parent', domain: null, checkpoint: job.checkpoint, sha256: parentSha256 },
      specialists: entries,
      prefixTokens: 64,
      domains: plan.domains.map((domain) => domain.domain),
    });
    written.push(modelSetPath);

    // Routing check: every test document of the considered domains, with its label hidden.
    const models: RoutedModel[] = [{ id: 'parent', domain: null, scorer: parent }];
    specialists.forEach((state, index) => models.push({ id: entries[index].id, domain: entries[index].domain, scorer: state }));
    const considered = new Set(plan.domains.map((domain) => domain.domain));
    const documents = parent.data.splits.test.filter((document) => document.domain !== null && considered.has(document.domain));
    const decisions: RoutingDecision[] = [];
    for (const [index, document] of documents.entries()) {
      if (controller.signal.aborted) throw new DOMException('cancelled', 'AbortError');
      const tokens = parent.data.tokenizer.encodeDocuments([document.text]);
      decisions.push(await routeDocument(models, { id: document.id, tokens, domain: null }, { lambdas: plan.settings.evaluationLambdas }));
      post({ type: 'recruit-model-progress', task: { kind: 'baseline' }, stage: 'measuring', done: index + 1, total: documents.length, tasksDone: plan.tasks.length, tasks: plan.tasks.length });
    }
    await writeFile(routingPath, '', 'utf8');
    written.push(routingPath);
    await appendRoutingLog(routingPath, decisions);
    const truth = new Map(documents.map((document) => [document.id, document.domain as string]));
    const routing = summarizeRouting(decisions, truth, new Map(entries.map((entry) => [entry.domain as string, entry.id])));

    const trainedDomains = new Set(records.map((record) => record.domain));
    return {
      kind: 'recruit-models',
      backend: backend.name,
      backendSkipped: backend.skipped,
      parent: job.checkpoint,
      parentSha256: parentSha256,
      outputFolder: job.outputFolder,
      modelSet: modelSetPath,
      recordsPath,
      routingPath,
      records,
      skippedDomains: plan.domains.filter((domain) => !trainedDomains.has(domain.domain)).map((domain) => domain.domain),
      minimumDomainTokens: minimumTokens,
      specialists: files,
      parameters: plan.parameters,
      routing,
      workers: job.workers,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    // A half-written set would mislead: remove what this stage wrote.
    await Promise.all(written.map((path) => rm(path, { force: true })));
    if (controller.signal.aborted) throw new CancelledError('model recruitment cancelled on request; nothing was written');
    throw error;
  } finally {
    stopWatching();
    for (const state of specialists) disposeRun(state);
    disposeRun(parent);
  }
}

function scorerOf(loaded: LoadedModel) {
  return { config: loaded.config, modelConfig: loaded.modelConfig, blockTable: loaded.blockTable, buildMasks: ruleMaskBuilder(loaded.compiled), model: loaded.model };
}

async function loadSetMember(modelSetPath: string, entry: ModelSetEntry): Promise<LoadedModel> {
  try {
    return await loadModel(entry.checkpoint);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ModelSetError(`model "${entry.id}" of model set "${modelSetPath}" could not be loaded: ${reason}`);
  }
}

/** Checks that a loaded checkpoint is the model its entry describes: same file, same role, same vocabulary as the parent. */
function checkSetMember(modelSetPath: string, entry: ModelSetEntry, model: LoadedModel, parent: LoadedModel): void {
  const fail = (problem: string): never => {
    throw new ModelSetError(`model "${entry.id}" of model set "${modelSetPath}": ${problem}; restore the files recruitment wrote, or recruit again`);
  };
  if (model.sha256 !== entry.sha256) fail(`checkpoint "${entry.checkpoint}" has SHA-256 ${model.sha256}, not ${entry.sha256} as the model set records`);
  if (entry.domain === null) {
    if (model.modelConfig.adapters) fail(`checkpoint "${entry.checkpoint}" is a specialist, not a generalist parent`);
    return;
  }
  if (!model.modelConfig.adapters) fail(`checkpoint "${entry.checkpoint}" has no adapters, so it is not a specialist`);
  if (model.config.data.domain !== entry.domain) {
    fail(`checkpoint "${entry.checkpoint}" was trained on domain "${model.config.data.domain ?? 'none'}", not "${entry.domain}"`);
  }
  if (JSON.stringify(model.tokenizer.toJSON()) !== JSON.stringify(parent.tokenizer.toJSON())) {
    fail(`checkpoint "${entry.checkpoint}" has another vocabulary than the parent, so it was not recruited from it`);
  }
}

/** Routes documents to the models of a model set. */
export async function runRouteJob(job: RouteJob, backend: BackendInfo): Promise<RouteResult> {
  const set = await readModelSet(job.modelSet);
  const loaded: LoadedModel[] = [];
  try {
    for (const document of job.documents) {
      if (document.domain !== null && !set.domains.includes(document.domain)) {
        throw new RangeError(
          `document "${document.id}" has domain label "${document.domain}", which is not a domain of model set "${job.modelSet}" ` +
            `(${set.domains.map((domain) => `"${domain}"`).join(', ')}); fix the label, or route it unlabelled`,
        );
      }
    }
    const models: RoutedModel[] = [];
    for (const entry of [set.parent, ...set.specialists]) {
      const model = await loadSetMember(job.modelSet, entry);
      loaded.push(model);
      checkSetMember(job.modelSet, entry, model, loaded[0]);
      models.push({ id: entry.id, domain: entry.domain, scorer: scorerOf(model) });
    }
    const parent = loaded[0];
    const lambdas = parent.config.lambdaTrain === 'uniform' ? [0.25, 0.75] : [parent.config.lambdaTrain];
    const decisions: RoutingDecision[] = [];
    for (const document of job.documents) {
      const tokens = parent.tokenizer.encodeDocuments([document.text]);
      decisions.push(await routeDocument(models, { id: document.id, tokens, domain: document.domain }, { prefixTokens: job.prefixTokens ?? set.prefixTokens, lambdas }));
    }
    if (job.logPath) await appendRoutingLog(job.logPath, decisions);
    return { kind: 'route', backend: backend.name, backendSkipped: backend.skipped, modelSet: job.modelSet, decisions, logPath: job.logPath };
  } finally {
    for (const model of loaded) model.model.dispose();
  }
}
