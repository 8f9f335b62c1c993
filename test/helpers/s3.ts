/**
 * A real S3-compatible server for tests: moto's standalone server (PyPI `moto[s3]`), installed on first
 * use into .cache/tools/moto like the Temporal CLI. It speaks the S3 REST protocol, honours
 * `If-None-Match: *`, and keeps objects in memory; it does not check request signatures.
 */
import { ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { TOOLS_DIR } from './temporal';

const MOTO_DIR = path.join(TOOLS_DIR, 'moto');
const PACKAGES = ['moto[s3]==5.2.5', 'flask==3.1.3', 'flask-cors==6.0.5'];

async function ensureMoto(): Promise<void> {
  if (fs.existsSync(path.join(MOTO_DIR, 'moto', 'server.py'))) return;
  await promisify(execFile)('python3', ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-warn-conflicts', '--target', MOTO_DIR, ...PACKAGES], { timeout: 600_000 });
}

export interface S3TestServer {
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startS3Server(): Promise<S3TestServer> {
  await ensureMoto();
  const child: ChildProcess = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', '0'], {
    env: { ...process.env, PYTHONPATH: MOTO_DIR }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => { child.kill(); reject(new Error(`moto did not start within 30 s:\n${log}`)); }, 30_000);
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const match = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      child.stdout!.resume();
      child.stderr!.resume();
      resolve(match[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`moto exited with ${code}:\n${log}`)); });
  });
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  return {
    endpoint,
    credentials,
    async createBucket(name) {
      const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
      await client.send(new CreateBucketCommand({ Bucket: name }));
      client.destroy();
    },
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
