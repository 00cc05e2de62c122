/**
 * `localist route`: sends documents to the models of a model set. A
 * labelled document goes to its domain's specialist, or to the parent when
 * the domain has none; an unlabelled one goes to the model with the lowest
 * NLL on its first tokens. Every decision can be appended to a JSON Lines log.
 */
import { resolve } from 'node:path';
import { loadTextCorpus } from '../../engine/corpus';
import type { RouteResult } from '../../engine/jobs';
import { formatFixed, ProgressReporter, renderTable, type Column } from '../format';
import { HELP_OPTION, JSON_OPTION, parseCommandArgs, parseInteger, stringValue, UsageError, type Command, type CommandSpec } from '../options';
import { displayPath, prepareOutputPath } from '../paths';
import { InterruptHandler, print, printJson, runRouteJob } from '../session';

const spec: CommandSpec = {
  name: 'route',
  description: [
    'Routes the documents of PATH to the models of a model set. A document in a subfolder of PATH',
    'carries that subfolder as its domain label and goes to the domain\'s specialist, or to the',
    'parent when the domain has none. An unlabelled document goes to the model with the lowest',
    'NLL on its first tokens (--prefix-tokens, 64 by default), and the table shows each model\'s NLL.',
  ],
  positionals: [
    { name: 'MODELSET', description: 'models.json written by "localist recruit --level model"' },
    { name: 'PATH', description: 'a UTF-8 text file, or a folder of them (subfolder names are domain labels)' },
  ],
  options: {
    domain: { type: 'string', value: 'NAME', description: 'label every document with this domain' },
    unlabelled: { type: 'boolean', description: 'ignore subfolder labels and route every document by its prefix NLL' },
    'prefix-tokens': { type: 'string', value: 'N', description: 'tokens of an unlabelled document that are scored', defaultText: 'the model set\'s, 64' },
    log: { type: 'string', value: 'PATH', description: 'JSON Lines file that each decision is appended to' },
    json: JSON_OPTION,
    help: HELP_OPTION,
  },
};

export function renderRoute(result: RouteResult): string {
  const ids = [...new Set(result.decisions.flatMap((decision) => Object.keys(decision.prefixNll)))];
  const columns: Column[] = [
    { header: 'document' },
    { header: 'label' },
    { header: 'model' },
    { header: 'reason' },
    ...ids.map((id): Column => ({ header: `NLL ${id}`, align: 'right' })),
  ];
  const rows = result.decisions.map((decision) => [
    decision.document,
    decision.label ?? '-',
    decision.model,
    decision.reason,
    ...ids.map((id) => (id in decision.prefixNll ? formatFixed(decision.prefixNll[id], 3) : '')),
  ]);
  const lines = [renderTable(columns, rows)];
  if (result.logPath) lines.push('', `Routing log: ${displayPath(result.logPath)}`);
  return lines.join('\n');
}

async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandArgs(spec, argv);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const domain = stringValue(values, 'domain');
  if (domain !== undefined && values.unlabelled) throw new UsageError('--domain and --unlabelled contradict each other; pass one of them');
  if (domain !== undefined && domain.trim() === '') throw new UsageError('--domain is empty; name a domain of the model set, such as news');
  const prefixText = stringValue(values, 'prefix-tokens');
  const prefixTokens = prefixText === undefined ? undefined : parseInteger('prefix-tokens', prefixText, 1, 64);
  const logText = stringValue(values, 'log');
  // The log path is checked before any model loads, so a typo does not cost the whole run.
  const logPath = logText === undefined ? null : await prepareOutputPath(logText, { label: `--log "${logText}"`, fix: 'pass --log with a file path in a folder you can write to' });
  const corpus = await loadTextCorpus(resolve(positionals[1]));
  const documents = corpus.documents.map((document) => ({
    id: document.id,
    text: document.text,
    domain: values.unlabelled ? null : (domain ?? document.domain),
  }));
  const interrupts = new InterruptHandler('cancelling routing');
  let result: RouteResult;
  try {
    result = await runRouteJob(
      { kind: 'route', modelSet: resolve(positionals[0]), documents, logPath, prefixTokens },
      { signal: interrupts.signal, reporter: new ProgressReporter(process.stderr) },
    );
  } finally {
    interrupts.dispose();
  }
  if (values.json) printJson(result);
  else print(renderRoute(result));
  return 0;
}

export const routeCommand: Command = { spec, run };
