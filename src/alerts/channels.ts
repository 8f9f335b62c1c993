/**
 * The alert channel registry: one line per kind of channel. The composition root (stack/runtime.ts)
 * builds the channels the settings configure, and the one Alerter over them, once per process.
 * Adding a channel: a file that exports an AlertChannelFactory (see channel.ts, docs/extending.md)
 * and a line here.
 */
import type { WebClient } from '@slack/web-api';
import type { Pool } from 'pg';
import type { Config } from '../config';
import { Alerter } from './alerter';
import { AlertChannel, AlertChannelFactory, ChannelContext } from './channel';
import { pagerDutyChannel } from './pagerduty';
import { slackChannel } from './slack-alerts';
import { webhookChannel } from './webhook';

export const ALERT_CHANNELS: readonly AlertChannelFactory[] = [slackChannel, webhookChannel, pagerDutyChannel];

/** The channels the settings configure, in registry order; each kind at most once. */
export function alertChannels(ctx: ChannelContext): AlertChannel[] {
  const channels = ALERT_CHANNELS.flatMap((make) => make(ctx) ?? []);
  const names = channels.map((c) => c.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new Error(`two alert channels are called "${twice}"`);
  return channels;
}

/** The process's alerter: the configured channels, the dedup window and the hourly budget. */
export function createAlerter(pool: Pool, alerts: Config['alerts'], o: { slack?: WebClient; log?: (line: string) => void } = {}): Alerter {
  const log = o.log ?? ((line: string) => console.log(line));
  return new Alerter(pool, { channels: alertChannels({ alerts, slack: o.slack, log }), dedupMs: alerts.dedupMs, ratePerHour: alerts.ratePerHour, log });
}
