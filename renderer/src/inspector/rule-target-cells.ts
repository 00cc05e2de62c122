import type { RuleTargetCell } from '../../../common/api';
import type { HeatmapCell } from '../heatmap/heatmap-figure';

/** Returns the token-heatmap cells of the rule targets: row is the query, column the key. */
export function tokenTargetCells(ruleTargets: readonly RuleTargetCell[]): HeatmapCell[] {
  const seen = new Set<string>();
  const cells: HeatmapCell[] = [];
  for (const { query, key } of ruleTargets) {
    const id = `${query},${key}`;
    if (seen.has(id)) continue;
    seen.add(id);
    cells.push({ row: query, column: key });
  }
  return cells;
}

/**
 * Returns the block-heatmap cells that contain a rule target: the block of
 * the query token against the block of the key token, each cell once.
 */
export function blockTargetCells(ruleTargets: readonly RuleTargetCell[], tokenBlocks: readonly number[]): HeatmapCell[] {
  const seen = new Set<string>();
  const cells: HeatmapCell[] = [];
  for (const { query, key } of ruleTargets) {
    const row = tokenBlocks[query];
    const column = tokenBlocks[key];
    if (row === undefined || column === undefined) continue;
    const id = `${row},${column}`;
    if (seen.has(id)) continue;
    seen.add(id);
    cells.push({ row, column });
  }
  return cells;
}
