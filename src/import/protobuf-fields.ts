/**
 * A protobuf message as the list of its top-level fields, each kept as the exact bytes it was read
 * from. Editing a message this way changes only the fields replaced: everything else, including fields
 * our ONNX schema (onnx-proto, ONNX 1.10) does not know, goes back byte for byte, which a decode and
 * re-encode through the schema would not guarantee.
 */
import { Reader, Writer } from 'protobufjs';

export const WIRE_LENGTH_DELIMITED = 2;

export interface RawField {
  field: number;
  wireType: number;
  /** The whole field: tag, length prefix and value. */
  bytes: Uint8Array;
  /** A length-delimited field's value, without tag and length. */
  payload?: Uint8Array;
}

/** Splits a serialised message into its fields, in file order. Throws on bytes that are not one. */
export function splitFields(message: Uint8Array): RawField[] {
  const reader = Reader.create(message);
  const fields: RawField[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) throw new Error(`field number 0 at byte ${start}`);
    let payload: Uint8Array | undefined;
    if (wireType === WIRE_LENGTH_DELIMITED) {
      const length = reader.uint32();
      if (reader.pos + length > reader.len) throw new Error(`a field at byte ${start} runs past the end`);
      payload = message.subarray(reader.pos, reader.pos + length);
      reader.pos += length;
    } else {
      reader.skipType(wireType);
    }
    fields.push({ field, wireType, bytes: message.subarray(start, reader.pos), payload });
  }
  return fields;
}

/** A length-delimited field holding `payload`. */
export function lengthDelimitedField(field: number, payload: Uint8Array): Uint8Array {
  return Writer.create().uint32((field << 3) | WIRE_LENGTH_DELIMITED).bytes(payload).finish();
}

/** The message made of these field bytes, in this order. */
export function joinFields(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
