/**
 * Polls `probe` until it returns something other than undefined. Past `timeoutMs` it fails with `what`
 * (a function may describe the last thing seen), so a condition that never comes fails its own test
 * within minutes instead of hanging the file until the runner's timeout.
 */
export async function eventually<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 180_000, everyMs = 100 }: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await probe();
    if (seen !== undefined) return seen;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs / 1000} s: ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
