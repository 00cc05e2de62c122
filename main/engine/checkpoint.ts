/**
 * Checkpoint files (`.localist`). One file contains everything needed to resume
 * training or audit a model, with a SHA-256 per part so that a reviewer can
 * cite one hash per part and a damaged file is caught before it is used.
 *
 * Layout, format version 1 (all integers are unsigned 32-bit little-endian):
 *
 *   bytes 0-7     magic, the ASCII text "LOCALIST"
 *   bytes 8-11    format version (1)
 *   bytes 12-15   header length H in bytes
 *   bytes 16-47   SHA-256 of the header bytes
 *   bytes 48-     header: UTF-8 JSON, padded with spaces so that H is a multiple of 4
 *   then          payload: the parts, contiguous, in the order of PART_NAMES
 *
 * The header is `{ createdAt, appVersion, parts: [{ name, encoding, offset,
 * bytes, sha256 }] }`. A part's `offset` counts from the first payload byte
 * (byte 48 + H), and its `sha256` covers exactly its `bytes` bytes, so
 * `tail -c +$((49 + H + offset)) file | head -c bytes | sha256sum` reproduces it.
 *
 * - Encoding "json": UTF-8 JSON, padded with spaces to a multiple of 4 bytes.
 * - Encoding "float32-tensors": a uint32 index length L, then an index of L
 *   bytes (UTF-8 JSON `[{ name, shape, offset }]`, padded with spaces to a
 *   multiple of 4), then each tensor's float32 data, little-endian, in index
 *   order with no gaps. A tensor's `offset` counts from the first data byte.
 *   The index sits inside the part, not in the header, so that the part's
 *   hash covers tensor names and shapes as well as the numbers.
 *
 * Every part starts at a multiple of 4 bytes from the start of the file, so
 * float32 data can be mapped in place by other readers. Every byte of the
 * file is covered by a check: the preamble by its fixed values, the header by
 * its hash, the parts by theirs, and the file's length by the part ranges.
 */

