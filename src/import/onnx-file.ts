/**
 * Reads uploaded bytes as an ONNX ModelProto, or says what they are instead. People upload the wrong
 * file more often than a broken one (a checkpoint instead of the export, a Git LFS pointer, an image),
 * so the common formats are named by their magic bytes before protobuf decoding is tried.
 */
import { onnx } from 'onnx-proto';
import { OnnxImportError } from './import-error';

const NOT_ONNX_HINT = 'export the model to ONNX first (skl2onnx, onnxmltools, torch.onnx.export, tf2onnx)';

/** Leading bytes of formats that arrive in place of an ONNX file, and what to say about each. */
const KNOWN_FORMATS: { magic: number[]; what: string; hint?: string }[] = [
  { magic: [0xff, 0xd8, 0xff], what: 'a JPEG image' },
  { magic: [0x89, 0x50, 0x4e, 0x47], what: 'a PNG image' },
  { magic: [0x47, 0x49, 0x46, 0x38], what: 'a GIF image' },
  { magic: [0x25, 0x50, 0x44, 0x46], what: 'a PDF document' },
  { magic: [0x50, 0x4b, 0x03, 0x04], what: 'a ZIP archive', hint: 'PyTorch checkpoints (.pt, .pth) and Keras files are ZIP archives: export the model with torch.onnx.export or tf2onnx; a zipped .onnx file must be unzipped first' },
  { magic: [0x1f, 0x8b], what: 'a gzip file', hint: 'decompress it first' },
  { magic: [0x89, 0x48, 0x44, 0x46], what: 'an HDF5 file (a Keras .h5 model?)', hint: 'convert it with tf2onnx' },
  // pickle protocols 2 to 5 (what joblib.dump and pickle.dump write)
  ...[2, 3, 4, 5].map((protocol) => ({ magic: [0x80, protocol], what: 'a Python pickle (a scikit-learn or joblib model file?)', hint: 'convert the model with skl2onnx' })),
];

const LFS_POINTER = 'version https://git-lfs';

function describeForeign(bytes: Uint8Array): { what: string; hint: string } | undefined {
  for (const format of KNOWN_FORMATS) {
    if (bytes.length >= format.magic.length && format.magic.every((b, i) => bytes[i] === b)) return { what: format.what, hint: format.hint ?? NOT_ONNX_HINT };
  }
  const head = Buffer.from(bytes.subarray(0, 64)).toString('latin1');
  if (head.startsWith(LFS_POINTER)) return { what: 'a Git LFS pointer, not the model itself', hint: 'fetch the real file (git lfs pull) and upload that' };
  if (/^\s*[{[]/.test(head)) return { what: 'JSON text', hint: NOT_ONNX_HINT };
  if (/^\s*</.test(head)) return { what: 'HTML or XML text', hint: NOT_ONNX_HINT };
  return undefined;
}

/** The decoded model, or an OnnxImportError('not_onnx' | 'cannot_load') that says why not. */
export function readOnnxModel(bytes: Uint8Array): onnx.ModelProto {
  if (bytes.length === 0) throw new OnnxImportError('not_onnx', 'the file is empty, not an ONNX model');
  const foreign = describeForeign(bytes);
  if (foreign) throw new OnnxImportError('not_onnx', `the file is ${foreign.what}, not an ONNX model: ${foreign.hint}`, { detected: foreign.what });
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new OnnxImportError('not_onnx', `the file is not an ONNX model: it does not parse as an ONNX ModelProto (${(err as Error).message}); ${NOT_ONNX_HINT}`);
  }
  // protobuf decoding is lenient: bytes that happen to parse still lack what every ONNX file has
  if (!model.graph || Number(model.irVersion) <= 0) {
    throw new OnnxImportError('not_onnx', `the file is not an ONNX model: it parses as protobuf but has ${!model.graph ? 'no graph' : 'no IR version'}; ${NOT_ONNX_HINT}`);
  }
  if ((model.graph.output ?? []).length === 0) throw new OnnxImportError('not_onnx', 'the ONNX graph has no outputs');
  const external = externalTensors(model);
  if (external.length > 0) {
    throw new OnnxImportError('cannot_load', `the model keeps weights in external files (${external.slice(0, 3).join(', ')}${external.length > 3 ? ', ...' : ''}): save it as one file (onnx.save_model(model, path, save_as_external_data=False))`);
  }
  return model;
}

/**
 * Every tensor anywhere in the model that keeps its bytes in an external file: initializers, sparse
 * initializers, Constant nodes' attributes, subgraphs (If, Loop, Scan), functions and training info.
 * onnxruntime reads such a file relative to the process's working directory when it loads the model, so
 * a model naming one would read the server's files: each is refused, wherever it hides.
 */
export function externalTensors(model: onnx.IModelProto): string[] {
  const found: string[] = [];
  const seen = new Set<object>();
  const visit = (value: unknown): void => {
    if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) { for (const v of value) visit(v); return; }
    const tensor = value as onnx.ITensorProto;
    if (tensor.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (tensor.externalData?.length ?? 0) > 0) found.push(tensor.name || '(unnamed tensor)');
    // own fields only: protobufjs keeps defaults on the prototype
    for (const key of Object.keys(value)) visit((value as Record<string, unknown>)[key]);
  };
  visit(model);
  return found;
}
