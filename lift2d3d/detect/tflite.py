"""Read a TFLite model (flatbuffer) into plain Python objects: tensors, operators, constants.

Only what a converter of inference graphs needs is read, with the FlatBuffers
runtime (the ``flatbuffers`` package) and the table layout of TensorFlow
Lite's ``schema.fbs`` (schema version 3, as written by TF 2.x converters).
Each table field is read by its slot number in that schema; the slots used
are listed beside each reader.  Unknown operators are read too (their
options are not), so a converter can name what it does not support.

Sparse constants (``Tensor.sparsity``, consumed by ``DENSIFY`` ops) are
expanded to dense arrays by :func:`densify`, which follows TFLite's
``FormatConverter::SparseToDense`` (tensorflow/lite/kernels/internal/utils/
sparsity_format_converter.cc).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from flatbuffers import number_types as fbn
from flatbuffers.table import Table

#: TensorType -> NumPy dtype (schema.fbs ``enum TensorType``).
TENSOR_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 6: np.bool_,
                7: np.int16, 9: np.int8, 10: np.float64, 15: np.uint32, 16: np.uint16}

#: BuiltinOperator codes of the operators a converter may meet (schema.fbs ``enum BuiltinOperator``).
OPERATORS = {0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
             5: "DEPTH_TO_SPACE", 6: "DEQUANTIZE", 9: "FULLY_CONNECTED", 14: "LOGISTIC", 17: "MAX_POOL_2D",
             18: "MUL", 19: "RELU", 21: "RELU6", 22: "RESHAPE", 23: "RESIZE_BILINEAR", 25: "SOFTMAX",
             28: "TANH", 32: "CUSTOM", 34: "PAD", 39: "TRANSPOSE", 40: "MEAN", 41: "SUB", 49: "SPLIT",
             53: "CAST", 54: "PRELU", 60: "PADV2", 97: "RESIZE_NEAREST_NEIGHBOR", 98: "LEAKY_RELU",
             117: "HARD_SWISH", 124: "DENSIFY"}

#: ActivationFunctionType and Padding enums.
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
PADDINGS = {0: "SAME", 1: "VALID"}

_DENSE, _SPARSE_CSR = 0, 1
_INDEX_VECTORS = {1: fbn.Int32Flags, 2: fbn.Uint16Flags, 3: fbn.Uint8Flags}   # SparseIndexVector union


class TFLiteError(ValueError):
    """The file is not a TFLite model this reader understands."""


class _Table:
    """One flatbuffer table: fields by slot number (vtable offset 4 + 2 * slot)."""

    def __init__(self, buf, pos):
        self._tab = Table(buf, pos)

    def _offset(self, slot):
        return self._tab.Offset(4 + 2 * slot)

    def scalar(self, slot, flags, default=0):
        o = self._offset(slot)
        return self._tab.Get(flags, o + self._tab.Pos) if o else default

    def table(self, slot):
        o = self._offset(slot)
        return _Table(self._tab.Bytes, self._tab.Indirect(o + self._tab.Pos)) if o else None

    def tables(self, slot):
        o = self._offset(slot)
        if not o:
            return []
        start = self._tab.Vector(o)
        return [_Table(self._tab.Bytes, self._tab.Indirect(start + 4 * i)) for i in range(self._tab.VectorLen(o))]

    def array(self, slot, flags):
        o = self._offset(slot)
        if not o:
            return np.zeros(0, dtype=flags.py_type if flags is not fbn.Uint8Flags else np.uint8)
        return self._tab.GetVectorAsNumpy(flags, o)

    def string(self, slot):
        o = self._offset(slot)
        return self._tab.String(o + self._tab.Pos).decode("utf-8", "replace") if o else ""


@dataclass(frozen=True)
class Sparsity:
    """``SparsityParameters`` of a sparse constant.

    traversal_order : (n_levels,) int, the dimension each storage level walks
        (levels past the tensor's rank are block dimensions)
    block_map : (n_blocks,) int, the dense dimension each block dimension splits
    levels : tuple of (format, dense_size, segments, indices); format 0 dense
        (``dense_size`` entries), 1 CSR (``segments``, ``indices`` arrays)
    """

    traversal_order: tuple
    block_map: tuple
    levels: tuple


@dataclass(frozen=True)
class Tensor:
    """name; shape (tuple of int); dtype (NumPy); buffer index; sparsity or None."""

    index: int
    name: str
    shape: tuple
    dtype: type
    buffer: int
    sparsity: Sparsity | None = None


@dataclass(frozen=True)
class Operator:
    """opcode name (``OPERATORS``, or ``"BUILTIN_<code>"``), tensor indices (-1: absent), options."""

    index: int
    opcode: str
    inputs: tuple
    outputs: tuple
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Model:
    """The first subgraph of a TFLite model, with its constant buffers."""

    tensors: tuple
    operators: tuple
    inputs: tuple
    outputs: tuple
    buffers: tuple
    version: int
    description: str

    def constant(self, index: int) -> np.ndarray | None:
        """The value of tensor ``index`` if it is stored in the file (sparse values: flat, as stored)."""
        tensor = self.tensors[index]
        data = self.buffers[tensor.buffer] if tensor.buffer < len(self.buffers) else b""
        if not len(data):
            return None
        values = np.frombuffer(data, dtype=np.dtype(tensor.dtype).newbyteorder("<"))
        if tensor.sparsity is not None:
            return values.copy()
        return values.reshape(tensor.shape).copy()


# Options per operator: (field, slot, flags, default), schema.fbs tables *Options.
_I32, _BOOL, _I8 = fbn.Int32Flags, fbn.BoolFlags, fbn.Int8Flags
_OPTIONS = {
    "CONV_2D": [("padding", 0, _I8, 0), ("stride_w", 1, _I32, 0), ("stride_h", 2, _I32, 0),
                ("activation", 3, _I8, 0), ("dilation_w", 4, _I32, 1), ("dilation_h", 5, _I32, 1)],
    "DEPTHWISE_CONV_2D": [("padding", 0, _I8, 0), ("stride_w", 1, _I32, 0), ("stride_h", 2, _I32, 0),
                          ("depth_multiplier", 3, _I32, 0), ("activation", 4, _I8, 0),
                          ("dilation_w", 5, _I32, 1), ("dilation_h", 6, _I32, 1)],
    "MAX_POOL_2D": [("padding", 0, _I8, 0), ("stride_w", 1, _I32, 0), ("stride_h", 2, _I32, 0),
                    ("filter_w", 3, _I32, 0), ("filter_h", 4, _I32, 0), ("activation", 5, _I8, 0)],
    "ADD": [("activation", 0, _I8, 0)],
    "CONCATENATION": [("axis", 0, _I32, 0), ("activation", 1, _I8, 0)],
    "RESIZE_BILINEAR": [("align_corners", 2, _BOOL, False), ("half_pixel_centers", 3, _BOOL, False)],
    "DEPTH_TO_SPACE": [("block_size", 0, _I32, 0)],
}
_OPTIONS["AVERAGE_POOL_2D"] = _OPTIONS["MAX_POOL_2D"]
_ENUMS = {"padding": PADDINGS, "activation": ACTIVATIONS}


def _options(opcode: str, table: _Table | None) -> dict:
    out = {}
    for name, slot, flags, default in _OPTIONS.get(opcode, ()):
        value = table.scalar(slot, flags, default) if table is not None else default
        if name in _ENUMS:
            value = _ENUMS[name].get(value, f"UNKNOWN_{value}")
        out[name] = value
    return out


def _sparsity(table: _Table | None) -> Sparsity | None:
    # SparsityParameters: traversal_order 0, block_map 1, dim_metadata 2.
    # DimensionMetadata: format 0, dense_size 1, array_segments_type 2, array_segments 3,
    # array_indices_type 4, array_indices 5; the index vectors hold `values` in slot 0.
    if table is None:
        return None
    levels = []
    for dim in table.tables(2):
        fmt = dim.scalar(0, fbn.Int8Flags, 0)
        segments = indices = None
        if fmt == _SPARSE_CSR:
            arrays = []
            for type_slot, value_slot in ((2, 3), (4, 5)):
                kind = dim.scalar(type_slot, fbn.Uint8Flags, 0)
                if kind not in _INDEX_VECTORS:
                    raise TFLiteError(f"sparse tensor index vector of unknown type {kind}")
                arrays.append(dim.table(value_slot).array(0, _INDEX_VECTORS[kind]).astype(np.int64))
            segments, indices = arrays
        levels.append((int(fmt), int(dim.scalar(1, fbn.Int32Flags, 0)), segments, indices))
    return Sparsity(tuple(int(v) for v in table.array(0, fbn.Int32Flags)),
                    tuple(int(v) for v in table.array(1, fbn.Int32Flags)), tuple(levels))


def read_model(content: bytes) -> Model:
    """Parse a TFLite flatbuffer (its first subgraph).

    Raises
    ------
    TFLiteError
        When ``content`` is not a TFLite flatbuffer (file identifier ``TFL3``).
    """
    content = bytes(content)
    if len(content) < 8 or content[4:8] != b"TFL3":
        raise TFLiteError("not a TFLite model (the flatbuffer file identifier is not 'TFL3')")
    root = _Table(content, int.from_bytes(content[:4], "little"))
    # Model: version 0, operator_codes 1, subgraphs 2, description 3, buffers 4.
    codes = []
    for code in root.tables(1):
        # OperatorCode: deprecated_builtin_code 0 (int8, codes < 127), builtin_code 3 (int32).
        builtin = max(code.scalar(0, fbn.Int8Flags, 0), code.scalar(3, fbn.Int32Flags, 0))
        codes.append(OPERATORS.get(builtin, f"BUILTIN_{builtin}"))
    buffers = []
    for buf in root.tables(4):
        # Buffer: data 0; offset 1 and size 2 (uint64) for data stored after the flatbuffer.
        offset, size = buf.scalar(1, fbn.Uint64Flags, 0), buf.scalar(2, fbn.Uint64Flags, 0)
        buffers.append(content[offset:offset + size] if offset > 1 else buf.array(0, fbn.Uint8Flags).tobytes())
    subgraphs = root.tables(2)
    if not subgraphs:
        raise TFLiteError("the TFLite model has no subgraph")
    graph = subgraphs[0]
    tensors = []
    # SubGraph: tensors 0, inputs 1, outputs 2, operators 3.
    for i, t in enumerate(graph.tables(0)):
        # Tensor: shape 0, type 1, buffer 2, name 3, sparsity 6.
        kind = t.scalar(1, fbn.Int8Flags, 0)
        if kind not in TENSOR_TYPES:
            raise TFLiteError(f"tensor {i} has TFLite type {kind}, which this reader does not know")
        tensors.append(Tensor(i, t.string(3), tuple(int(v) for v in t.array(0, fbn.Int32Flags)),
                              TENSOR_TYPES[kind], int(t.scalar(2, fbn.Uint32Flags, 0)), _sparsity(t.table(6))))
    operators = []
    for i, op in enumerate(graph.tables(3)):
        # Operator: opcode_index 0, inputs 1, outputs 2, builtin_options 4.
        opcode = codes[op.scalar(0, fbn.Uint32Flags, 0)]
        operators.append(Operator(i, opcode, tuple(int(v) for v in op.array(1, fbn.Int32Flags)),
                                  tuple(int(v) for v in op.array(2, fbn.Int32Flags)),
                                  _options(opcode, op.table(4))))
    return Model(tuple(tensors), tuple(operators), tuple(int(v) for v in graph.array(1, fbn.Int32Flags)),
                 tuple(int(v) for v in graph.array(2, fbn.Int32Flags)), tuple(buffers),
                 int(root.scalar(0, fbn.Uint32Flags, 0)), root.string(3))


def densify(values: np.ndarray, shape: tuple, sparsity: Sparsity) -> np.ndarray:
    """Expand a TFLite sparse tensor to its dense array.

    Parameters
    ----------
    values : (n_stored,) array, the stored (non-zero) values in storage order
    shape : tuple of int, the dense shape
    sparsity : Sparsity

    Returns
    -------
    dense : ``shape`` array of ``values.dtype``, zeros where nothing is stored

    Storage walks ``len(traversal_order)`` levels; level ``k`` iterates
    dimension ``traversal_order[k]``: all ``dense_size`` positions of a
    dense level, or for a CSR level the ``indices[segments[p]:segments[p+1]]``
    of its parent position ``p``.  The leaves, in this order, are the stored
    values.  Levels past the rank are blocks: their index is the offset
    inside block dimension ``block_map[k - rank]``.
    """
    rank = len(shape)
    order, block_map = sparsity.traversal_order, sparsity.block_map
    if len(sparsity.levels) != len(order):
        raise TFLiteError(f"sparse tensor: {len(sparsity.levels)} dimension records for {len(order)} levels")
    # Block sizes: the dense size of the block levels, per dense dimension they split.
    block_size = [sparsity.levels[k][1] for k in range(len(order)) if order[k] >= rank]
    positions = np.zeros(1, dtype=np.int64)       # the parent position of each partial path
    paths = np.zeros((1, 0), dtype=np.int64)      # the indices chosen so far, one column per level
    for fmt, dense_size, segments, indices in sparsity.levels:
        if fmt == _DENSE:
            child = np.arange(dense_size, dtype=np.int64)
            positions = (positions[:, None] * dense_size + child[None, :]).ravel()
            paths = np.hstack([np.repeat(paths, dense_size, axis=0), np.tile(child, len(paths))[:, None]])
        else:
            starts, stops = segments[positions], segments[positions + 1]
            counts = stops - starts
            # The child positions of every parent, concatenated in parent order.
            offsets = np.arange(counts.sum(), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
            positions = np.repeat(starts, counts) + offsets
            paths = np.hstack([np.repeat(paths, counts, axis=0), indices[positions][:, None]])
    if len(paths) != len(values):
        raise TFLiteError(f"sparse tensor: the index structure names {len(paths)} values, {len(values)} stored")
    dense_index = np.zeros((len(paths), rank), dtype=np.int64)
    for level, dim in enumerate(order[:rank]):
        dense_index[:, dim] = paths[:, level]
    for level in range(rank, len(order)):
        block = order[level] - rank
        dim = block_map[block]
        dense_index[:, dim] = dense_index[:, dim] * block_size[block] + paths[:, level]
    dense = np.zeros(shape, dtype=values.dtype)
    dense[tuple(dense_index.T)] = values
    return dense
