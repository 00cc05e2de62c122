import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, PAGE_CONTENT_SECURITY_POLICY } from './security-headers';

function directives(policy: string): string[] {
  return policy
    .split(';')
    .map((directive) => directive.trim().replace(/\s+/g, ' '))
    .filter(Boolean);
}

describe('Content-Security-Policy', () => {
  it('matches the meta tag of renderer/index.html', () => {
    const html = readFileSync(resolve(import.meta.dirname, '../renderer/index.html'), 'utf8');
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/i.exec(html);
    expect(meta, 'renderer/index.html has no Content-Security-Policy meta tag').not.toBeNull();
    expect(directives(meta?.[1] ?? '')).toEqual(directives(PAGE_CONTENT_SECURITY_POLICY));
  });

  it('adds frame-ancestors to the header only', () => {
    expect(directives(CONTENT_SECURITY_POLICY)).toEqual([...directives(PAGE_CONTENT_SECURITY_POLICY), "frame-ancestors 'none'"]);
  });

  it('allows no inline script and no eval', () => {
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-eval');
    expect(directives(CONTENT_SECURITY_POLICY)).toContain("default-src 'none'");
  });
});
