/**
 * Importing ONNX models trained elsewhere (src/import/, src/serving/imported-*.ts).
 *
 * The first part trains real models with scikit-learn, LightGBM and PyTorch (examples/export, packages
 * from PyPI installed by the test helper on first use) and holds the imported file, fed and read our
 * way, to what each framework itself predicts for the same evaluation rows: probabilities within 1e-5,
 * the same labels. The second part builds small graphs with onnx-proto to check each refusal and the
 * ZipMap rewrite without Python.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { onnx } from 'onnx-proto';
import { signatureSchema } from '../src/api/response-schemas';
import { DomainError } from '../src/domain/errors';
import { isImported, type ImportedSignature } from '../src/domain/model-version';
import { ApiError } from '../src/errors';
import { OnnxImportError, ImportRefusalReason } from '../src/import/import-error';
import { importOnnxModel, ImportRequest } from '../src/import/import-model';
import { ColumnInfo } from '../src/import/inputs';
import { splitFields } from '../src/import/protobuf-fields';
import { parseCsv } from '../src/ml/csv';
import { createRng } from '../src/ml/random';
import { cellText, Table } from '../src/ml/table';
import { checkImportedInstances, importedFeeds, importedInstances, importedTableRows, joinImportedRows } from '../src/serving/imported-feeds';
import { importedPredictions, runImported, runImportedInstances } from '../src/serving/imported-outputs';
import { createSession } from '../src/serving/onnx-runner';
import { Export, ExportedModel, exportModels } from './helpers/python-export';

const TOLERANCE = 1e-5;

function columnsOf(table: Table): ColumnInfo[] {
  return table.columns.map((c) => ({ name: c.name, kind: c.kind }));
}

/** Table rows as a client sends them: every column, null where missing. */
function rowsAsInstances(table: Table, count: number): Record<string, number | string | null>[] {
  return Array.from({ length: Math.min(count, table.rowCount) }, (_, r) => Object.fromEntries(table.columns.map((c) => {
    if (c.kind === 'string') return [c.name, cellText(c, r)];
    return [c.name, Number.isNaN(c.values[r]) ? null : c.values[r]];
  })));
}

