/** Settings read from the environment: bad values stop the process with the variable's name. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config';
import { makeCa, makeLeaf } from './helpers/certificates';

describe('configuration', () => {
  it('reads the serving settings, with their defaults', () => {
    assert.deepEqual(loadConfig({}).api.microBatch, { windowMs: 0, maxRows: 256 });
    const set = loadConfig({ MLOPS_MICRO_BATCH_WINDOW_MS: '2.5', MLOPS_MICRO_BATCH_MAX_ROWS: '1', MLOPS_MAX_BODY: '512kb' });
    assert.deepEqual(set.api.microBatch, { windowMs: 2.5, maxRows: 1 });
    assert.equal(set.api.maxBody, '512kb');
  });

  it('refuses serving settings out of range or not numbers, naming them', () => {
    for (const [name, value] of [
      ['MLOPS_MICRO_BATCH_WINDOW_MS', '-1'], ['MLOPS_MICRO_BATCH_WINDOW_MS', 'soon'], ['MLOPS_MICRO_BATCH_WINDOW_MS', '5000'],
      ['MLOPS_MICRO_BATCH_MAX_ROWS', '0'], ['MLOPS_MICRO_BATCH_MAX_ROWS', '2.5'], ['MLOPS_MAX_BODY', 'lots'], ['MLOPS_MAX_BODY', '0kb'],
    ]) {
      assert.throws(() => loadConfig({ [name]: value }), (err: Error) => err instanceof ConfigError && err.message.includes(name), `${name}=${value}`);
    }
    // the artifact bucket holds models and datasets: never a source
    assert.throws(() => loadConfig({ MLOPS_S3_BUCKET: 'artifacts', MLOPS_S3_SOURCE_BUCKETS: 'lake,artifacts' }), /may not name the artifact bucket "artifacts"/);
  });

  it('reads where data may come from, with defaults that confine it', () => {
    const defaults = loadConfig({});
    assert.deepEqual(defaults.sources, { dataRoots: [process.cwd()], urlAllow: [], maxUploadBytes: 1024 ** 3 });
    assert.equal(defaults.api.feedbackAuth, 'key');
    const set = loadConfig({ MLOPS_DATA_ROOTS: '/srv/data, /mnt/shared', MLOPS_URL_ALLOW: 'minio.internal:9000,10.0.0.7,[fd00::1]:8080', MLOPS_MAX_UPLOAD: '200mb', MLOPS_FEEDBACK_AUTH: 'open' });
    assert.deepEqual(set.sources, { dataRoots: ['/srv/data', '/mnt/shared'], urlAllow: ['minio.internal:9000', '10.0.0.7', '[fd00::1]:8080'], maxUploadBytes: 200 * 1024 ** 2 });
    assert.equal(set.api.feedbackAuth, 'open');
    const s3 = loadConfig({ MLOPS_S3_SOURCE_BUCKETS: 'lake, raw-data', MLOPS_S3_ENDPOINT: 'http://minio:9000', MLOPS_S3_BUCKET: 'artifacts' });
    assert.deepEqual(s3.sources.s3, { buckets: ['lake', 'raw-data'], artifactBucket: 'artifacts', endpoint: 'http://minio:9000', region: 'us-east-1' });
  });

  it('refuses relative data roots, malformed allow-list entries and bad limits, naming them', () => {
    for (const [name, value] of [
      ['MLOPS_DATA_ROOTS', 'data'], ['MLOPS_DATA_ROOTS', '/srv,./x'], ['MLOPS_URL_ALLOW', 'http://minio:9000'], ['MLOPS_URL_ALLOW', 'host:port'],
      ['MLOPS_URL_ALLOW', 'a/b'], ['MLOPS_MAX_UPLOAD', 'huge'], ['MLOPS_FEEDBACK_AUTH', 'maybe'], ['MLOPS_S3_SOURCE_BUCKETS', 'Not_A_Bucket'],
    ]) {
      assert.throws(() => loadConfig({ [name]: value }), (err: Error) => err instanceof ConfigError && err.message.includes(name), `${name}=${value}`);
    }
  });

  describe('TLS and API key settings for Temporal', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-config-certs-'));
    const ca = makeCa(dir, 'ca');
    const leaf = makeLeaf(dir, ca, 'client');
    const refused = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && pattern.test(err.message), JSON.stringify(env));

    it('reads the PEM files (or PEM text) at start; no setting means plain gRPC', () => {
      assert.equal(loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233' }).temporal.tls, undefined);
      const tls = loadConfig({ TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_TLS_CA: ca.cert, TEMPORAL_TLS_CERT: leaf.cert, TEMPORAL_TLS_KEY: fs.readFileSync(leaf.key, 'utf8'), TEMPORAL_TLS_SERVER_NAME: 'frontend.internal' }).temporal.tls!;
      assert.deepEqual(tls.ca, fs.readFileSync(ca.cert));
      assert.deepEqual(tls.clientCert?.cert, fs.readFileSync(leaf.cert));
      // PEM text from the environment arrives trimmed, as every setting does
      assert.equal(tls.clientCert?.key.toString(), fs.readFileSync(leaf.key, 'utf8').trim());
      assert.equal(tls.serverName, 'frontend.internal');
    });

    it('refuses a certificate without its key, a missing file, a file that is not PEM, and TLS without TEMPORAL_ADDRESS, naming the variable', () => {
      const address = { TEMPORAL_ADDRESS: 'temporal:7233' };
      refused({ ...address, TEMPORAL_TLS_CERT: leaf.cert }, /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
      refused({ ...address, TEMPORAL_TLS_KEY: leaf.key }, /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
      refused({ ...address, TEMPORAL_TLS_CA: path.join(dir, 'missing.pem') }, /TEMPORAL_TLS_CA is neither PEM text nor a readable file: ENOENT/);
      refused({ ...address, TEMPORAL_TLS_CA: leaf.key }, /TEMPORAL_TLS_CA holds no PEM certificate/);
      refused({ ...address, TEMPORAL_TLS_CERT: leaf.cert, TEMPORAL_TLS_KEY: leaf.cert }, /TEMPORAL_TLS_KEY holds no PEM private key/);
      refused({ TEMPORAL_TLS_CA: ca.cert }, /for a Temporal frontend at TEMPORAL_ADDRESS/);
      refused({ TEMPORAL_API_KEY: 'key' }, /for a Temporal frontend at TEMPORAL_ADDRESS/);
    });

  });
});