import { createHash, randomBytes } from 'node:crypto';
import { open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';

/** Format version this module writes and the only one it reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** File name extension of checkpoint files. */
export const CHECKPOINT_EXTENSION = '.localist';

const MAGIC = Buffer.from('LOCALIST', 'ascii');
const HASH_BYTES = 32;
// Magic (8), format version (4), header length (4), header SHA-256 (32).
const PREAMBLE_BYTES = MAGIC.length + 4 + 4 + HASH_BYTES;
// Float32 data must start at a multiple of 4 bytes to be viewed in place.
const ALIGNMENT = 4;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

const JSON_PART_NAMES = ['config', 'tokenizer', 'blocks', 'rules', 'metrics', 'training'] as const;
const TENSOR_PART_NAMES = ['weights', 'optimizer'] as const;
type JsonPartName = (typeof JSON_PART_NAMES)[number];
type TensorPartName = (typeof TENSOR_PART_NAMES)[number];
type PartName = JsonPartName | TensorPartName;
type PartEncoding = 'json' | 'float32-tensors';

/** Part names in file order, which is also the order of summary parts. */
export const PART_NAMES: readonly PartName[] = [...JSON_PART_NAMES, ...TENSOR_PART_NAMES];

/** One named tensor, row-major, as stored in the weights or optimizer part. */
export interface TensorRecord {
  /** Stable parameter name, unique within its part. */
  name: string;
  /** Dimensions, where `[]` is a scalar. Their product must equal `data.length`. */
  shape: number[];
  data: Float32Array;
}

/** Training progress at the time of saving, so that a resumed run continues the same sequence. */
export interface TrainingPosition {
  /** Optimizer steps taken. */
  step: number;
  /** Training tokens consumed so far. */
  tokensSeen: number;
  /** Wall-clock training time so far, in seconds. */
  elapsedSeconds: number;
  /** TensorFlow.js backend that trained the model ("cpu", "wasm", "webgl", ...). */
  backend: string;
  /** Seed of the run's random number generators. */
  seed: number;
  /** Generator state at this step, when the trainer saves one. */
  randomState?: number[];
}

/** Everything a checkpoint stores. JSON parts go through `JSON.stringify`, so `undefined` properties are dropped. */
export interface CheckpointContents {
  /** Model and training configuration. */
  config: unknown;
  tokenizer: unknown;
  blocks: unknown;
  rules: unknown;
  /** Latest evaluation, or null before the first one. */
  metrics: unknown;
  training: TrainingPosition;
  weights: TensorRecord[];
  /** Optimizer state, such as Adam moments, or [] when there is none. */
  optimizer: TensorRecord[];
}

/** Size and SHA-256 (lower-case hex) of one part. */
export interface CheckpointPartSummary {
  name: string;
  bytes: number;
  sha256: string;
}

/** Metadata and hashes of a checkpoint file, without its contents. */
export interface CheckpointSummary {
  path: string;
  formatVersion: number;
  /** ISO 8601 time of writing. */
  createdAt: string;
  /** Version of the workbench that wrote the file. */
  appVersion: string;
  /** Parts in file order (see PART_NAMES). */
  parts: CheckpointPartSummary[];
  /** SHA-256 of the whole file, equal to `hashFile(path)`. */
  sha256: string;
}

export type CheckpointErrorCode = 'not-found' | 'not-a-checkpoint' | 'unsupported-version' | 'damaged' | 'write-failed';

/** Error from reading or writing a checkpoint. `code` is the kind of failure and `part` the part at fault, when there is one. */
export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  /** The checkpoint path as the caller passed it. */
  readonly path: string;
  /** "header" or a name from PART_NAMES, or undefined when no single part is at fault. */
  readonly part: string | undefined;

  constructor(code: CheckpointErrorCode, path: string, message: string, options: { part?: string | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CheckpointError';
    this.code = code;
    this.path = path;
    this.part = options.part;
  }
}

interface HeaderPart {
  name: PartName;
  encoding: PartEncoding;
  offset: number;
  bytes: number;
  sha256: string;
}

interface Header {
  createdAt: string;
  appVersion: string;
  parts: HeaderPart[];
}

interface EncodedPart {
  name: PartName;
  encoding: PartEncoding;
  /** The part's bytes in order. Tensor data chunks are views of the caller's arrays. */
  chunks: Buffer[];
  bytes: number;
  sha256: string;
}

// ---------------------------------------------------------------------------
// Writing

/**
 * Writes a checkpoint atomically: the file is written to a temporary file in
 * the same folder, flushed to disk, then renamed over `path`. A failed write
 * leaves an existing file at `path` unchanged and removes the temporary file.
 * Rejects non-finite tensor values, mismatched shapes and duplicate tensor
 * names before touching the disk. Passing `meta.createdAt` makes the output
 * depend on the input alone, so equal input gives byte-identical files.
 * Tensor data is written from the caller's arrays without copying, so they
 * must not change until the returned promise settles.
 */
export async function writeCheckpoint(
  path: string,
  contents: CheckpointContents,
  meta: { appVersion: string; createdAt?: Date },
): Promise<CheckpointSummary> {
  if (typeof meta.appVersion !== 'string' || meta.appVersion === '') {
    throw new CheckpointError('write-failed', path, `app version ${JSON.stringify(meta.appVersion)} is invalid. Pass the workbench version, such as "0.1.0".`);
  }
  const createdAt = (meta.createdAt ?? new Date()).toISOString();

  validateTraining(contents.training, (problem) => {
    throw new CheckpointError('write-failed', path, `part "training" of checkpoint "${path}" is invalid because ${problem}. Pass the trainer's current position.`, { part: 'training' });
  });
  const parts: EncodedPart[] = [
    ...JSON_PART_NAMES.map((name) => encodeJsonPart(path, name, contents[name])),
    ...TENSOR_PART_NAMES.map((name) => encodeTensorPart(path, name, contents[name])),
  ];

  let offset = 0;
  const headerParts: HeaderPart[] = parts.map((part) => {
    const entry = { name: part.name, encoding: part.encoding, offset, bytes: part.bytes, sha256: part.sha256 };
    offset += part.bytes;
    return entry;
  });
  const header: Header = { createdAt, appVersion: meta.appVersion, parts: headerParts };
  const headerBytes = padWithSpaces(JSON.stringify(header));

  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(preamble, 0);
  preamble.writeUInt32LE(CHECKPOINT_FORMAT_VERSION, 8);
  preamble.writeUInt32LE(headerBytes.length, 12);
  createHash('sha256').update(headerBytes).digest().copy(preamble, 16);

  const chunks = [preamble, headerBytes, ...parts.flatMap((part) => part.chunks)];
  const fileHash = createHash('sha256');
  for (const chunk of chunks) fileHash.update(chunk);

  await writeFileAtomically(path, chunks);

  return {
    path,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    createdAt,
    appVersion: meta.appVersion,
    parts: parts.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 })),
    sha256: fileHash.digest('hex'),
  };
}

