/**
 * Response headers of the workbench's own pages, in Electron's `app:`
 * protocol and in `localist serve`. The Content-Security-Policy repeats the
 * meta tag of renderer/index.html, and a test keeps the two equal, plus
 * `frame-ancestors`, which browsers ignore in a meta tag.
 */

/** The policy of renderer/index.html's meta tag: everything comes from the workbench itself. */
export const PAGE_CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'";

/** The header form of the policy, which also forbids framing the workbench in another page. */
export const CONTENT_SECURITY_POLICY = `${PAGE_CONTENT_SECURITY_POLICY}; frame-ancestors 'none'`;

/** Headers sent with every static file of the workbench. */
export function staticFileHeaders(contentType: string): Record<string, string> {
  return {
    'Content-Type': contentType,
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    // Revalidated on every load, so that a page never mixes files of two builds.
    'Cache-Control': 'no-cache',
  };
}
