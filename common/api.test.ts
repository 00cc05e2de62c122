import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isApiError, isErrorCode } from './api';

describe('isErrorCode', () => {
  it.each(ERROR_CODES)('accepts "%s"', (code) => {
    expect(isErrorCode(code)).toBe(true);
  });

  it.each(['', 'NOT_FOUND', 'timeout', 404, null, undefined])('rejects %j', (value) => {
    expect(isErrorCode(value)).toBe(false);
  });
});

describe('isApiError', () => {
  it('accepts a complete error', () => {
    expect(isApiError({ code: 'not-found', message: 'project "demo" not found', details: { project: 'demo' } })).toBe(true);
  });

  it('rejects an unknown code', () => {
    expect(isApiError({ code: 'teapot', message: 'short and stout', details: {} })).toBe(false);
  });

  it('rejects missing details', () => {
    expect(isApiError({ code: 'internal', message: 'failed' })).toBe(false);
  });

  it('rejects array details', () => {
    expect(isApiError({ code: 'internal', message: 'failed', details: [] })).toBe(false);
  });

  it('rejects a non-string message', () => {
    expect(isApiError({ code: 'internal', message: 42, details: {} })).toBe(false);
  });

  it('rejects an Error instance', () => {
    expect(isApiError(new Error('failed'))).toBe(false);
  });
});
