/**
 * Durations as Temporal reads them ("72 hours", "30 minutes"): the `ms` grammar that the SDK's Duration
 * type is defined by, at the version the SDK pins, so a workflow's arithmetic on a duration agrees with
 * the timer Temporal sets from the same string. In src/common: workflows import it.
 */
import ms from 'ms';

/** Milliseconds in a duration string; a TypeError for text that is none (as the SDK's own conversion throws). */
export function durationMs(text: string): number {
  const millis = ms(text);
  if (millis == null || Number.isNaN(millis)) throw new TypeError(`Invalid duration string: '${text}'`);
  return millis;
}