describe('models exported by scikit-learn, LightGBM and PyTorch', { timeout: 45 * 60_000 }, () => {
  let exported: Export;

  before(async () => {
    exported = await exportModels();
    const { base, torch } = exported.installSeconds;
    if (base > 0 || torch > 0) console.log(`# installed the Python packages: base ${base.toFixed(0)} s, torch ${torch.toFixed(0)} s`);
  }, { timeout: 45 * 60_000 });

  after(() => { if (exported) fs.rmSync(exported.dir, { recursive: true, force: true }); });

  /** The exported model, or undefined with the reason it was not made. */
  function model(name: string): { m?: ExportedModel; skip?: string } {
    const m = exported.models.find((x) => x.name === name);
    if (m) return { m };
    const skipped = exported.skipped.find((s) => s.name === name);
    return { skip: skipped ? `${skipped.reason}${exported.torchMissing ? ` (${exported.torchMissing})` : ''}` : `the export script did not write ${name}` };
  }

  async function importExported(m: ExportedModel) {
    const table = parseCsv(fs.readFileSync(path.join(exported.dir, m.data), 'utf8'));
    const request: ImportRequest = {
      bytes: fs.readFileSync(path.join(exported.dir, m.file)),
      target: m.target,
      columns: columnsOf(table),
      features: m.features,
      sample: rowsAsInstances(table, 20),
    };
    const imported = await importOnnxModel(request);
    // what GET /v1/models/:name/versions/:v answers must stay within its published schema
    signatureSchema.parse(imported.signature);
    return { table, request, imported };
  }

  /**
   * Scores every evaluation row as evaluation does (table columns to feeds) and as serving does (JSON
   * instances to feeds), and holds both to the framework's own answers.
   */
  async function assertMatchesFramework(m: ExportedModel, signature: ImportedSignature, bytes: Uint8Array, table: Table) {
    const session = await createSession(bytes);
    try {
      const rows = Int32Array.from({ length: table.rowCount }, (_, i) => i);
      const evaluated = runImported(session, signature, importedFeeds(signature.inputs, importedTableRows(signature, table, rows)), rows.length);
      const instances = importedInstances(signature, table, rows);
      const served = checkImportedInstances(instances, signature, instances.length);
      const predictions = importedPredictions(signature, runImported(session, signature, importedFeeds(signature.inputs, served), served.rows));
      assert.equal(predictions.length, table.rowCount);
      if (m.task === 'regression') {
        for (let i = 0; i < rows.length; i++) {
          const want = m.values![i];
          assert.ok(Math.abs(evaluated.values[i] - want) <= TOLERANCE * Math.max(1, Math.abs(want)), `row ${i}: ${evaluated.values[i]} vs ${m.framework}'s ${want}`);
          assert.equal((predictions[i] as { value: number }).value, evaluated.values[i]);
        }
        return;
      }
      assert.deepEqual(signature.classes, m.classes, 'classes in the framework\'s order');
      let worst = 0;
      for (let i = 0; i < rows.length; i++) {
        const p = predictions[i] as { label: string; probabilities: Record<string, number> };
        m.classes!.forEach((c, k) => {
          const want = m.probabilities![i][k];
          worst = Math.max(worst, Math.abs(evaluated.values[i * evaluated.width + k] - want));
          assert.ok(Math.abs(evaluated.values[i * evaluated.width + k] - want) <= TOLERANCE, `row ${i} class ${c}: ${evaluated.values[i * evaluated.width + k]} vs ${m.framework}'s ${want}`);
          assert.equal(p.probabilities[c], evaluated.values[i * evaluated.width + k], 'serving answers what evaluation scored');
        });
        assert.equal(p.label, m.labels![i], `row ${i}: label`);
      }
      if (evaluated.labels) assert.deepEqual(evaluated.labels, m.labels);
      // the smoke test's view: JSON rows in, probabilities per row out
      const smoke = runImportedInstances(session, signature, instances.slice(0, 5));
      assert.deepEqual(smoke[0], Array.from(evaluated.values.subarray(0, evaluated.width)));
      assert.ok(worst <= TOLERANCE);
    } finally {
      await session.release();
    }
  }

  it('a scikit-learn Pipeline (imputer, scaler, one-hot text column, LogisticRegression) with a ZipMap, one input per column', async (t) => {
    const { m, skip } = model('weather_logistic_pipeline');
    if (!m) return t.skip(skip);
    const { table, request, imported } = await importExported(m);
    const signature = imported.signature;
    assert.ok(isImported(signature));
    assert.equal(signature.task, 'multiclass');
    assert.deepEqual(signature.inputs.map((i) => [i.name, i.type, i.matchedBy]), [
      ['precipitation', 'float32', 'name'], ['temp_max', 'float32', 'name'], ['temp_min', 'float32', 'name'], ['wind', 'float32', 'name'], ['season', 'string', 'name'],
    ]);
    assert.deepEqual(signature.categorical, ['season']);
    assert.deepEqual(signature.unused, ['weather', 'rain_tomorrow']);
    assert.equal(signature.outputs.kind, 'classifier');
    assert.equal(signature.outputs.kind === 'classifier' && signature.outputs.classesFrom, 'zipmap');
    assert.deepEqual(signature.rewrites?.map((r) => r.kind), ['drop-zipmap']);
    // the evaluation rows hold missing numbers; they reach the graph's imputer as NaN
    assert.ok(table.columns.find((c) => c.name === 'wind')!.kind === 'number');
    assert.ok(Array.from((table.columns.find((c) => c.name === 'wind') as { values: Float64Array }).values).some(Number.isNaN), 'some wind values are missing');
    await assertMatchesFramework(m, signature, imported.bytes, table);
    // the same upload gives the same stored bytes (files are addressed by sha256)
    const again = await importOnnxModel(request);
    assert.deepEqual(Buffer.from(again.bytes), Buffer.from(imported.bytes));
    assert.notDeepEqual(Buffer.from(imported.bytes), Buffer.from(request.bytes));
  });

  it('a scikit-learn regression Pipeline (Ridge) answers a value per row', async (t) => {
    const { m, skip } = model('weather_ridge_pipeline');
    if (!m) return t.skip(skip);
    const { table, request, imported } = await importExported(m);
    assert.equal(imported.signature.task, 'regression');
    assert.deepEqual(imported.signature.classes, []);
    assert.equal(imported.signature.outputs.kind, 'regressor');
    assert.equal(imported.signature.rewrites, undefined);
    assert.deepEqual(Buffer.from(imported.bytes), Buffer.from(request.bytes), 'a graph that needs no change is stored as uploaded');
    await assertMatchesFramework(m, imported.signature, imported.bytes, table);
  });

  it('a scikit-learn RandomForest on one [N, 30] tensor input, columns taken by order, labels and probabilities as tensors', async (t) => {
    const { m, skip } = model('breast_cancer_random_forest');
    if (!m) return t.skip(skip);
    const { table, imported } = await importExported(m);
    const signature = imported.signature;
    assert.equal(signature.task, 'binary');
    assert.equal(signature.inputs.length, 1);
    assert.equal(signature.inputs[0].matchedBy, 'order');
    assert.deepEqual(signature.inputs[0].columns, table.columns.map((c) => c.name).filter((c) => c !== 'diagnosis'));
    assert.equal(signature.outputs.kind === 'classifier' && signature.outputs.classesFrom, 'classifier-node');
    assert.equal(signature.outputs.kind === 'classifier' && signature.outputs.label, 'label');
    await assertMatchesFramework(m, signature, imported.bytes, table);
  });

  it('a LightGBM classifier through onnxmltools: integer class labels from its ZipMap, NaN for missing numbers', async (t) => {
    const { m, skip } = model('weather_lightgbm');
    if (!m) return t.skip(skip);
    const { table, imported } = await importExported(m);
    const signature = imported.signature;
    assert.deepEqual(signature.classes, ['0', '1']);
    assert.equal(signature.inputs[0].matchedBy, 'features');
    // onnxmltools declares the label output as [1]; the stored file frees that axis
    assert.deepEqual(signature.rewrites?.map((r) => r.kind).sort(), ['drop-zipmap', 'free-batch-axis']);
    await assertMatchesFramework(m, signature, imported.bytes, table);
  });

  it('a PyTorch MLP through torch.onnx: class names from the file\'s metadata', async (t) => {
    const { m, skip } = model('iris_torch_mlp');
    if (!m) return t.skip(skip);
    const { table, imported } = await importExported(m);
    const signature = imported.signature;
    assert.equal(signature.task, 'multiclass');
    assert.equal(signature.outputs.kind === 'classifier' && signature.outputs.classesFrom, 'metadata');
    assert.equal(signature.outputs.kind === 'classifier' && signature.outputs.label, undefined);
    await assertMatchesFramework(m, signature, imported.bytes, table);
  });

  it('the export script is deterministic: a second run writes the same files', async (t) => {
    if (!exported.models.length) return t.skip('nothing was exported');
    const second = await exportModels();
    try {
      for (const m of exported.models) {
        assert.deepEqual(fs.readFileSync(path.join(second.dir, m.file)), fs.readFileSync(path.join(exported.dir, m.file)), m.file);
      }
    } finally {
      fs.rmSync(second.dir, { recursive: true, force: true });
    }
  });
});

