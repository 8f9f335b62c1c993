/** A source that cannot be read; `retryable` says whether trying again later might work. */
export class SourceError extends Error {
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}
