/**
 * A transport reads a URI's bytes under the source policy: it checks the URI when a run is requested,
 * opens the resource's bytes when the run reads it (checking again: the two may run on different
 * machines, and DNS answers and symlinks change), and fingerprints it for noticing new data.
 */
import type { SourcePolicy } from '../source-policy';
import type { ByteSource } from '../byte-source';

export interface OpenOptions {
  /** The format reads the resource whole: refuse it beyond this many bytes, before it fills a disk. */
  maxBytes?: number;
  /** Hears how many bytes have been read or downloaded so far (heartbeats). */
  onBytes?: (bytes: number) => void;
  /** The format reads a folder of files as one source: a local folder is opened, not refused. */
  folders?: boolean;
  /** Bytes a download leaves free on the disk it is saved to (default: 1 GiB or 5% of the disk, whichever is more). */
  keepFreeBytes?: number;
}

/** An opened resource; `close` removes whatever the transport kept for it (downloads). */
export interface OpenedSource extends ByteSource {
  close(): Promise<void>;
}

export interface Transport {
  /** The source kind dataset versions record. */
  readonly kind: string;
  /** Whether the URI is this transport's to read. */
  handles(uri: string): boolean;
  /** Checks the URI before a run starts; returns it as the run should record it. Refusals are SourceRefused. */
  check(uri: string, policy: SourcePolicy): Promise<string>;
  /** The resource's bytes; SourceError when it cannot be read, SourceRefused when the policy forbids it. */
  open(uri: string, policy: SourcePolicy, o: OpenOptions): Promise<OpenedSource>;
  /** A cheap fingerprint of the resource's current state (size and time, ETag), or undefined. */
  watermark(uri: string, policy: SourcePolicy): Promise<string | undefined>;
  /** Whether the URI names a local folder (read as Parquet files when the source names no format). */
  isFolder?(uri: string, policy: SourcePolicy): Promise<boolean>;
}