// --- small graphs built here, for the refusals and the rewrite ---

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT = onnx.AttributeProto.AttributeType.INT;

function tensorInfo(name: string, elemType: number, dims: (number | string | null)[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}

function modelBytes(graph: onnx.IGraphProto, o: { opsets?: onnx.IOperatorSetIdProto[]; metadata?: Record<string, string> } = {}): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: o.opsets ?? [{ domain: '', version: 17 }, { domain: 'ai.onnx.ml', version: 3 }],
    producerName: 'onnx-import.test',
    graph: { name: 'test', ...graph },
    metadataProps: Object.entries(o.metadata ?? {}).map(([key, value]) => ({ key, value })),
  })).finish();
}

/** x [N, 3] float -> Softmax -> probs: a three-class classifier's probabilities, nothing naming the classes. */
function softmaxGraph(extra: Partial<onnx.IGraphProto> = {}): onnx.IGraphProto {
  return {
    input: [tensorInfo('x', FLOAT, ['N', 3])],
    node: [{ opType: 'Softmax', input: ['x'], output: ['probs'], name: 'softmax', attribute: [{ name: 'axis', type: INT, i: 1 }] }],
    output: [tensorInfo('probs', FLOAT, ['N', 3])],
    ...extra,
  };
}

/** softmaxGraph followed by a ZipMap keyed by these labels, as skl2onnx writes by default. */
function zipMapGraph(labels: string[]): onnx.IGraphProto {
  return {
    input: [tensorInfo('x', FLOAT, ['N', 3])],
    node: [
      { opType: 'Softmax', input: ['x'], output: ['probs'], name: 'softmax', attribute: [{ name: 'axis', type: INT, i: 1 }] },
      { opType: 'ArgMax', input: ['probs'], output: ['label'], name: 'argmax', attribute: [{ name: 'axis', type: INT, i: 1 }, { name: 'keepdims', type: INT, i: 0 }] },
      {
        opType: 'ZipMap', domain: 'ai.onnx.ml', input: ['probs'], output: ['output_probability'], name: 'zipmap',
        attribute: [{ name: 'classlabels_strings', type: onnx.AttributeProto.AttributeType.STRINGS, strings: labels.map((l) => Buffer.from(l)) }],
      },
    ],
    output: [
      tensorInfo('label', onnx.TensorProto.DataType.INT64, ['N']),
      { name: 'output_probability', type: { sequenceType: { elemType: { mapType: { keyType: onnx.TensorProto.DataType.STRING, valueType: { tensorType: { elemType: FLOAT } } } } } } },
    ],
  };
}

const XYZ: ColumnInfo[] = [{ name: 'a', kind: 'number' }, { name: 'b', kind: 'number' }, { name: 'c', kind: 'number' }, { name: 'y', kind: 'string' }];
const XYZ_FEATURES = { x: ['a', 'b', 'c'] };