function encodeJsonPart(path: string, name: JsonPartName, value: unknown): EncodedPart {
  const fail: (problem: string, cause?: unknown) => never = (problem, cause) => {
    throw new CheckpointError('write-failed', path, `part "${name}" of checkpoint "${path}" ${problem}`, { part: name, cause });
  };
  if (value === undefined) fail('is undefined. Pass null when there is nothing to store.');

  let text: string | undefined;
  try {
    text = JSON.stringify(value, rejectNonFiniteNumbers);
  } catch (error) {
    if (error instanceof NonFiniteNumberError) {
      fail(`contains ${error.value} under key "${error.key}", which JSON cannot store. Replace it with null or a finite number.`);
    }
    fail(`cannot be converted to JSON (${describeError(error)}). Pass plain objects, arrays, strings, finite numbers, booleans and null.`, error);
  }
  if (text === undefined) fail('converts to no JSON at all, as a function or symbol does. Pass plain data or null.');

  const bytes = padWithSpaces(text);
  return { name, encoding: 'json', chunks: [bytes], bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

class NonFiniteNumberError extends Error {
  constructor(
    readonly key: string,
    readonly value: number,
  ) {
    super(`non-finite number ${value} under key "${key}"`);
  }
}

// `JSON.stringify` would silently turn NaN and Infinity into null.
function rejectNonFiniteNumbers(key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new NonFiniteNumberError(key, value);
  return value;
}

function encodeTensorPart(path: string, partName: TensorPartName, tensors: TensorRecord[]): EncodedPart {
  const fail: (problem: string) => never = (problem) => {
    throw new CheckpointError('write-failed', path, `part "${partName}" of checkpoint "${path}" ${problem}`, { part: partName });
  };
  if (!Array.isArray(tensors)) fail('is not an array of tensors. Pass [] when there is nothing to store.');

  const names = new Set<string>();
  const index: { name: string; shape: number[]; offset: number }[] = [];
  const dataChunks: Buffer[] = [];
  let offset = 0;
  for (const [position, tensor] of tensors.entries()) {
    const name: unknown = tensor?.name;
    if (typeof name !== 'string' || name === '') fail(`has a tensor at position ${position} without a name. Give every tensor a non-empty name.`);
    const label = `tensor "${name}"`;
    if (names.has(name)) fail(`has two tensors named "${name}". Tensor names must be unique within a part.`);
    names.add(name);

    const shapeProblem = describeShapeProblem(tensor.shape);
    if (shapeProblem !== undefined) fail(`has ${label} with shape ${JSON.stringify(tensor.shape)}, which is invalid because ${shapeProblem}`);
    if (!(tensor.data instanceof Float32Array)) fail(`has ${label} whose data is not a Float32Array. Convert it with Float32Array.from or tensor.dataSync().`);
    const elementCount = shapeProduct(tensor.shape);
    if (elementCount !== tensor.data.length) {
      fail(`has ${label} with shape ${JSON.stringify(tensor.shape)} (${elementCount} values) but ${tensor.data.length} values of data. Pass data that matches the shape.`);
    }
    const badIndex = findNonFinite(tensor.data);
    if (badIndex !== -1) {
      fail(
        `has ${label} with ${tensor.data[badIndex]} at index ${badIndex} of ${tensor.data.length}. ` +
          'A model with non-finite numbers has diverged and is not saved, so lower the learning rate or resume from an earlier checkpoint.',
      );
    }

    index.push({ name: name, shape: [...tensor.shape], offset });
    dataChunks.push(float32ToLittleEndian(tensor.data));
    offset += tensor.data.byteLength;
  }

  const indexBytes = padWithSpaces(JSON.stringify(index));
  const indexLength = Buffer.alloc(4);
  indexLength.writeUInt32LE(indexBytes.length, 0);

  const chunks = [indexLength, indexBytes, ...dataChunks];
  const hash = createHash('sha256');
  for (const chunk of chunks) hash.update(chunk);
  return { name: partName, encoding: 'float32-tensors', chunks, bytes: 4 + indexBytes.length + offset, sha256: hash.digest('hex') };
}

async function writeFileAtomically(path: string, chunks: Buffer[]): Promise<void> {
  const folder = dirname(path);
  // A hidden name with a random suffix, so that concurrent saves to one path do not share a temporary file.
  const temporaryPath = join(folder, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporaryPath, 'wx');
    let position = 0;
    for (const chunk of chunks) {
      await writeFully(handle, chunk, position);
      position += chunk.length;
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporaryPath, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await rm(temporaryPath, { force: true }).catch(() => undefined);
    throw new CheckpointError(
      'write-failed',
      path,
      `checkpoint "${path}" could not be written (${describeError(error)}), and any earlier file at that path is unchanged. ` +
        'Check that the folder exists, is writable and has free space, then save again.',
      { cause: error },
    );
  }
  await syncFolder(folder);
}

async function writeFully(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written, position + written);
    written += bytesWritten;
  }
}

