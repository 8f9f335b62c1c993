/**
 * CLI commands that bring models and training code from outside: `import` (an ONNX file, evaluated on
 * data the server reads or a local file uploaded first) and `trainers add|list|remove` (an admin's
 * registered training code).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../config';
import type { Trainer } from '../store/trainers';
import { ApiClient } from './api-client';
import { uploadDataset } from './data-commands';
import { table } from './table';

const enc = encodeURIComponent;
const DATASET_ID = /^[0-9a-f]{64}$/;

export async function runModelCommand(command: string, rest: string[], api: ApiClient, log: (line: string) => void): Promise<{ started?: string } | false> {
  if (command === 'import') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: {
      model: { type: 'string' }, 'eval-data': { type: 'string' }, target: { type: 'string' }, task: { type: 'string' },
      'positive-class': { type: 'string' }, output: { type: 'string' }, feature: { type: 'string', multiple: true }, auto: { type: 'boolean', default: false }, wait: { type: 'boolean', default: false },
    } });
    const file = positionals[0];
    if (!file || !values.model || !values['eval-data'] || !values.target) {
      throw new ConfigError('import needs <model.onnx> --model <name> --eval-data <uri|file|dataset id> --target <column> [--task binary|multiclass|regression] [--feature input=column[,column...]] [--output <graph output>] [--auto] [--wait]');
    }
    if (!fs.existsSync(file)) throw new ConfigError(`import: no such file ${file}`);
    const features: Record<string, string | string[]> = {};
    for (const f of values.feature ?? []) {
      const [input, columns] = f.split('=');
      if (!input || !columns) throw new ConfigError(`--feature takes <graph input>=<column>[,<column>...], got "${f}"`);
      features[input] = columns.includes(',') ? columns.split(',') : columns;
    }
    // a dataset id, a URL (http(s), s3, file) the server reads, or a local file, uploaded first
    let evaluation: unknown;
    const evalData = values['eval-data'];
    if (DATASET_ID.test(evalData)) evaluation = { dataset: evalData };
    else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(evalData)) evaluation = { data: { uri: evalData } };
    else evaluation = { dataset: (await uploadDataset(api, path.resolve(evalData))).id };
    const metadata = {
      evaluation, target: values.target, ...(values.task ? { task: values.task } : {}), ...(values['positive-class'] ? { positiveClass: values['positive-class'] } : {}),
      ...(Object.keys(features).length ? { features } : {}), ...(values.output ? { output: values.output } : {}), ...(values.auto ? { approval: { mode: 'auto' } } : {}),
    };
    const form = new FormData();
    form.append('onnx', await fs.openAsBlob(file), path.basename(file));
    form.append('metadata', JSON.stringify(metadata));
    const started = await api.postForm<{ id: string; uiUrl: string }>(`/v1/models/${enc(values.model)}/versions`, form);
    log(`import ${started.id} started (workflow: ${started.uiUrl}); follow it with: mlops status ${started.id}`);
    return values.wait ? { started: started.id } : {};
  }
  if (command === 'trainers') {
    const [sub, ...args] = rest;
    if (sub === 'list') {
      const { trainers } = await api.get<{ trainers: (Omit<Trainer, 'env'> & { env: string[] })[] }>('/v1/trainers');
      log(trainers.length === 0 ? 'no trainers' : table(['name', 'command', 'timeout', 'env', 'by'], trainers.map((t) => [t.name, t.command.join(' '), `${t.timeoutSeconds} s`, t.env.join(',') || '-', t.createdBy])));
      return {};
    }
    if (sub === 'add') {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { workdir: { type: 'string' }, env: { type: 'string', multiple: true }, timeout: { type: 'string' } } });
      const [name, ...command] = positionals;
      if (!name || command.length === 0) throw new ConfigError('trainers add needs <name> [--workdir <dir>] [--env NAME=value ...] [--timeout <seconds>] -- <program> [<argument> ...]');
      const env = Object.fromEntries((values.env ?? []).map((e) => {
        const at = e.indexOf('=');
        if (at < 1) throw new ConfigError(`--env takes NAME=value, got "${e}"`);
        return [e.slice(0, at), e.slice(at + 1)];
      }));
      const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
      if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) throw new ConfigError(`--timeout takes whole seconds, got "${values.timeout}"`);
      const saved = await api.put<Trainer>(`/v1/trainers/${enc(name)}`, { command, ...(values.workdir ? { workdir: path.resolve(values.workdir) } : {}), env, ...(timeout ? { timeoutSeconds: timeout } : {}) });
      log(`trainer ${saved.name} saved; pipelines name it: "trainer": {"kind": "custom", "name": "${saved.name}"}`);
      return {};
    }
    if (sub === 'remove') {
      if (!args[0]) throw new ConfigError('trainers remove needs <name>');
      await api.request('DELETE', `/v1/trainers/${enc(args[0])}`);
      log(`trainer ${args[0]} removed`);
      return {};
    }
    throw new ConfigError('trainers takes add <name> -- <command...> | list | remove <name>');
  }
  return false;
}
