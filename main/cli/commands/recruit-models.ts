/**
 * `localist recruit --level model`: trains a LoRA specialist per domain of
 * the parent's corpus, keeps those that pay for themselves in nats, and
 * writes them with a model set file (models.json) that `localist route` reads.
 */
import { existsSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ModelRecruitResult } from '../../engine/jobs';
import type { ModelRecruitmentOptions, SpecialistRecord } from '../../engine/recruit-models';
import { formatFixed, formatInteger, ProgressReporter, renderTable, type Column } from '../format';
import { parseInteger, parseReal, stringValue, UsageError, type OptionValues } from '../options';
import { displayPath, prepareOutputPath } from '../paths';
import { InterruptHandler, print, printJson, runModelRecruitJob } from '../session';
import { defaultReplicas } from './train';

/** Options that only block recruitment reads. */
export const BLOCK_ONLY_OPTIONS = ['records', 'rounds', 'max-blocks', 'clusters', 'min-count'];
/** Options that only model recruitment reads. */
export const MODEL_ONLY_OPTIONS = ['workers', 'rank', 'output-bias', 'batch-size', 'learning-rate', 'domains', 'sample-tokens', 'held-out-tokens'];

function signed(value: number, digits: number): string {
  return `${value >= 0 ? '+' : ''}${formatFixed(value, digits)}`;
}

/** Renders one row per trained domain: size, gain, cost, held-out change and decision. */
export function renderSpecialistRecords(records: SpecialistRecord[]): string {
  if (records.length === 0) return 'No domain had enough text to train a specialist.';
  const columns: Column[] = [
    { header: 'domain' },
    { header: 'N_d tokens', align: 'right' },
    { header: 'NLL change on E_d', align: 'right' },
    { header: 'gain (nats)', align: 'right' },
    { header: 'cost (nats)', align: 'right' },
    { header: 'held-out NLL change', align: 'right' },
    { header: 'decision' },
  ];
  const rows = records.map((record) => [
    record.domain,
    formatInteger(record.trainingTokens),
    signed(record.specialistSampleNll - record.baselineSampleNll, 4),
    formatFixed(record.gain, 0),
    formatFixed(record.cost, 0),
    record.specialistHeldOutNll === null || record.baselineHeldOutNll === null
      ? 'none'
      : signed(record.specialistHeldOutNll - record.baselineHeldOutNll, 4),
    record.decision,
  ]);
  return renderTable(columns, rows);
}

function renderRouting(result: ModelRecruitResult): string {
  if (result.routing.length === 0) return 'No test document to route.';
  const columns: Column[] = [
    { header: 'test documents of' },
    { header: 'count', align: 'right' },
    { header: 'to own specialist', align: 'right' },
    { header: 'to parent', align: 'right' },
    { header: 'to another', align: 'right' },
    { header: 'prefix NLL routed / parent', align: 'right' },
  ];
  const rows = result.routing.map((summary) => [
    summary.domain,
    String(summary.documents),
    summary.hasSpecialist ? String(summary.toOwnSpecialist) : '-',
    String(summary.toParent),
    String(summary.toOtherSpecialist),
    `${formatFixed(summary.routedNll, 3)} / ${formatFixed(summary.parentNll, 3)}`,
  ]);
  return renderTable(columns, rows);
}

export function renderModelRecruit(result: ModelRecruitResult): string {
  const earned = result.specialists.map((file) => file.domain);
  const minutes = result.seconds / 60;
  return [
    `Model recruitment on ${result.backend} with ${result.workers} worker(s) in ${formatFixed(minutes, 1)} min: ` +
      `P_spec ${formatInteger(result.parameters)} parameters, cost (P_spec / 2) ln N_d per domain`,
    ...result.backendSkipped.map((reason) => `  skipped: ${reason}`),
    '',
    renderSpecialistRecords(result.records),
    ...(result.skippedDomains.length > 0
      ? ['', `Too little training text for one context window (${result.minimumDomainTokens} tokens), so no specialist was trained: ${result.skippedDomains.join(', ')}`]
      : []),
    '',
    earned.length === 0
      ? 'No domain earned a specialist; every domain stays with the parent.'
      : `Earned a specialist: ${earned.join(', ')}`,
    '',
    'Routing of the test documents with their labels hidden (lowest NLL on the first 64 tokens):',
    renderRouting(result),
    '',
    `Model set: ${displayPath(result.modelSet)}`,
    `Records: ${displayPath(result.recordsPath)}`,
    `Routing log: ${displayPath(result.routingPath)}`,
  ].join('\n');
}

