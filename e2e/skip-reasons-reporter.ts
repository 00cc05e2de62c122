import type { Reporter, TestCase, TestResult } from '@playwright/test/reporter';

/**
 * Prints, after the run, why tests were skipped, once per reason. The list
 * reporter shows a skipped test only by its title, and a skip reason such
 * as "no Electron binary" is what a reader of the CI log needs.
 */
export default class SkipReasonsReporter implements Reporter {
  private readonly testsByReason = new Map<string, string[]>();

  onTestEnd(test: TestCase, result: TestResult): void {
    if (result.status !== 'skipped') return;
    for (const annotation of test.annotations) {
      if (annotation.type !== 'skip' || !annotation.description) continue;
      const tests = this.testsByReason.get(annotation.description) ?? [];
      tests.push(test.titlePath().filter(Boolean).join(' › '));
      this.testsByReason.set(annotation.description, tests);
    }
  }

  onEnd(): void {
    for (const [reason, tests] of this.testsByReason) {
      console.log(`\n${tests.length} test(s) skipped: ${reason}`);
    }
  }

  printsToStdio(): boolean {
    return true;
  }
}