// Flushes the folder entry so the rename itself survives a power cut.
// NOTE: Windows cannot open folders for syncing. There the rename is atomic
// but may not be durable until the system flushes on its own.
async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // The file is already in place, so a failed folder sync is not a failed save.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------
// Reading

/**
 * Reads and fully validates a checkpoint: magic, format version, header,
 * every part's byte range and SHA-256, tensor shapes and finite values.
 * Throws a CheckpointError before returning anything if one check fails.
 * NOTE: the whole file is read into memory, and Node's readFile rejects
 * files over 2 GiB.
 */
export async function readCheckpoint(path: string): Promise<{ contents: CheckpointContents; summary: CheckpointSummary }> {
  let file: Buffer;
  try {
    file = await readFile(path);
  } catch (error) {
    throw toOpenError(path, error);
  }

  const header = readHeader(file, path);
  const payloadStart = PREAMBLE_BYTES + file.readUInt32LE(12);
  const partBytes = new Map<PartName, Buffer>();
  for (const part of header.parts) {
    const bytes = file.subarray(payloadStart + part.offset, payloadStart + part.offset + part.bytes);
    const actualHash = createHash('sha256').update(bytes).digest('hex');
    if (actualHash !== part.sha256) {
      throw damaged(path, part.name, `part "${part.name}" of checkpoint "${path}" is damaged because its SHA-256 does not match the one in the header. Restore the file from a backup or retrain the model.`);
    }
    partBytes.set(part.name, bytes);
  }

  const json = new Map<JsonPartName, unknown>();
  for (const name of JSON_PART_NAMES) json.set(name, decodeJsonPart(path, name, partBytes.get(name) as Buffer));
  const training = json.get('training');
  validateTraining(training, (problem) => {
    throw damaged(path, 'training', `part "training" of checkpoint "${path}" is invalid because ${problem}. The file was not written by the workbench, so restore it from a backup.`);
  });

  const contents: CheckpointContents = {
    config: json.get('config'),
    tokenizer: json.get('tokenizer'),
    blocks: json.get('blocks'),
    rules: json.get('rules'),
    metrics: json.get('metrics'),
    training: training as TrainingPosition,
    weights: decodeTensorPart(path, 'weights', partBytes.get('weights') as Buffer),
    optimizer: decodeTensorPart(path, 'optimizer', partBytes.get('optimizer') as Buffer),
  };
  const summary: CheckpointSummary = {
    path,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    createdAt: header.createdAt,
    appVersion: header.appVersion,
    parts: header.parts.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 })),
    sha256: createHash('sha256').update(file).digest('hex'),
  };
  return { contents, summary };
}

