import type { ApiError } from '../../common/api';
import { errorTitle } from './api-errors';

/** Shows an API error: a title from its code, its message and its details. */
export function ErrorMessage({ error, onDismiss }: { error: ApiError; onDismiss?: () => void }) {
  const details = Object.entries(error.details);
  return (
    <div className="error-message" role="alert" data-error-code={error.code}>
      <p className="error-title">{errorTitle(error)}</p>
      <p>{error.message}</p>
      {details.length > 0 && (
        <dl className="error-details">
          {details.map(([key, value]) => (
            <div key={key}>
              <dt>{key}</dt>
              <dd>{typeof value === 'string' ? value : JSON.stringify(value)}</dd>
            </div>
          ))}
        </dl>
      )}
      <p className="error-code">Error code: {error.code}</p>
      {onDismiss && (
        <button type="button" className="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}
