import { describe, expect, it } from 'vitest';
import { isAllowedRequestUrl } from './window-security';

describe('isAllowedRequestUrl in a build', () => {
  it('allows the app protocol and page-made URLs', () => {
    for (const url of ['app://workbench/index.html', 'data:image/png;base64,AAAA', 'blob:app://workbench/1234', 'devtools://devtools/bundled/x.html']) {
      expect(isAllowedRequestUrl(url, null)).toBe(true);
    }
  });

  it('blocks remote and local content', () => {
    for (const url of ['https://evil.example/script.js', 'http://127.0.0.1:8080/', 'ws://localhost:5173/', 'file:///etc/passwd', 'not a url']) {
      expect(isAllowedRequestUrl(url, null)).toBe(false);
    }
  });
});

describe('isAllowedRequestUrl in development', () => {
  const server = 'http://localhost:5173/';

  it('allows the development server and its hot-reload socket', () => {
    expect(isAllowedRequestUrl('http://localhost:5173/src/main.tsx', server)).toBe(true);
    expect(isAllowedRequestUrl('ws://localhost:5173/', server)).toBe(true);
  });

  it('blocks other hosts and ports', () => {
    expect(isAllowedRequestUrl('http://localhost:5174/', server)).toBe(false);
    expect(isAllowedRequestUrl('https://evil.example/', server)).toBe(false);
  });
});
