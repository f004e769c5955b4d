"""Read TensorFlow (1.x and 2.x) "V2" checkpoints without TensorFlow.

A checkpoint ``PREFIX`` is ``PREFIX.index``, a LevelDB-format table mapping each variable name to a
``BundleEntryProto`` (dtype, shape, shard, offset, size), and ``PREFIX.data-SSSSS-of-NNNNN``, the
raw little-endian tensor bytes. Both formats are documented in TensorFlow's
``core/util/tensor_bundle`` and ``core/lib/io/table_format``; this reader decodes exactly the parts
a checkpoint uses (uncompressed blocks, the protobuf fields listed below) and fails clearly on
anything else.
"""
import os
import re
import struct
from typing import Dict, Iterator, Tuple

import numpy as np

__all__ = ["TFCheckpointError", "resolve_tf_checkpoint", "is_tf_checkpoint", "read_tf_checkpoint"]

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
# DataType enum values (tensorflow/core/framework/types.proto) with a fixed-size numpy layout
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16, 6: np.int8, 9: np.int64,
           10: np.bool_, 17: np.uint16, 19: np.float16, 22: np.uint32, 23: np.uint64}


class TFCheckpointError(ValueError):
    pass


def resolve_tf_checkpoint(path: str) -> str:
    """The checkpoint prefix for ``path``: a prefix, its ``.index`` file, or a folder with a
    ``checkpoint`` file (its ``model_checkpoint_path``)."""
    if os.path.isdir(path):
        state = os.path.join(path, "checkpoint")
        if not os.path.isfile(state):
            raise TFCheckpointError(f"{path}: a folder without a 'checkpoint' file; give the checkpoint prefix")
        with open(state) as f:
            m = re.search(r'^model_checkpoint_path:\s*"(.*)"', f.read(), re.M)
        if not m:
            raise TFCheckpointError(f"{state}: no model_checkpoint_path line")
        prefix = m.group(1) if os.path.isabs(m.group(1)) else os.path.join(path, m.group(1))
    elif path.endswith(".index"):
        prefix = path[: -len(".index")]
    else:
        prefix = path
    if not os.path.isfile(prefix + ".index"):
        raise TFCheckpointError(f"{prefix}.index not found (a TF1 'V1' checkpoint or a wrong path?)")
    return prefix


def is_tf_checkpoint(path: str) -> bool:
    try:
        resolve_tf_checkpoint(path)
        return True
    except TFCheckpointError:
        return False


def _varint(buf: bytes, pos: int) -> Tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[Tuple[int, int, object]]:
    """(field number, wire type, value) of a protobuf message; bytes for length-delimited fields."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
        elif wire == 1:
            val, pos = buf[pos: pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            val, pos = buf[pos: pos + n], pos + n
        elif wire == 5:
            val, pos = buf[pos: pos + 4], pos + 4
        else:
            raise TFCheckpointError(f"unsupported protobuf wire type {wire}")
        yield num, wire, val


def _block(data: bytes, handle: bytes, where: str) -> Iterator[Tuple[bytes, bytes]]:
    """(key, value) pairs of the table block at ``handle`` (varint offset, varint size)."""
    offset, p = _varint(handle, 0)
    size, _ = _varint(handle, p)
    if offset + size + 5 > len(data):
        raise TFCheckpointError(f"{where}: truncated (block at {offset} of {size} bytes)")
    if data[offset + size] != 0:
        raise TFCheckpointError(f"{where}: compressed table blocks are not supported")
    block = data[offset: offset + size]
    num_restarts = struct.unpack_from("<I", block, size - 4)[0]
    end = size - 4 - 4 * num_restarts
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        key = key[:shared] + block[pos: pos + unshared]
        pos += unshared
        yield key, block[pos: pos + vlen]
        pos += vlen


def _entries(index_path: str) -> Iterator[Tuple[str, bytes]]:
    with open(index_path, "rb") as f:
        data = f.read()
    if len(data) < _FOOTER or struct.unpack_from("<Q", data, len(data) - 8)[0] != _MAGIC:
        raise TFCheckpointError(f"{index_path}: not a TensorFlow checkpoint index (bad magic number)")
    footer = data[-_FOOTER:]
    _, p = _varint(footer, 0)  # metaindex handle: unused
    _, p = _varint(footer, p)
    index_handle = footer[p:]
    for _, data_handle in _block(data, index_handle, index_path):
        for key, value in _block(data, data_handle, index_path):
            yield key.decode("utf-8"), value


def read_tf_checkpoint(path: str) -> Dict[str, np.ndarray]:
    """Every variable of the checkpoint at ``path`` (see :func:`resolve_tf_checkpoint`) as numpy."""
    prefix = resolve_tf_checkpoint(path)
    index = prefix + ".index"
    num_shards, entries = 1, []
    for name, value in _entries(index):
        if name == "":  # BundleHeaderProto: num_shards = 1, endianness = 2
            for num, _, val in _fields(value):
                if num == 1:
                    num_shards = val
                elif num == 2 and val != 0:
                    raise TFCheckpointError(f"{index}: big-endian checkpoints are not supported")
            continue
        entries.append((name, value))
    out, shards = {}, {}
    try:
        for name, value in entries:
            dtype, shape, shard, offset, size = 0, [], 0, 0, 0
            for num, _, val in _fields(value):
                if num == 1:
                    dtype = val
                elif num == 2:
                    shape = [next(v for n, _, v in _fields(d) if n == 1) if d else 0
                             for n2, _, d in _fields(val) if n2 == 2]
                elif num == 3:
                    shard = val
                elif num == 4:
                    offset = val
                elif num == 5:
                    size = val
                elif num == 7:
                    raise TFCheckpointError(f"{index}: {name} is a partitioned (sliced) variable: not supported")
            if dtype not in _DTYPES:
                raise TFCheckpointError(f"{index}: {name} has TF dtype {dtype} (string or other): not supported")
            if shard not in shards:
                data_path = f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"
                if not os.path.isfile(data_path):
                    raise TFCheckpointError(f"{data_path} not found (needed for {name})")
                shards[shard] = open(data_path, "rb")
            f = shards[shard]
            f.seek(offset)
            raw = f.read(size)
            dt = np.dtype(_DTYPES[dtype]).newbyteorder("<")
            count = int(np.prod(shape)) if shape else 1
            if len(raw) != size or size != count * dt.itemsize:
                raise TFCheckpointError(f"{index}: {name} {tuple(shape)} has {len(raw)} bytes of data, "
                                        f"expected {count * dt.itemsize}")
            out[name] = np.frombuffer(raw, dtype=dt).reshape(shape).astype(dt.newbyteorder("="))
    finally:
        for f in shards.values():
            f.close()
    return out
