import { describe, expect, it } from 'vitest';
import { isApiError, OPERATION_NAMES, type ApiError, type InspectRequest, type OperationName } from './api';
import { describeValue, isAbsolutePath, MAX_TEXT_LENGTH, parseRequest, REQUEST_PARSERS } from './requests';

/** Runs a parser and returns the ApiError it throws; fails the test when it accepts the value. */
function rejectionOf(operation: OperationName, raw: unknown): ApiError {
  try {
    parseRequest(operation, raw);
  } catch (error) {
    expect(isApiError(error)).toBe(true);
    return error as ApiError;
  }
  throw new Error(`${operation} accepted ${JSON.stringify(raw)}`);
}

const VALID_INSPECT: InspectRequest = {
  text: 'the jury said the money',
  lambda: 0.8,
  selection: { layer: 1, head: 'mean' },
  seed: 7,
  continuationTokens: 16,
};

describe('REQUEST_PARSERS', () => {
  it('has a parser for every operation', () => {
    expect(Object.keys(REQUEST_PARSERS).sort()).toEqual([...OPERATION_NAMES].sort());
  });
});

describe('operations without a request', () => {
  const operations: OperationName[] = ['appVersion', 'status', 'recentProjects', 'openDemoProject', 'referenceExamples'];

  for (const operation of operations) {
    it(`${operation} accepts no request`, () => {
      expect(parseRequest(operation, undefined)).toBeUndefined();
    });

    it(`${operation} rejects a value`, () => {
      for (const raw of [null, {}, 'x', 0, []]) {
        const error = rejectionOf(operation, raw);
        expect(error.code).toBe('invalid-request');
        expect(error.message).toContain(operation);
      }
    });
  }
});

describe('createProject', () => {
  const valid = { folder: '/home/analyst/contracts', name: 'Contracts', corpus: 'brown' };

  it('accepts the Brown corpus', () => {
    expect(parseRequest('createProject', valid)).toEqual(valid);
  });

  it('accepts a corpus folder and a Windows path', () => {
    const request = { folder: 'C:\\Users\\analyst\\contracts', name: 'Contracts', corpus: 'D:/corpora/contracts' };
    expect(parseRequest('createProject', request)).toEqual(request);
  });

  it('rejects a relative folder', () => {
    const error = rejectionOf('createProject', { ...valid, folder: 'contracts' });
    expect(error.code).toBe('invalid-request');
    expect(error.details.field).toBe('folder');
    expect(error.message).toContain('absolute folder path');
    expect(error.message).toContain('"contracts"');
  });

  it('rejects an empty folder', () => {
    expect(rejectionOf('createProject', { ...valid, folder: '' }).details.field).toBe('folder');
  });

  it('rejects a blank name', () => {
    const error = rejectionOf('createProject', { ...valid, name: '   ' });
    expect(error.details.field).toBe('name');
    expect(error.message).toContain('non-empty string');
  });

  it('rejects a corpus that is neither brown nor a path', () => {
    const error = rejectionOf('createProject', { ...valid, corpus: 'reuters' });
    expect(error.details.field).toBe('corpus');
    expect(error.message).toContain('"brown"');
  });

  it('rejects a missing field', () => {
    expect(rejectionOf('createProject', { folder: valid.folder, name: valid.name }).details.field).toBe('corpus');
  });

  it('rejects an unexpected field', () => {
    const error = rejectionOf('createProject', { ...valid, overwrite: true });
    expect(error.details.field).toBe('overwrite');
    expect(error.message).toContain('remove it');
  });

  it('rejects a request that is not an object', () => {
    for (const raw of [undefined, null, 'folder', [valid]]) {
      expect(rejectionOf('createProject', raw).message).toContain('must be an object');
    }
  });
});

describe('openProject', () => {
  it('accepts an absolute folder', () => {
    expect(parseRequest('openProject', { folder: '/srv/projects/demo' })).toEqual({ folder: '/srv/projects/demo' });
  });

  it('rejects a relative or non-string folder', () => {
    for (const folder of ['projects/demo', './demo', 42, null, undefined]) {
      expect(rejectionOf('openProject', { folder }).details.field).toBe('folder');
    }
  });

  it('rejects a path with a NUL character', () => {
    expect(rejectionOf('openProject', { folder: '/srv/demo\0.txt' }).details.field).toBe('folder');
  });
});

describe('startTraining', () => {
  it('accepts both presets', () => {
    expect(parseRequest('startTraining', { preset: 'demo' })).toEqual({ preset: 'demo' });
    expect(parseRequest('startTraining', { preset: 'quick' })).toEqual({ preset: 'quick' });
  });

  it('rejects another preset', () => {
    const error = rejectionOf('startTraining', { preset: 'full' });
    expect(error.details.field).toBe('preset');
    expect(error.message).toBe('startTraining: preset must be one of "demo", "quick", but received "full"');
  });
});

describe('cancelJob', () => {
  it('accepts a job id', () => {
    expect(parseRequest('cancelJob', { jobId: 'job-1' })).toEqual({ jobId: 'job-1' });
  });

  it('rejects an empty or numeric job id', () => {
    expect(rejectionOf('cancelJob', { jobId: '' }).details.field).toBe('jobId');
    expect(rejectionOf('cancelJob', { jobId: 1 }).details.field).toBe('jobId');
  });
});

