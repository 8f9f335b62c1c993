/**
 * What an alert channel is: somewhere a raised alert is delivered (Slack, a signed webhook, ...). The
 * alerter decides whether to send (dedup, rate limit, one attempt at a time) and stores each channel's
 * outcome; a channel only delivers. The channels a process uses are built once, from the settings,
 * by the registry in channels.ts.
 */
import type { WebClient } from '@slack/web-api';
import type { Config } from '../config';

export type Severity = 'info' | 'warning' | 'critical';

/** One alert as stored: what every channel receives. */
export interface Alert {
  id: string;
  /** The problem this alert is about ("monitor:<model>:drift"): the same across its occurrences and its resolution. */
  dedupKey: string;
  severity: Severity;
  title: string;
  summary: string;
  /** The numbers behind the alert, in the order people read them. */
  fields: Record<string, string | number>;
  model: string | null;
  link: string | null;
  createdAt: string;
}

export interface AlertChannel {
  /** Key of this channel's outcome in an alert's `channels` ("slack", "webhook"). */
  readonly name: string;
  /**
   * Delivers one alert. `at` is when this attempt claimed it (sign or stamp with it, not with a clock).
   * Resolves with a receipt worth keeping (Slack: the channel and message ts) or nothing; throws, saying
   * why, when the alert did not arrive. No retries inside: the activity's retry policy decides those.
   */
  send(alert: Alert, at: Date): Promise<string | void>;
  /**
   * Optional, for channels that track incidents (PagerDuty): the problem `key` (an alert's dedupKey) is
   * over — a later check found it clean. Must be safe to call again, and for a key the channel never
   * received. Resolves with a receipt or nothing; throws, saying why, when the channel did not take it.
   * Channels without it (Slack, the webhook) are not told of resolutions.
   */
  resolve?(problem: { key: string; model: string | null }, at: Date): Promise<string | void>;
}

/** What a channel is built from: the alert settings, the process's shared clients, a log for half-set ones. */
export interface ChannelContext {
  alerts: Config['alerts'];
  /** The process's one Slack client, present when SLACK_BOT_TOKEN is set. */
  slack?: WebClient;
  log: (line: string) => void;
  /** Per-call timeout of HTTP channels (default 5 s). */
  httpTimeoutMs?: number;
}

/** A kind of channel: builds it when its settings are present, else returns undefined (logging what is missing). */
export type AlertChannelFactory = (ctx: ChannelContext) => AlertChannel | undefined;
