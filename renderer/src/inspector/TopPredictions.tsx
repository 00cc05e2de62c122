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
              <span className="probability-value">{(probability * 100).toFixed(1)}%</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
