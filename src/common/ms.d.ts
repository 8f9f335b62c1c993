/**
 * Types for `ms` as this project loads it: the package declares its types without an `exports` condition,
 * so TypeScript's node16/nodenext resolution finds its code but not its types. The grammar is the one
 * Temporal's Duration strings follow ("72 hours", "30 minutes"); only the parse direction is used.
 */
declare module 'ms' {
  /** A duration such as "72 hours", "30 minutes" or "500ms". */
  export type StringValue = string;
  /** Milliseconds in a duration (NaN for text that is none). */
  function ms(value: StringValue): number;
  export default ms;
}
