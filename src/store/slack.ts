/**
 * What the platform keeps of its Slack traffic: messages it posted (keyed, so a retried activity finds
 * the one it already posted instead of posting twice) and interaction deliveries it accepted (so a
 * captured signed request cannot be replayed).
 */
import { Pool } from 'pg';

export interface PostedMessage {
  channel: string;
  ts: string;
}

/** The message posted under `key`, once it was posted. */
export async function postedMessage(pool: Pool, key: string): Promise<PostedMessage | undefined> {
  const { rows } = await pool.query('SELECT channel, ts FROM slack_messages WHERE message_key = $1', [key]);
  return rows[0]?.ts ? { channel: rows[0].channel, ts: rows[0].ts } : undefined;
}

/** Notes that a message is about to be posted under `key` (a crash before `markPosted` leaves it so). */
export async function markPosting(pool: Pool, key: string): Promise<void> {
  await pool.query("INSERT INTO slack_messages (message_key, state) VALUES ($1, 'posting') ON CONFLICT (message_key) DO NOTHING", [key]);
}

export async function markPosted(pool: Pool, key: string, posted: PostedMessage): Promise<void> {
  await pool.query("UPDATE slack_messages SET channel = $2, ts = $3, state = 'posted' WHERE message_key = $1", [key, posted.channel, posted.ts]);
}

export async function markUpdated(pool: Pool, key: string): Promise<void> {
  await pool.query("UPDATE slack_messages SET state = 'updated' WHERE message_key = $1", [key]);
}

/** Records a delivery by its digest; false when it was already recorded (a replay). */
export async function acceptDelivery(pool: Pool, digest: string): Promise<boolean> {
  const fresh = await pool.query('INSERT INTO slack_deliveries (digest) VALUES ($1) ON CONFLICT (digest) DO NOTHING RETURNING 1', [digest]);
  return (fresh.rowCount ?? 0) > 0;
}