describe('inspect', () => {
  it('accepts a valid request', () => {
    expect(parseRequest('inspect', VALID_INSPECT)).toEqual(VALID_INSPECT);
  });

  it('accepts the bounds of every range', () => {
    const low = { ...VALID_INSPECT, lambda: 0, seed: -3, continuationTokens: 1, selection: { layer: 0, head: 0 } };
    const high = { ...VALID_INSPECT, lambda: 1, continuationTokens: 64, text: 'x'.repeat(MAX_TEXT_LENGTH) };
    expect(parseRequest('inspect', low)).toEqual(low);
    expect(parseRequest('inspect', high)).toEqual(high);
  });

  it('accepts the mean over layers and heads', () => {
    const request = { ...VALID_INSPECT, selection: { layer: 'mean', head: 'mean' } };
    expect(parseRequest('inspect', request)).toEqual(request);
  });

  it('rejects lambda outside [0, 1]', () => {
    for (const lambda of [-0.1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '0.5', null]) {
      const error = rejectionOf('inspect', { ...VALID_INSPECT, lambda });
      expect(error.details.field).toBe('lambda');
      expect(error.message).toContain('a number in [0, 1]');
    }
  });

  it('names the received lambda', () => {
    expect(rejectionOf('inspect', { ...VALID_INSPECT, lambda: 1.5 }).message).toBe(
      'inspect: lambda must be a number in [0, 1], but received 1.5',
    );
  });

  it('rejects empty, blank and oversized text', () => {
    for (const text of ['', ' \n ', 'x'.repeat(MAX_TEXT_LENGTH + 1), 12]) {
      const error = rejectionOf('inspect', { ...VALID_INSPECT, text });
      expect(error.details.field).toBe('text');
      expect(error.message).toContain('at most 100,000 characters');
    }
  });

  it('summarizes long text instead of repeating it', () => {
    const error = rejectionOf('inspect', { ...VALID_INSPECT, text: 'x'.repeat(MAX_TEXT_LENGTH + 1) });
    expect(error.message.length).toBeLessThan(300);
    expect(error.message).toContain('a string of 100001 characters');
  });

  it('rejects a bad layer or head', () => {
    for (const value of [-1, 1.5, 'all', null, '0']) {
      expect(rejectionOf('inspect', { ...VALID_INSPECT, selection: { layer: value, head: 0 } }).details.field).toBe('selection.layer');
      expect(rejectionOf('inspect', { ...VALID_INSPECT, selection: { layer: 0, head: value } }).details.field).toBe('selection.head');
    }
  });

  it('rejects a selection that is not an object', () => {
    expect(rejectionOf('inspect', { ...VALID_INSPECT, selection: [0, 0] }).details.field).toBe('selection');
  });

  it('rejects an unexpected selection field', () => {
    const error = rejectionOf('inspect', { ...VALID_INSPECT, selection: { layer: 0, head: 0, block: 2 } });
    expect(error.details.field).toBe('selection.block');
  });

  it('rejects a seed that is not an integer', () => {
    for (const seed of [0.5, '7', Number.MAX_SAFE_INTEGER + 2, undefined]) {
      expect(rejectionOf('inspect', { ...VALID_INSPECT, seed }).details.field).toBe('seed');
    }
  });

  it('rejects continuation lengths outside 1 to 64', () => {
    for (const continuationTokens of [0, 65, 2.5, '16']) {
      const error = rejectionOf('inspect', { ...VALID_INSPECT, continuationTokens });
      expect(error.details.field).toBe('continuationTokens');
      expect(error.message).toContain('an integer from 1 to 64');
    }
  });

  it('rejects an object with a prototype other than Object', () => {
    class Disguised {
      text = VALID_INSPECT.text;
    }
    expect(rejectionOf('inspect', new Disguised()).message).toContain('must be an object');
  });
});

describe('reference examples', () => {
  it('pinReferenceExample accepts text', () => {
    expect(parseRequest('pinReferenceExample', { text: 'the court paid' })).toEqual({ text: 'the court paid' });
  });

  it('pinReferenceExample rejects empty text', () => {
    expect(rejectionOf('pinReferenceExample', { text: '' }).details.field).toBe('text');
  });

  it('unpinReferenceExample accepts an id', () => {
    expect(parseRequest('unpinReferenceExample', { id: 'example-3' })).toEqual({ id: 'example-3' });
  });

  it('unpinReferenceExample rejects a missing id', () => {
    expect(rejectionOf('unpinReferenceExample', {}).details.field).toBe('id');
  });
});

describe('isAbsolutePath', () => {
  it('accepts POSIX, drive and UNC paths', () => {
    for (const path of ['/', '/home/a', 'C:\\a', 'c:/a', '\\\\server\\share\\a']) expect(isAbsolutePath(path)).toBe(true);
  });

  it('rejects relative paths', () => {
    for (const path of ['', 'a', './a', '../a', 'C:a', '\\a']) expect(isAbsolutePath(path)).toBe(false);
  });
});

describe('describeValue', () => {
  it('names the kind of value', () => {
    expect(describeValue(undefined)).toBe('nothing');
    expect(describeValue([1, 2])).toBe('an array of 2 items');
    expect(describeValue({ a: 1 })).toBe('an object');
    expect(describeValue(() => 1)).toBe('a value of type function');
  });
});
