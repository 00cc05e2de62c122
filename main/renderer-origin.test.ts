import { describe, expect, it } from 'vitest';
import { isRendererUrl, rendererEntryUrl } from './renderer-origin';

describe('rendererEntryUrl', () => {
  it('uses the development server when given', () => {
    expect(rendererEntryUrl('http://localhost:5173')).toBe('http://localhost:5173/');
  });

  it('falls back to the app protocol', () => {
    expect(rendererEntryUrl(undefined)).toBe('app://workbench/index.html');
  });

  it('treats an empty server URL as absent', () => {
    expect(rendererEntryUrl('')).toBe('app://workbench/index.html');
  });
});

describe('isRendererUrl with the app protocol', () => {
  const entry = 'app://workbench/index.html';

  it('accepts the entry page with a hash', () => {
    expect(isRendererUrl('app://workbench/index.html#/projects', entry)).toBe(true);
  });

  it('accepts another path of the app host', () => {
    expect(isRendererUrl('app://workbench/assets/index.js', entry)).toBe(true);
  });

  it('rejects another app host', () => {
    expect(isRendererUrl('app://other/index.html', entry)).toBe(false);
  });

  it('rejects a local file', () => {
    expect(isRendererUrl('file:///home/user/Downloads/page.html', entry)).toBe(false);
  });

  it('rejects a web page', () => {
    expect(isRendererUrl('http://evil.example/index.html', entry)).toBe(false);
  });

  it('rejects an empty URL', () => {
    expect(isRendererUrl('', entry)).toBe(false);
  });
});

describe('isRendererUrl with a built file', () => {
  const entry = 'file:///app/out/renderer/index.html';

  it('accepts the entry file with a hash', () => {
    expect(isRendererUrl('file:///app/out/renderer/index.html#/projects', entry)).toBe(true);
  });

  it('rejects another local file', () => {
    expect(isRendererUrl('file:///home/user/Downloads/page.html', entry)).toBe(false);
  });

  it('rejects a web page', () => {
    expect(isRendererUrl('https://example.com/out/renderer/index.html', entry)).toBe(false);
  });
});

describe('isRendererUrl with a development server', () => {
  const entry = 'http://localhost:5173/';

  it('accepts any path on the same origin', () => {
    expect(isRendererUrl('http://localhost:5173/src/App.tsx', entry)).toBe(true);
  });

  it('rejects another port', () => {
    expect(isRendererUrl('http://localhost:5174/', entry)).toBe(false);
  });

  it('rejects a file page', () => {
    expect(isRendererUrl('file:///app/out/renderer/index.html', entry)).toBe(false);
  });

  it('rejects text that is not a URL', () => {
    expect(isRendererUrl('not a url', entry)).toBe(false);
  });
});
