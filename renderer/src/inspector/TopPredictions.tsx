import type { TokenProbability } from '../../../common/api';

/** Table of the most probable next tokens, each with its probability as a number and a bar. */
export function TopPredictions({ predictions, testId }: { predictions: TokenProbability[]; testId: string }) {
  return (
    <table className="predictions" data-testid={testId}>
      <caption>Next-token predictions</caption>
      <thead>
        <tr>
          <th scope="col">Token</th>
          <th scope="col">Probability</th>
        </tr>
      </thead>
      <tbody>
        {predictions.map(({ token, probability }, rank) => (
          <tr key={`${rank}-${token}`}>
            <td className="prediction-token">{token}</td>
            <td className="prediction-probability">
              <span className="probability-bar" aria-hidden="true">
                <span className="probability-fill" style={{ width: `${Math.min(100, probability * 100)}%` }} />
              </span>
              <span className="probability-value">{formatProbability(probability)}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Formats a probability as a percentage with two significant digits below 1%, so a weak model's values do not all read 0.0%. */
export function formatProbability(probability: number): string {
  const percent = probability * 100;
  if (percent >= 1 || percent === 0) return `${percent.toFixed(1)}%`;
  return `${percent.toPrecision(2)}%`;
}