/**
 * Resolves the output folder, creates it and checks that it can take files.
 * Rejects a file path and a folder with anything in it, because recruitment
 * writes files of fixed names there. Returns whether this call created it.
 */
async function prepareOutputFolder(path: string, label: string): Promise<{ folder: string; created: boolean }> {
  const folder = resolve(path);
  const existed = existsSync(folder);
  if (existed && !statSync(folder).isDirectory()) {
    throw new UsageError(`${label} is a file, not a folder; pass --out with a folder path`);
  }
  if (existed) {
    const entries = readdirSync(folder);
    if (entries.includes('models.json')) {
      throw new UsageError(`${label} already contains a model set (models.json); pass --out with a new folder, or move that one away first`);
    }
    if (entries.length > 0) {
      throw new UsageError(`${label} is not empty (${entries.slice(0, 3).join(', ')}); pass --out with a new or empty folder`);
    }
  }
  await prepareOutputPath(join(folder, 'models.json'), { label, fix: 'pass --out with a folder you can write to' });
  return { folder, created: !existed };
}

/** Removes an output folder that this run created, if nothing was written into it. */
function removeIfEmpty(folder: string): void {
  try {
    if (readdirSync(folder).length === 0) rmdirSync(folder);
  } catch {
    // The folder is gone or cannot be read; there is nothing to clean up.
  }
}

/** Parses an optional integer option >= 1, or returns undefined when it is absent. */
export function integerOption(values: OptionValues, name: string, example: number): number | undefined {
  const text = stringValue(values, name);
  return text === undefined ? undefined : parseInteger(name, text, 1, example);
}

function modelOptions(values: OptionValues): Partial<ModelRecruitmentOptions> {
  const real = (name: string, min: number, example: string, minExclusive = false) => {
    const text = stringValue(values, name);
    return text === undefined ? undefined : parseReal(name, text, { min, example, minExclusive });
  };
  const domainsText = stringValue(values, 'domains');
  const domains = domainsText?.split(',').map((domain) => domain.trim()).filter((domain) => domain.length > 0);
  if (domains && domains.length === 0) throw new UsageError(`--domains "${domainsText}" names no domain; list domains separated by commas, such as news,learned`);
  const options: Partial<ModelRecruitmentOptions> = {
    stepsPerSpecialist: integerOption(values, 'steps', 200),
    rank: integerOption(values, 'rank', 2),
    outputBias: values['output-bias'] === true ? true : undefined,
    batchSize: integerOption(values, 'batch-size', 16),
    learningRate: real('learning-rate', 0, '0.003', true),
    sampleTokens: integerOption(values, 'sample-tokens', 16384),
    heldOutTokens: integerOption(values, 'held-out-tokens', 8192),
    delta: real('delta', 0, '1'),
    domains,
  };
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

export async function runModelRecruitment(values: OptionValues, checkpointText: string): Promise<number> {
  for (const name of BLOCK_ONLY_OPTIONS) {
    if (values[name] !== undefined) throw new UsageError(`--${name} applies to --level block only; drop it, or use --level block`);
  }
  // Options are checked before the output folder is created, so a typo leaves nothing behind.
  const options = modelOptions(values);
  const workers = integerOption(values, 'workers', 2) ?? defaultReplicas();
  const checkpoint = resolve(checkpointText);
  if (!existsSync(checkpoint)) {
    throw new UsageError(`checkpoint "${checkpointText}" was not found; pass a checkpoint written by "localist train"`);
  }
  const outText = stringValue(values, 'out');
  const defaultOut = join(dirname(checkpoint), `${basename(checkpoint).replace(/\.localist$/, '')}.specialists`);
  const { folder: outputFolder, created } = await prepareOutputFolder(outText ?? defaultOut, `--out "${outText ?? defaultOut}"`);
  const interrupts = new InterruptHandler('cancelling model recruitment; nothing is written and the parent stays as it is');
  let result: ModelRecruitResult;
  try {
    result = await runModelRecruitJob(
      { kind: 'recruit', level: 'model', checkpoint, outputFolder, options, workers },
      { signal: interrupts.signal, reporter: new ProgressReporter(process.stderr, { plainShare: 0.25 }) },
    );
  } catch (error) {
    if (created) removeIfEmpty(outputFolder);
    throw error;
  } finally {
    interrupts.dispose();
  }
  if (values.json) printJson(result);
  else print(renderModelRecruit(result));
  return 0;
}
