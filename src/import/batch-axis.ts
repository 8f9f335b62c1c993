/**
 * Some converters declare a per-row output with a fixed first axis (onnxmltools declares LightGBM's
 * label output as [1]). onnxruntime then computes the right shape but logs a warning on every run
 * ("Expected shape from model of {1} does not match actual shape"), which on a served model is one log
 * line per request. Where the trial run shows an output is per row, its declared first axis is freed.
 */
import { onnx } from 'onnx-proto';
import type { GraphRewrite } from '../domain/imported-model';
import type { RawOutput } from '../serving/onnx-runner';
import { editGraph } from './graph-edit';

export function freeBatchAxes(bytes: Uint8Array, model: onnx.ModelProto, trial: Record<string, RawOutput>, rows: number): { bytes: Uint8Array; model: onnx.ModelProto; rewrites: GraphRewrite[] } {
  const outputs = new Map<number, onnx.IValueInfoProto>();
  const rewrites: GraphRewrite[] = [];
  (model.graph!.output ?? []).forEach((declared, index) => {
    const dims = declared.type?.tensorType?.shape?.dim ?? [];
    const first = dims[0];
    if (!first || first.dimValue === null || first.dimValue === undefined || first.dimParam) return;
    const fixed = Number(first.dimValue);
    if (trial[declared.name ?? '']?.dims[0] !== rows || fixed === rows) return;
    const freed = onnx.ValueInfoProto.fromObject(onnx.ValueInfoProto.toObject(onnx.ValueInfoProto.create(declared)));
    freed.type!.tensorType!.shape!.dim![0] = onnx.TensorShapeProto.Dimension.create({});
    outputs.set(index, freed);
    rewrites.push({ kind: 'free-batch-axis', output: declared.name ?? '', declared: fixed });
  });
  if (outputs.size === 0) return { bytes, model, rewrites };
  const edited = editGraph(bytes, model, { outputs });
  return { bytes: edited, model: onnx.ModelProto.decode(edited), rewrites };
}