// Checks the preamble and header and that the parts exactly fill the rest of the file.
function readHeader(file: Buffer, path: string): Header {
  const truncated = (detail: string): CheckpointError =>
    damaged(path, 'header', `checkpoint "${path}" is truncated inside its header (${detail}). Restore the file from a backup or retrain the model.`);

  const magicPresent = file.length >= MAGIC.length && file.subarray(0, MAGIC.length).equals(MAGIC);
  if (!magicPresent) {
    // A non-empty prefix of the magic is a checkpoint cut short, not a foreign file.
    if (file.length > 0 && file.length < MAGIC.length && MAGIC.subarray(0, file.length).equals(file)) {
      throw truncated(`the file has only ${file.length} bytes`);
    }
    throw new CheckpointError(
      'not-a-checkpoint',
      path,
      `file "${path}" is not a Localist checkpoint because it does not start with "LOCALIST". Choose a ${CHECKPOINT_EXTENSION} file saved by the workbench.`,
    );
  }
  if (file.length < MAGIC.length + 4) throw truncated(`the file has only ${file.length} bytes`);

  const version = file.readUInt32LE(8);
  if (version > CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(
      'unsupported-version',
      path,
      `checkpoint "${path}" was written by a newer version of the workbench (format ${version}), and this version reads format ${CHECKPOINT_FORMAT_VERSION} only. Update the workbench to open it.`,
    );
  }
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    throw damaged(path, 'header', `the header of checkpoint "${path}" declares format ${version}, which no version of the workbench writes. The file is damaged, so restore it from a backup.`);
  }
  if (file.length < PREAMBLE_BYTES) throw truncated(`the file has only ${file.length} bytes, fewer than the ${PREAMBLE_BYTES}-byte preamble`);

  const headerLength = file.readUInt32LE(12);
  const payloadStart = PREAMBLE_BYTES + headerLength;
  if (payloadStart > file.length) throw truncated(`the header ends at byte ${payloadStart} but the file has ${file.length} bytes`);
  const headerBytes = file.subarray(PREAMBLE_BYTES, payloadStart);
  if (!createHash('sha256').update(headerBytes).digest().equals(file.subarray(16, PREAMBLE_BYTES))) {
    throw damaged(path, 'header', `the header of checkpoint "${path}" is damaged because its SHA-256 does not match the stored one. Restore the file from a backup or retrain the model.`);
  }

  const invalidHeader = (problem: string): CheckpointError =>
    damaged(path, 'header', `the header of checkpoint "${path}" is invalid because ${problem}. The file was not written by the workbench, so restore it from a backup.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(headerBytes.toString('utf8'));
  } catch (error) {
    throw invalidHeader(`it is not JSON (${describeError(error)})`);
  }
  const header = parsed as Partial<Header> | null;
  if (typeof header !== 'object' || header === null) throw invalidHeader('it is not a JSON object');
  if (typeof header.createdAt !== 'string') throw invalidHeader('"createdAt" is missing');
  if (typeof header.appVersion !== 'string') throw invalidHeader('"appVersion" is missing');
  if (!Array.isArray(header.parts) || header.parts.length !== PART_NAMES.length) {
    throw invalidHeader(`"parts" must list the ${PART_NAMES.length} parts ${PART_NAMES.join(', ')}`);
  }

  let expectedOffset = 0;
  for (const [position, name] of PART_NAMES.entries()) {
    const part = header.parts[position] as Partial<HeaderPart> | null;
    const expectedEncoding: PartEncoding = (JSON_PART_NAMES as readonly string[]).includes(name) ? 'json' : 'float32-tensors';
    if (part?.name !== name) throw invalidHeader(`part ${position + 1} is ${JSON.stringify(part?.name)}, expected "${name}"`);
    if (part.encoding !== expectedEncoding) throw invalidHeader(`part "${name}" has encoding ${JSON.stringify(part.encoding)}, expected "${expectedEncoding}"`);
    if (!isByteCount(part.offset) || !isByteCount(part.bytes)) throw invalidHeader(`part "${name}" has an invalid byte range`);
    if (part.offset !== expectedOffset) throw invalidHeader(`part "${name}" starts at payload byte ${part.offset}, expected ${expectedOffset} right after the previous part`);
    if (typeof part.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(part.sha256)) throw invalidHeader(`part "${name}" has no valid SHA-256`);

    const end = payloadStart + part.offset + part.bytes;
    if (end > file.length) {
      throw damaged(path, name, `checkpoint "${path}" is truncated because part "${name}" ends at byte ${end} but the file has ${file.length} bytes. Restore the file from a backup or retrain the model.`);
    }
    expectedOffset += part.bytes;
  }
  const payloadEnd = payloadStart + expectedOffset;
  if (payloadEnd !== file.length) {
    throw damaged(path, undefined, `checkpoint "${path}" is damaged because it has ${file.length - payloadEnd} unexpected bytes after its last part. Restore the file from a backup.`);
  }
  return header as Header;
}

function decodeJsonPart(path: string, name: JsonPartName, bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw damaged(path, name, `part "${name}" of checkpoint "${path}" is not valid JSON (${describeError(error)}). The file was not written by the workbench, so restore it from a backup.`);
  }
}

function decodeTensorPart(path: string, partName: TensorPartName, bytes: Buffer): TensorRecord[] {
  const invalid = (problem: string): CheckpointError =>
    damaged(path, partName, `part "${partName}" of checkpoint "${path}" is invalid because ${problem}. The file was not written by the workbench, so restore it from a backup.`);

  if (bytes.length < 4) throw invalid(`it has ${bytes.length} bytes, too few for its index length`);
  const dataStart = 4 + bytes.readUInt32LE(0);
  if (dataStart > bytes.length) throw invalid(`its index ends at byte ${dataStart} but the part has ${bytes.length} bytes`);
  let index: unknown;
  try {
    index = JSON.parse(bytes.subarray(4, dataStart).toString('utf8'));
  } catch (error) {
    throw invalid(`its tensor index is not JSON (${describeError(error)})`);
  }
  if (!Array.isArray(index)) throw invalid('its tensor index is not a JSON array');

  const dataLength = bytes.length - dataStart;
  const names = new Set<string>();
  const tensors: TensorRecord[] = [];
  let expectedOffset = 0;
  for (const [position, entry] of (index as unknown[]).entries()) {
    const { name, shape, offset } = (entry ?? {}) as { name?: unknown; shape?: unknown; offset?: unknown };
    if (typeof name !== 'string' || name === '') throw invalid(`tensor ${position + 1} has no name`);
    if (names.has(name)) throw invalid(`two tensors are named "${name}"`);
    names.add(name);
    const shapeProblem = describeShapeProblem(shape);
    if (shapeProblem !== undefined) throw invalid(`tensor "${name}" has shape ${JSON.stringify(shape)}: ${shapeProblem}`);
    if (offset !== expectedOffset) throw invalid(`tensor "${name}" starts at data byte ${JSON.stringify(offset)}, expected ${expectedOffset}`);

    const elementCount = shapeProduct(shape as number[]);
    const end = expectedOffset + elementCount * 4;
    if (end > dataLength) throw invalid(`tensor "${name}" with shape ${JSON.stringify(shape)} needs bytes up to ${end} but the data has ${dataLength}`);
    const data = float32FromLittleEndian(bytes, dataStart + expectedOffset, elementCount);
    const badIndex = findNonFinite(data);
    if (badIndex !== -1) throw invalid(`tensor "${name}" has ${data[badIndex]} at index ${badIndex}`);

    tensors.push({ name, shape: [...(shape as number[])], data });
    expectedOffset = end;
  }
  if (expectedOffset !== dataLength) throw invalid(`its data has ${dataLength - expectedOffset} bytes that belong to no tensor`);
  return tensors;
}

function toOpenError(path: string, error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new CheckpointError('not-found', path, `checkpoint "${path}" was not found. Check the path or choose another file.`, { cause: error });
  }
  if (code === 'EISDIR') {
    return new CheckpointError('not-a-checkpoint', path, `"${path}" is a folder, not a Localist checkpoint. Choose a ${CHECKPOINT_EXTENSION} file.`, { cause: error });
  }
  // NOTE: other I/O errors (permissions, disk faults) have no CheckpointError code and pass through unchanged.
  return error;
}

function damaged(path: string, part: string | undefined, message: string): CheckpointError {
  return new CheckpointError('damaged', path, message, { part });
}

// ---------------------------------------------------------------------------
// Hashing

/** Returns the SHA-256 of a file as lower-case hex, reading it in 1 MiB chunks. */
export async function hashFile(path: string): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw toOpenError(path, error);
  }
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.alloc(1 << 20);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } catch (error) {
    throw toOpenError(path, error);
  } finally {
    await handle.close();
  }
}

// ---------------------------------------------------------------------------
// Shared checks and conversions

// Used both on write (bad input) and on read (a file not written by the workbench).
function validateTraining(value: unknown, fail: (problem: string) => never): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('it must be an object');
  const training = value as Partial<Record<keyof TrainingPosition, unknown>>;
  for (const key of ['step', 'tokensSeen'] as const) {
    const count = training[key];
    if (!Number.isSafeInteger(count) || (count as number) < 0) fail(`"${key}" is ${JSON.stringify(count)}, expected a non-negative integer`);
  }
  const elapsed = training.elapsedSeconds;
  if (typeof elapsed !== 'number' || !Number.isFinite(elapsed) || elapsed < 0) {
    fail(`"elapsedSeconds" is ${String(elapsed)}, expected a non-negative number of seconds`);
  }
  if (typeof training.backend !== 'string' || training.backend === '') fail(`"backend" is ${JSON.stringify(training.backend)}, expected a backend name such as "cpu"`);
  if (!Number.isSafeInteger(training.seed)) fail(`"seed" is ${JSON.stringify(training.seed)}, expected an integer`);
  const state = training.randomState;
  if (state !== undefined && !(Array.isArray(state) && state.every((item) => typeof item === 'number' && Number.isFinite(item)))) {
    fail('"randomState" must be an array of finite numbers when present');
  }
}

function describeShapeProblem(shape: unknown): string | undefined {
  if (!Array.isArray(shape)) return 'it is not an array';
  const bad = shape.find((size) => !Number.isSafeInteger(size) || (size as number) < 0);
  if (bad !== undefined) return `dimension ${JSON.stringify(bad)} is not a non-negative integer`;
  if (shapeProduct(shape as number[]) > Number.MAX_SAFE_INTEGER) return 'it has more values than a file can hold';
  return undefined;
}

function shapeProduct(shape: readonly number[]): number {
  let product = 1;
  for (const size of shape) product *= size;
  return product;
}

function isByteCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

// Returns the first index containing NaN or an infinity, or -1.
function findNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) return i;
  }
  return -1;
}

// Pads UTF-8 text with trailing spaces, which JSON ignores, to a multiple of ALIGNMENT bytes.
function padWithSpaces(text: string): Buffer {
  const length = Buffer.byteLength(text, 'utf8');
  const padding = (ALIGNMENT - (length % ALIGNMENT)) % ALIGNMENT;
  return Buffer.from(text + ' '.repeat(padding), 'utf8');
}

function float32ToLittleEndian(data: Float32Array): Buffer {
  if (LITTLE_ENDIAN_HOST) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // NOTE: this big-endian path is untested because the test machines are little-endian.
  const bytes = Buffer.alloc(data.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  data.forEach((value, i) => view.setFloat32(i * 4, value, true));
  return bytes;
}

// Copies rather than views the file, so the result is aligned and does not keep the whole file in memory.
function float32FromLittleEndian(bytes: Buffer, start: number, count: number): Float32Array {
  const data = new Float32Array(count);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(data.buffer).set(bytes.subarray(start, start + count * 4));
    return data;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * 4);
  for (let i = 0; i < count; i++) data[i] = view.getFloat32(i * 4, true);
  return data;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