async function refusal(request: ImportRequest, reason: ImportRefusalReason, message: RegExp): Promise<OnnxImportError> {
  try {
    await importOnnxModel(request);
  } catch (err) {
    assert.ok(err instanceof OnnxImportError, `an OnnxImportError, got ${(err as Error).stack}`);
    assert.ok(err instanceof DomainError && err.code === 'invalid', 'a domain refusal, answered as a 400');
    assert.equal(err.reason, reason, err.message);
    assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected a refusal (${reason})`);
}

describe('imports that are refused, with a reason that says what to change', () => {
  const base = { target: 'y', columns: XYZ };

  it('random bytes, an empty file, a JPEG named model.onnx, a pickle, a Git LFS pointer: not ONNX', async () => {
    const random = createRng(11);
    const noise = Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256));
    await refusal({ ...base, bytes: noise }, 'not_onnx', /not an ONNX model/);
    await refusal({ ...base, bytes: new Uint8Array() }, 'not_onnx', /the file is empty/);
    const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from('JFIF\0'), Buffer.from([0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]), Buffer.alloc(200, 0x7f), Buffer.from([0xff, 0xd9])]);
    await refusal({ ...base, bytes: jpeg }, 'not_onnx', /the file is a JPEG image, not an ONNX model/);
    await refusal({ ...base, bytes: Buffer.from([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0]) }, 'not_onnx', /Python pickle.*skl2onnx/);
    await refusal({ ...base, bytes: Buffer.from('version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 12\n') }, 'not_onnx', /Git LFS pointer/);
    // valid protobuf that is no model: a bare ValueInfoProto
    await refusal({ ...base, bytes: onnx.ValueInfoProto.encode({ name: 'x' }).finish() }, 'not_onnx', /no graph|not an ONNX model/);
  });

  it('a truncated ONNX file: not ONNX', async () => {
    const whole = modelBytes(softmaxGraph());
    await refusal({ ...base, features: XYZ_FEATURES, bytes: whole.subarray(0, whole.length - 7) }, 'not_onnx', /does not parse as an ONNX ModelProto/);
  });

  it('weights in an external file, wherever the graph hides them: refused before onnxruntime would read the server\'s file', async () => {
    // onnxruntime reads an external tensor's file relative to the working directory: a file planted
    // there is what a model naming it would serve back as a constant
    const planted = path.join(process.cwd(), `external-secret-${process.pid}.bin`);
    fs.writeFileSync(planted, Buffer.alloc(12, 7));
    try {
      const external = (name: string): onnx.ITensorProto => ({
        name, dataType: FLOAT, dims: [1, 3], dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [{ key: 'location', value: path.basename(planted) }, { key: 'length', value: '12' }],
      });
      const constantOf = (tensor: onnx.ITensorProto, output: string): onnx.INodeProto => ({ opType: 'Constant', output: [output], name: `const_${output}`, attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: tensor }] });
      const adds = (extra: Partial<onnx.IGraphProto>, node: onnx.INodeProto[] = []): Uint8Array => modelBytes({
        input: [tensorInfo('x', FLOAT, ['N', 3])],
        node: [...node, { opType: 'Add', input: ['x', 'w'], output: ['sum'], name: 'add' }, { opType: 'Softmax', input: ['sum'], output: ['probs'], name: 'softmax', attribute: [{ name: 'axis', type: INT, i: 1 }] }],
        output: [tensorInfo('probs', FLOAT, ['N', 3])],
        ...extra,
      });
      const inSubgraph: onnx.INodeProto = {
        opType: 'If', input: ['flag'], output: ['w'], name: 'choose',
        attribute: ['then_branch', 'else_branch'].map((branch) => ({
          name: branch, type: onnx.AttributeProto.AttributeType.GRAPH,
          g: { name: branch, node: [constantOf(external(`hidden_${branch}`), `w_${branch}`)], output: [tensorInfo(`w_${branch}`, FLOAT, [1, 3])] },
        })),
      };
      const flag: onnx.INodeProto = constantOf({ name: 'flag', dataType: onnx.TensorProto.DataType.BOOL, dims: [], int32Data: [1] }, 'flag');
      const hidingPlaces: [string, Uint8Array, RegExp][] = [
        ['an initializer', adds({ initializer: [external('w')] }), /external files \(w\)/],
        ['a Constant node', adds({}, [constantOf(external('w'), 'w')]), /external files \(w\)/],
        ['an If branch', adds({}, [flag, inSubgraph]), /external files \(hidden_then_branch, hidden_else_branch\)/],
        ['a sparse initializer', adds({ sparseInitializer: [{ values: external('w'), indices: { name: 'w_indices', dataType: onnx.TensorProto.DataType.INT64, dims: [3], int64Data: [0, 1, 2] }, dims: [1, 3] }] }), /external files \(w\)/],
      ];
      for (const [place, bytes, message] of hidingPlaces) {
        const err = await refusal({ ...base, features: XYZ_FEATURES, bytes }, 'cannot_load', message);
        assert.match(err.message, /save it as one file/, place);
      }
    } finally {
      fs.rmSync(planted, { force: true });
    }
  });

  it('an operator onnxruntime-node does not know, found by loading the graph', async () => {
    const bytes = modelBytes({
      input: [tensorInfo('x', FLOAT, ['N', 3])],
      node: [{ opType: 'NoSuchOp', domain: 'com.example.custom', input: ['x'], output: ['probs'], name: 'mystery' }],
      output: [tensorInfo('probs', FLOAT, ['N', 3])],
    }, { opsets: [{ domain: '', version: 17 }, { domain: 'com.example.custom', version: 1 }] });
    const err = await refusal({ ...base, features: XYZ_FEATURES, bytes }, 'cannot_load', /onnxruntime-node cannot load the model: .*NoSuchOp/);
    assert.match(err.message, /com\.example\.custom 1/);
  });

  it('an opset newer than onnxruntime-node implements', async () => {
    await refusal({ ...base, features: XYZ_FEATURES, bytes: modelBytes(softmaxGraph(), { opsets: [{ domain: '', version: 999 }] }) }, 'cannot_load', /onnxruntime-node cannot load the model: .*(opset|version)/i);
  });

  it('inputs that match no column, a features map naming what is not there, the target as an input', async () => {
    const single = modelBytes({
      input: [tensorInfo('mystery', FLOAT, [null, 1]), tensorInfo('a', FLOAT, [null, 1])],
      node: [{ opType: 'Add', input: ['mystery', 'a'], output: ['value'], name: 'add' }],
      output: [tensorInfo('value', FLOAT, [null, 1])],
    });
    const err = await refusal({ ...base, bytes: single }, 'unmatched_input', /an input of the graph matches no column of the evaluation data: "mystery" \(float32, shape \[N, 1\]\) is named like no column.*The data's columns: a, b, c, y \(target: y\).*features, e\.g\. \{"mystery": "<column>"\}/);
    assert.deepEqual((err.details as { inputs: string[] }).inputs, ['mystery']);
    // with a map it imports, as a regression
    const ok = await importOnnxModel({ ...base, bytes: single, features: { mystery: 'b' } });
    assert.deepEqual(ok.signature.inputs.map((i) => [i.name, i.columns, i.matchedBy]), [['mystery', ['b'], 'features'], ['a', ['a'], 'name']]);
    assert.equal(ok.signature.task, 'regression');

    const tensor = modelBytes(softmaxGraph());
    await refusal({ ...base, columns: [...XYZ, { name: 'd', kind: 'number' }], bytes: tensor }, 'unmatched_input', /"x" \(float32, shape \[N, 3\]\) takes 3 columns, and 4 columns are left to take by order/);
    await refusal({ ...base, bytes: tensor, features: { x: ['a', 'b', 'nope'] } }, 'unmatched_input', /features maps input "x" to "nope", which is not a column/);
    await refusal({ ...base, bytes: tensor, features: { x: ['a', 'b'] } }, 'unmatched_input', /input "x" takes 3 columns .* but features names 2/);
    await refusal({ ...base, bytes: tensor, features: { z: 'a' } }, 'unmatched_input', /features names "z", which is not an input of the graph/);
    await refusal({ ...base, bytes: tensor, features: { x: ['a', 'b', 'y'] } }, 'unmatched_input', /the target column "y"/);
    const text = [{ name: 'a', kind: 'number' }, { name: 'b', kind: 'string' }, { name: 'c', kind: 'number' }, { name: 'y', kind: 'string' }] as ColumnInfo[];
    await refusal({ target: 'y', columns: text, bytes: tensor }, 'unmatched_input', /input "x" takes float32 numbers, but column "b" of the evaluation data holds text/);
  });

  it('inputs rows cannot feed: an image tensor, a fixed batch, float16 values', async () => {
    const image = modelBytes({ input: [tensorInfo('image', FLOAT, ['N', 3, 224, 224])], node: [{ opType: 'Identity', input: ['image'], output: ['out'], name: 'id' }], output: [tensorInfo('out', FLOAT, ['N', 3, 224, 224])] });
    await refusal({ ...base, bytes: image }, 'unsupported_input', /input "image" has shape \[N, 3, 224, 224\]: rows of a table feed inputs of shape \[N\] or \[N, k\]/);
    const fixed = modelBytes(softmaxGraph({ input: [tensorInfo('x', FLOAT, [1, 3])], output: [tensorInfo('probs', FLOAT, [1, 3])] }));
    await refusal({ ...base, bytes: fixed }, 'unsupported_input', /a fixed batch of 1: .*dynamic_axes/);
    const half = modelBytes({
      input: [tensorInfo('x', onnx.TensorProto.DataType.FLOAT16, ['N', 3])],
      node: [{ opType: 'Cast', input: ['x'], output: ['x32'], name: 'cast', attribute: [{ name: 'to', type: INT, i: FLOAT }] }, { opType: 'Softmax', input: ['x32'], output: ['probs'], name: 'softmax', attribute: [{ name: 'axis', type: INT, i: 1 }] }],
      output: [tensorInfo('probs', FLOAT, ['N', 3])],
    });
    await refusal({ ...base, bytes: half, features: XYZ_FEATURES }, 'unsupported_input', /input "x" takes float16 values/);
  });

  it('outputs that are neither labels with probabilities nor a value', async () => {
    // labels only
    const labelsOnly = modelBytes({
      input: [tensorInfo('x', FLOAT, ['N', 3])],
      node: [{ opType: 'ArgMax', input: ['x'], output: ['label'], name: 'argmax', attribute: [{ name: 'axis', type: INT, i: 1 }, { name: 'keepdims', type: INT, i: 0 }] }],
      output: [tensorInfo('label', onnx.TensorProto.DataType.INT64, ['N'])],
    });
    await refusal({ ...base, bytes: labelsOnly, features: XYZ_FEATURES }, 'unreadable_output', /the outputs cannot be read as labels, probabilities or values: the graph gives labels but no class probabilities/);
    // scores that are not probabilities (logits)
    const logits = modelBytes({ input: [tensorInfo('x', FLOAT, ['N', 3])], node: [{ opType: 'Identity', input: ['x'], output: ['scores'], name: 'id' }], output: [tensorInfo('scores', FLOAT, ['N', 3])] });
    const sample = [{ a: 2, b: -1, c: 5 }, { a: 0.5, b: 0.2, c: 0.3 }];
    await refusal({ ...base, bytes: logits, features: XYZ_FEATURES, classes: ['p', 'q', 'r'], sample }, 'unreadable_output', /output "scores" does not hold probabilities: on trial row 0 its 3 values run from -1 to 5 and sum to 6; end the graph in a Softmax/);
    // a [N, 2, 2] block per row
    const block = modelBytes({
      input: [tensorInfo('x', FLOAT, ['N', 4])],
      node: [{ opType: 'Reshape', input: ['x', 'shape'], output: ['block'], name: 'reshape' }],
      initializer: [{ name: 'shape', dims: [3], dataType: onnx.TensorProto.DataType.INT64, int64Data: [-1, 2, 2] }],
      output: [tensorInfo('block', FLOAT, ['N', 2, 2])],
    });
    await refusal({ target: 'y', columns: [...XYZ, { name: 'd', kind: 'number' }], bytes: block }, 'unreadable_output', /no output gives labels, class probabilities or a value per row.*"block" \(float32 \[2, 2, 2\] for 2 rows\)/);
    // a sequence that is not a ZipMap's
    const sequence = modelBytes({
      input: [tensorInfo('x', FLOAT, ['N', 3])],
      node: [{ opType: 'SequenceConstruct', input: ['x'], output: ['seq'], name: 'seq' }],
      output: [{ name: 'seq', type: { sequenceType: { elemType: { tensorType: { elemType: FLOAT } } } } }],
    });
    await refusal({ ...base, bytes: sequence, features: XYZ_FEATURES }, 'unreadable_output', /output "seq" is a sequence or map, which onnxruntime-node cannot return/);
    // probabilities nothing names
    await refusal({ ...base, bytes: modelBytes(softmaxGraph()), features: XYZ_FEATURES }, 'unreadable_output', /output "probs" holds probabilities of 3 classes, but nothing names them.*send classes/);
    // a ZipMap whose maps feed another node cannot be dropped
    const fed = zipMapGraph(['p', 'q', 'r']);
    fed.node!.push({ opType: 'Identity', input: ['output_probability'], output: ['again'], name: 'again' });
    await refusal({ ...base, bytes: modelBytes(fed), features: XYZ_FEATURES }, 'unreadable_output', /the ZipMap "zipmap" feeds its sequence of maps to again/);
  });

  it('a task or classes that disagree with the graph', async () => {
    const bytes = modelBytes(softmaxGraph(), { metadata: { classes: '["p", "q", "r"]' } });
    await refusal({ ...base, bytes, features: XYZ_FEATURES, task: 'binary' }, 'task_mismatch', /the task asked for is binary, but the graph gives probabilities of 3 classes \(p, q, r\): a multiclass classifier/);
    await refusal({ ...base, bytes, features: XYZ_FEATURES, classes: ['r', 'q', 'p'] }, 'task_mismatch', /the request names the classes r, q, p, but the graph's metadata property "classes" names p, q, r/);
    await refusal({ ...base, bytes, features: XYZ_FEATURES, task: 'regression' }, 'task_mismatch', /cannot be read as a regression's value/);
    await refusal({ ...base, bytes: modelBytes(softmaxGraph(), { metadata: { classes: 'p,q,r' } }), features: XYZ_FEATURES }, 'unreadable_output', /metadata property "classes" must be a JSON list/);
    await refusal({ ...base, bytes: modelBytes(softmaxGraph()), features: XYZ_FEATURES, classes: ['p', 'q'] }, 'unreadable_output', /gives 3 probabilities per row, but the request names 2 classes/);
  });

  it('a target that is not a column is the request\'s mistake, refused before the file is read', async () => {
    await assert.rejects(importOnnxModel({ target: 'nope', columns: XYZ, bytes: new Uint8Array([1, 2, 3]) }), (err: Error) => err instanceof DomainError && /the target "nope" is not a column/.test(err.message));
  });
});

describe('imports without evaluation data', () => {
  it('reads the columns from the graph: an [N, k] input gives <input>_0 .. <input>_<k-1>, or the names features gives', async () => {
    const plain = await importOnnxModel({ bytes: modelBytes(softmaxGraph()), classes: ['p', 'q', 'r'] });
    assert.deepEqual(plain.signature.features, ['x_0', 'x_1', 'x_2']);
    assert.equal(plain.signature.task, 'multiclass');
    const named = await importOnnxModel({ bytes: modelBytes(softmaxGraph()), features: XYZ_FEATURES, classes: ['p', 'q', 'r'] });
    assert.deepEqual(named.signature.features, ['a', 'b', 'c']);
  });

  it('refuses an input whose number of columns is free, unless features names them', async () => {
    const free = modelBytes(softmaxGraph({ input: [tensorInfo('x', FLOAT, ['N', 'k'])], output: [tensorInfo('probs', FLOAT, ['N', 'k'])] }));
    await refusal({ bytes: free }, 'unmatched_input', /input "x" has shape \[N, k\], which leaves its number of columns free; without evaluation data, name its columns with features/);
    const named = await importOnnxModel({ bytes: free, features: XYZ_FEATURES, classes: ['p', 'q', 'r'] });
    assert.deepEqual(named.signature.features, ['a', 'b', 'c']);
  });
});

describe('graph rewrites at import', () => {
  it('drops the ZipMap, exposes its input tensor and keeps the class labels; the same upload gives the same bytes', async () => {
    const upload = modelBytes(zipMapGraph(['low', 'mid', 'high']));
    const first = await importOnnxModel({ target: 'y', columns: XYZ, bytes: upload, features: XYZ_FEATURES });
    const second = await importOnnxModel({ target: 'y', columns: XYZ, bytes: Uint8Array.from(upload), features: XYZ_FEATURES });
    assert.deepEqual(Buffer.from(first.bytes), Buffer.from(second.bytes));
    const s = first.signature;
    assert.deepEqual(s.classes, ['low', 'mid', 'high']);
    // ArgMax gives class indices, not the ZipMap's labels: that label output is not read, the most probable class is
    assert.deepEqual(s.outputs, { kind: 'classifier', probabilities: 'probs', classesFrom: 'zipmap' });
    assert.deepEqual(s.rewrites, [{ kind: 'drop-zipmap', node: 'zipmap', removedOutput: 'output_probability', exposedOutput: 'probs' }]);
    const stored = onnx.ModelProto.decode(first.bytes);
    assert.deepEqual(stored.graph!.node!.map((n) => n.opType), ['Softmax', 'ArgMax']);
    assert.deepEqual(stored.graph!.output!.map((o) => o.name), ['label', 'probs']);
    // served: probabilities by class name, the label the most probable class
    const session = await createSession(first.bytes);
    const data = checkImportedInstances([{ a: 0, b: 1, c: 3, y: 'ignored' }], s, 10);
    const [p] = importedPredictions(s, runImported(session, s, importedFeeds(s.inputs, data), 1));
    await session.release();
    const e = [Math.exp(0), Math.exp(1), Math.exp(3)];
    const sum = e[0] + e[1] + e[2];
    assert.ok('probabilities' in p);
    assert.ok(Math.abs(p.probabilities.high - e[2] / sum) < 1e-6);
    assert.equal(p.label, 'high');
  });

  it('keeps every other byte, fields our ONNX schema does not know included', async () => {
    const upload = modelBytes(zipMapGraph(['p', 'q', 'r']));
    // an unknown field (number 99, a varint) at the end of the model: a newer ONNX writer's field
    const unknown = Buffer.from([0x98, 0x06, 0x2a]);
    const withUnknown = Buffer.concat([Buffer.from(upload), unknown]);
    const imported = await importOnnxModel({ target: 'y', columns: XYZ, bytes: withUnknown, features: XYZ_FEATURES });
    assert.deepEqual(Buffer.from(imported.bytes.subarray(imported.bytes.length - 3)), unknown);
    // every field but the graph is untouched, and inside the graph every entry but the ZipMap and its output
    const before = splitFields(withUnknown);
    const afterFields = splitFields(imported.bytes);
    assert.deepEqual(afterFields.map((f) => f.field), before.map((f) => f.field));
    afterFields.forEach((f, i) => { if (f.field !== 7) assert.deepEqual(Buffer.from(f.bytes), Buffer.from(before[i].bytes)); });
    const graphBefore = splitFields(before.find((f) => f.field === 7)!.payload!);
    const graphAfter = splitFields(afterFields.find((f) => f.field === 7)!.payload!);
    const kept = (fields: typeof graphBefore) => fields.filter((f) => f.field !== 1 && f.field !== 12).map((f) => Buffer.from(f.bytes).toString('hex'));
    assert.deepEqual(kept(graphAfter), kept(graphBefore));
    assert.equal(graphAfter.filter((f) => f.field === 1).length, 2, 'Softmax and ArgMax stay, the ZipMap goes');
  });

  it('frees the first axis of a per-row output declared with a fixed one', async () => {
    const upload = modelBytes(softmaxGraph({ output: [tensorInfo('probs', FLOAT, [1, 3])] }), { metadata: { classes: '["p", "q", "r"]' } });
    const imported = await importOnnxModel({ target: 'y', columns: XYZ, bytes: upload, features: XYZ_FEATURES });
    assert.deepEqual(imported.signature.rewrites, [{ kind: 'free-batch-axis', output: 'probs', declared: 1 }]);
    const dims = onnx.ModelProto.decode(imported.bytes).graph!.output![0].type!.tensorType!.shape!.dim!;
    assert.deepEqual(dims.map((d) => (d.dimValue === null || d.dimValue === undefined ? null : Number(d.dimValue))), [null, 3]);
  });

  it('a graph with nothing to change is stored as uploaded', async () => {
    const upload = modelBytes(softmaxGraph(), { metadata: { classes: '["p", "q", "r"]' } });
    const imported = await importOnnxModel({ target: 'y', columns: XYZ, bytes: upload, features: XYZ_FEATURES });
    assert.equal(imported.bytes, upload);
    assert.equal(imported.signature.rewrites, undefined);
  });
});

describe('feeds of imported models', () => {
  /** Inputs of each element type, each passed through to an output of the same name with Identity. */
  function typedGraph(): Uint8Array {
    const T = onnx.TensorProto.DataType;
    const inputs: [string, number, (number | string | null)[]][] = [['f32', T.FLOAT, ['N', 1]], ['f64', T.DOUBLE, ['N']], ['i64', T.INT64, ['N', 1]], ['i32', T.INT32, ['N', 1]], ['s', T.STRING, ['N', 1]], ['pair', T.DOUBLE, ['N', 2]]];
    return modelBytes({
      input: inputs.map(([n, t, d]) => tensorInfo(n, t, d)),
      node: [
        ...inputs.map(([n]) => ({ opType: 'Identity', input: [n], output: [`out_${n}`], name: `id_${n}` })),
        { opType: 'Cast', input: ['f64'], output: ['value'], name: 'value', attribute: [{ name: 'to', type: INT, i: FLOAT }] },
      ],
      output: [...inputs.map(([n, t, d]) => tensorInfo(`out_${n}`, t, d)), tensorInfo('value', FLOAT, ['N'])],
    });
  }
  const columns: ColumnInfo[] = [
    { name: 'f32', kind: 'number' }, { name: 'f64', kind: 'number' }, { name: 'i64', kind: 'number' }, { name: 'i32', kind: 'number' },
    { name: 's', kind: 'number' }, { name: 'left', kind: 'number' }, { name: 'right', kind: 'number' }, { name: 'y', kind: 'number' },
  ];

  it('casts each column to its input\'s element type: NaN for missing floats, full precision for doubles, text from numbers', async () => {
    const { signature, bytes } = await importOnnxModel({ bytes: typedGraph(), target: 'y', columns, features: { pair: ['left', 'right'] }, output: 'value' });
    assert.deepEqual(signature.inputs.map((i) => [i.name, i.type, i.rank]), [['f32', 'float32', 2], ['f64', 'float64', 1], ['i64', 'int64', 2], ['i32', 'int32', 2], ['s', 'string', 2], ['pair', 'float64', 2]]);
    assert.deepEqual(signature.categorical, ['s'], 'a column feeding a string input is sent as text');
    const rows = checkImportedInstances([
      { f32: null, f64: 0.1, i64: 9007199254740991, i32: -3, s: 12, left: 1, right: 2 },
      { f32: 1.5, f64: null, i64: 0, i32: 7, s: 'text', left: null, right: 4, y: 3 },
    ], signature, 10);
    const feeds = importedFeeds(signature.inputs, rows);
    assert.ok(Number.isNaN(feeds.f32.data[0] as number));
    assert.deepEqual(feeds.f32.dims, [2, 1]);
    assert.equal(feeds.f64.data[0], 0.1, 'a float64 input gets the double itself');
    assert.deepEqual(feeds.f64.dims, [2]);
    assert.equal(feeds.i64.data[0], 9007199254740991n);
    assert.deepEqual(Array.from(feeds.i32.data as Int32Array), [-3, 7]);
    assert.deepEqual(feeds.s.data, ['12', 'text']);
    assert.deepEqual(Array.from(feeds.pair.data as Float64Array), [1, 2, NaN, 4]);
    const session = await createSession(bytes);
    const out = session.run(feeds);
    await session.release();
    assert.equal(out.out_i64.data[0], 9007199254740991n, 'int64 values reach the graph exactly');
  });

  it('refuses rows an input cannot take, listing every problem', async () => {
    const { signature } = await importOnnxModel({ bytes: typedGraph(), target: 'y', columns, features: { pair: ['left', 'right'] }, output: 'value' });
    try {
      checkImportedInstances([{ f32: 'x', f64: 1, i64: null, i32: 1.5, s: true, left: 1 }, { bogus: 1 }], signature, 10);
      assert.fail('expected a refusal');
    } catch (err) {
      assert.ok(err instanceof ApiError && err.code === 'invalid_request');
      const problems = (err.details as { problems: string[] }).problems;
      assert.ok(problems.includes('instances[0] is missing feature(s): right'), problems.join('\n'));
      assert.ok(problems.includes('instances[0].f32 must be a number or null, got string'));
      assert.ok(problems.includes('instances[0].i64 is null, but it feeds an integer input of the model, which cannot take a missing value'));
      assert.ok(problems.includes('instances[0].i32 must be a whole number (it feeds an integer input), got 1.5'));
      assert.ok(problems.includes('instances[0].s must be a string or null, got boolean'));
      assert.ok(problems.some((p) => p.startsWith('instances[1] has unknown feature(s): bogus')));
    }
    assert.throws(() => checkImportedInstances({}, signature, 10), /must be an array/);
    assert.throws(() => checkImportedInstances([{}, {}], signature, 1), /at most 1/);
  });

  it('joins requests into one batch in order, as the micro-batcher does', async () => {
    const { signature } = await importOnnxModel({ bytes: typedGraph(), target: 'y', columns, features: { pair: ['left', 'right'] }, output: 'value' });
    const row = (v: number) => ({ f32: v, f64: v, i64: v, i32: v, s: `t${v}`, left: v, right: -v });
    const joined = joinImportedRows([checkImportedInstances([row(1)], signature, 5), checkImportedInstances([row(2), row(3)], signature, 5)]);
    assert.equal(joined.rows, 3);
    const feeds = importedFeeds(signature.inputs, joined);
    assert.deepEqual(Array.from(feeds.pair.data as Float64Array), [1, -1, 2, -2, 3, -3]);
    assert.deepEqual(feeds.s.data, ['t1', 't2', 't3']);
  });
});
