/**
 * Routing of documents between a generalist and its specialists. A labelled
 * document goes to its domain's specialist if there is one, else to the
 * parent. An unlabelled one goes to the model with the lowest NLL on its
 * first 64 tokens.
 */
import { appendFile } from 'node:fs/promises';
import { DEFAULT_PREFIX_TOKENS } from './model-set';
import { mean, positionNll, type Scorer } from './sample-windows';
import { DOC_ID } from './tokenizer';



/** A model that documents can be routed to. */
export interface RoutedModel {
  id: string;
  domain: string | null;
  scorer: Scorer;
}

/** One routing decision; NLL values are nats per token. */
export interface RoutingDecision {
  document: string;
  /** The document's domain label, or null when unlabelled. */
  label: string | null;
  /** Id of the model the document goes to. */
  model: string;
  reason: 'label has a specialist' | 'label has no specialist' | 'lowest prefix NLL';
  /** Tokens of the prefix that were scored (0 for labelled documents). */
  prefixTokens: number;
  /** Mean NLL of the prefix under each model, by id, for unlabelled documents. */
  prefixNll: Record<string, number>;
}

/**
 * Returns the mean NLL per token of the first `prefix` predicted tokens of a
 * document, `tokens` being its encoding with the document marker first. The
 * last window is padded after the prefix, which causal attention never reads.
 */
export async function prefixNll(scorer: Scorer, tokens: Int32Array, prefix: number, lambdas: number[]): Promise<{ nll: number; tokens: number }> {
  const count = Math.min(prefix, tokens.length - 1);
  if (count < 1) return { nll: Number.NaN, tokens: 0 };
  const T = scorer.config.model.contextLength;
  const windows = Math.ceil(count / T);
  const stream = new Int32Array(windows * T + 1).fill(DOC_ID);
  stream.set(tokens.subarray(0, Math.min(tokens.length, windows * T + 1)));
  const offsets = Array.from({ length: windows }, (_, index) => index * T);
  const nll = await positionNll(scorer, { stream, offsets, tokens: windows * T }, lambdas);
  return { nll: mean(nll.subarray(0, count)), tokens: count };
}

/**
 * Routes one document. `models` contains the parent (domain null) first and
 * then the specialists. Documents without a word to score go to the parent.
 */
export async function routeDocument(
  models: RoutedModel[],
  document: { id: string; tokens: Int32Array; domain: string | null },
  options: { prefixTokens?: number; lambdas: number[] },
): Promise<RoutingDecision> {
  const parent = models.find((model) => model.domain === null);
  if (!parent) throw new RangeError('routing needs the parent model, whose domain is null');
  if (document.domain !== null) {
    const specialist = models.find((model) => model.domain === document.domain);
    return {
      document: document.id,
      label: document.domain,
      model: (specialist ?? parent).id,
      reason: specialist ? 'label has a specialist' : 'label has no specialist',
      prefixTokens: 0,
      prefixNll: {},
    };
  }
  const prefix = options.prefixTokens ?? DEFAULT_PREFIX_TOKENS;
  const scores: Record<string, number> = {};
  let best = parent;
  let bestNll = Number.POSITIVE_INFINITY;
  let scored = 0;
  for (const model of models) {
    const { nll, tokens } = await prefixNll(model.scorer, document.tokens, prefix, options.lambdas);
    scored = tokens;
    scores[model.id] = nll;
    // Ties keep the earlier model, so the parent wins them.
    if (nll < bestNll) {
      best = model;
      bestNll = nll;
    }
  }
  return { document: document.id, label: null, model: best.id, reason: 'lowest prefix NLL', prefixTokens: scored, prefixNll: scores };
}

/** Routing of one domain's test documents with their labels hidden. */
export interface RoutingSummary {
  domain: string;
  documents: number;
  /** Documents routed to the domain's own specialist, to the parent, and to another specialist. */
  toOwnSpecialist: number;
  toParent: number;
  toOtherSpecialist: number;
  /** Whether the domain has a specialist. */
  hasSpecialist: boolean;
  /** Mean prefix NLL under the chosen models and under the parent alone. */
  routedNll: number;
  parentNll: number;
}

/** Summarizes unlabelled routing decisions by the documents' true domains. */
export function summarizeRouting(decisions: RoutingDecision[], truth: Map<string, string>, specialists: Map<string, string>): RoutingSummary[] {
  const byDomain = new Map<string, RoutingDecision[]>();
  for (const decision of decisions) {
    const domain = truth.get(decision.document);
    if (domain === undefined) continue;
    const list = byDomain.get(domain);
    if (list) list.push(decision);
    else byDomain.set(domain, [decision]);
  }
  return [...byDomain.keys()].sort().map((domain) => {
    const list = byDomain.get(domain) as RoutingDecision[];
    const own = specialists.get(domain);
    let routed = 0;
    let parent = 0;
    for (const decision of list) {
      routed += decision.prefixNll[decision.model];
      parent += decision.prefixNll.parent;
    }
    return {
      domain,
      documents: list.length,
      toOwnSpecialist: own ? list.filter((decision) => decision.model === own).length : 0,
      toParent: list.filter((decision) => decision.model === 'parent').length,
      toOtherSpecialist: list.filter((decision) => decision.model !== 'parent' && decision.model !== own).length,
      hasSpecialist: own !== undefined,
      routedNll: routed / list.length,
      parentNll: parent / list.length,
    };
  });
}

/** Appends decisions to a JSON Lines log, naming the file and the fix when it cannot be written. */
export async function appendRoutingLog(path: string, decisions: RoutingDecision[]): Promise<void> {
  if (decisions.length === 0) return;
  try {
    await appendFile(path, decisions.map((decision) => `${JSON.stringify({ time: new Date().toISOString(), ...decision })}\n`).join(''), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`routing log "${path}" could not be written (${code}); check that its folder exists and is writable`);
  }
}
