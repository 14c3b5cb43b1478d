"""TFLite -> ONNX for float CNN inference graphs (BlazePose's detector and landmark models).

Needs ``onnx`` (graph helpers, checker, shape inference) and ``flatbuffers``
(through :mod:`.tflite`); no TensorFlow.

Layout.  TFLite is NHWC; ONNX's Conv, MaxPool, Resize and DepthToSpace are
NCHW.  The converted graph keeps TFLite's interface (NHWC input and outputs,
the same tensor names and static shapes) and computes in NCHW inside: each
TFLite tensor may exist in the ONNX graph as its NHWC value, its NCHW value,
or both, and a Transpose is inserted where an operator needs the other one
(the first convolution, a RESHAPE, a graph output) -- a Reshape where only
axes of size 1 move, as tf2onnx does.

Constants.  Weights stored as float16 behind ``DEQUANTIZE`` ops, and sparse
weights behind ``DENSIFY`` ops, are evaluated here (float16 -> float32 is
exact) and stored as float32 initializers, so both ops disappear and ONNX
Runtime sees plain dense float32 convolutions, as TFLite's reference
kernels compute them.

Operators covered (all that the BlazePose full models use): ADD, CONCATENATION,
CONV_2D, DEPTHWISE_CONV_2D, DENSIFY, DEPTH_TO_SPACE, DEQUANTIZE, LOGISTIC,
MAX_POOL_2D, PAD, RESHAPE, RESIZE_BILINEAR, with fused NONE/RELU/RELU6/
RELU_N1_TO_1/TANH activations.  Anything else raises
:class:`ConversionError` naming the operator.

Node and value names depend only on the TFLite graph, so converting the
same file twice gives the same bytes (for a given ``onnx`` version).
"""

from __future__ import annotations

import numpy as np

from . import tflite

OPSET = 13

#: Smallest scale of :func:`relative_difference`: a tensor whose largest value is below it (a
#: sigmoid far in its tail) is compared in absolute terms.
SCALE_FLOOR = 1e-3


def relative_difference(value: np.ndarray, reference: np.ndarray, scale: float | None = None) -> float:
    """``max |value - reference| / max(max |reference|, SCALE_FLOOR)``, the agreement measure.

    ``scale`` replaces ``max |reference|`` when only part of a tensor is compared.
    """
    reference = np.asarray(reference, dtype=np.float64)
    scale = float(np.abs(reference).max()) if scale is None else float(scale)
    return float(np.abs(np.asarray(value, dtype=np.float64) - reference).max() / max(scale, SCALE_FLOOR))


#: NHWC axis -> NCHW axis, and the Transpose permutations between the two.
_TO_NCHW, _TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)


class ConversionError(ValueError):
    """The TFLite graph uses something this converter does not handle."""


def _same_order(shape):
    """Whether an NHWC ``shape`` holds its elements in the same order as its NCHW transpose
    (the axes that move all have size 1: a (1, 1, 1, C) vector, a one-channel mask)."""
    return [a for a in (0, 1, 2, 3) if shape[a] != 1] == [a for a in _TO_NCHW if shape[a] != 1]


def _same_pads(in_size, kernel, stride, dilation):
    """TFLite SAME padding (extra pixel after), for one spatial axis: (before, after)."""
    out = -(-in_size // stride)
    effective = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + effective - in_size, 0)
    return total // 2, total - total // 2


class _Converter:
    def __init__(self, model: tflite.Model, graph_name: str):
        import onnx  # noqa: F401  (fail early with the import error)
        self.model = model
        self.graph_name = graph_name
        self.nodes, self.initializers = [], []
        self.nhwc, self.nchw = {}, {}      # tensor index -> ONNX value name
        self.const = {}                    # tensor index -> np.ndarray (NHWC / TFLite layout)
        self.outputs = {i: model.tensors[i].name for i in model.outputs}
        self.counts = {}
        self.initializer_names = set()
        for i in range(len(model.tensors)):
            value = model.constant(i)   # weights; sparse ones flat, as stored, until their DENSIFY
            if value is not None:
                self.const[i] = value
        for i in model.inputs:
            self.nhwc[i] = model.tensors[i].name

    # -- graph pieces ------------------------------------------------------------------

    def node(self, op_type, inputs, output, **attrs):
        from onnx import helper
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=f"{output}/{op_type}", **attrs))
        return output

    def initializer(self, name, array):
        """Add a constant (once: names derive from the TFLite tensor, which ops may share)."""
        from onnx import numpy_helper
        if name not in self.initializer_names:
            self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
            self.initializer_names.add(name)
        return name

    def scalar(self, value):
        """A shared float32 scalar initializer (Clip bounds)."""
        return self.initializer(f"scalar_{value:g}", np.array(value, dtype=np.float32))

    def _value_name(self, index, layout):
        # Graph outputs keep their TFLite names on their NHWC value.
        if layout == "nhwc" and index in self.outputs:
            return self.outputs[index]
        return f"t{index}" if layout == "nhwc" else f"t{index}_nchw"

    def _relayout(self, index, source, layout):
        """``source`` (the other layout's value of tensor ``index``) in ``layout``: a Transpose,
        or a Reshape where the element order is the same in both layouts."""
        shape = self.shape(index)
        target = self._value_name(index, layout)
        if _same_order(shape):
            dims = [shape[a] for a in _TO_NCHW] if layout == "nchw" else list(shape)
            return self.node("Reshape", [source, self.initializer(f"t{index}_{layout}_shape",
                                                                  np.array(dims, dtype=np.int64))], target)
        return self.node("Transpose", [source], target, perm=_TO_NCHW if layout == "nchw" else _TO_NHWC)

    def as_nchw(self, index):
        if index in self.nchw:
            return self.nchw[index]
        if index in self.const:
            name = self.initializer(f"t{index}_nchw", np.transpose(self.const[index], _TO_NCHW).astype(np.float32))
        else:
            name = self._relayout(index, self.nhwc[index], "nchw")
        self.nchw[index] = name
        return name

    def as_nhwc(self, index):
        if index in self.nhwc:
            return self.nhwc[index]
        if index in self.const:
            name = self.initializer(f"t{index}", self.const[index].astype(np.float32))
        elif self.rank(index) == 4:
            name = self._relayout(index, self.nchw[index], "nhwc")
        else:
            raise ConversionError(f"tensor {self.model.tensors[index].name!r} has no value")
        self.nhwc[index] = name
        return name

    def rank(self, index):
        return len(self.model.tensors[index].shape)

    def shape(self, index):
        return self.model.tensors[index].shape

    def constant(self, op, k, what):
        index = op.inputs[k]
        if index not in self.const:
            raise ConversionError(f"operator {op.index} ({op.opcode}): the {what} must be a constant")
        return self.const[index]

    def before_activation(self, op, layout, suffix):
        """Name of the value an op computes before its fused activation (its output if none)."""
        if op.options.get("activation", "NONE") == "NONE":
            return self._value_name(op.outputs[0], layout)
        return f"t{op.outputs[0]}_{suffix}"

    def activation(self, op, value, layout):
        """Apply the fused activation of ``op`` to ``value``; register the op's output."""
        out = op.outputs[0]
        kind = op.options.get("activation", "NONE")
        final = self._value_name(out, layout)
        if kind == "NONE":
            assert value == final, (value, final)
        elif kind == "RELU":
            value = self.node("Relu", [value], final)
        elif kind in ("RELU6", "RELU_N1_TO_1"):
            low, high = (0.0, 6.0) if kind == "RELU6" else (-1.0, 1.0)
            value = self.node("Clip", [value, self.scalar(low), self.scalar(high)], final)
        elif kind == "TANH":
            value = self.node("Tanh", [value], final)
        else:
            raise ConversionError(f"operator {op.index} ({op.opcode}): fused activation {kind} not supported")
        (self.nchw if layout == "nchw" else self.nhwc)[out] = value
        return value

    # -- operators ---------------------------------------------------------------------

    def convert(self):
        for op in self.model.operators:
            handler = getattr(self, f"op_{op.opcode.lower()}", None)
            if handler is None:
                raise ConversionError(f"operator {op.index} is {op.opcode}, which the converter does not support")
            handler(op)
            self.counts[op.opcode] = self.counts.get(op.opcode, 0) + 1
        for index in self.model.outputs:
            self.as_nhwc(index)
        return self.build()

    def op_dequantize(self, op):
        source = op.inputs[0]
        if source in self.const:
            self.const[op.outputs[0]] = self.const[source].astype(np.float32)
        else:
            layout = "nchw" if source in self.nchw else "nhwc"
            value = (self.nchw if layout == "nchw" else self.nhwc)[source]
            (self.nchw if layout == "nchw" else self.nhwc)[op.outputs[0]] = self.node(
                "Cast", [value], self._value_name(op.outputs[0], layout), to=1)

    def op_densify(self, op):
        tensor = self.model.tensors[op.inputs[0]]
        if tensor.sparsity is None or op.inputs[0] not in self.const:
            raise ConversionError(f"operator {op.index} (DENSIFY): its input is not a sparse constant")
        self.const[op.outputs[0]] = tflite.densify(self.const[op.inputs[0]], tensor.shape, tensor.sparsity)

    def _conv_pads(self, op, kernel_hw):
        o = op.options
        _, h, w, _ = self.shape(op.inputs[0])
        if o["padding"] == "VALID":
            return [0, 0, 0, 0]
        if o["padding"] != "SAME":
            raise ConversionError(f"operator {op.index} ({op.opcode}): padding {o['padding']}")
        top, bottom = _same_pads(h, kernel_hw[0], o["stride_h"], o.get("dilation_h", 1))
        left, right = _same_pads(w, kernel_hw[1], o["stride_w"], o.get("dilation_w", 1))
        return [top, left, bottom, right]

    def _bias(self, op, n_out):
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            return self.initializer(f"t{op.inputs[2]}", self.constant(op, 2, "bias").astype(np.float32).reshape(n_out))
        return None

    def _conv(self, op, weights_oihw, group):
        o = op.options
        kernel = weights_oihw.shape[2:]
        inputs = [self.as_nchw(op.inputs[0]), self.initializer(f"t{op.inputs[1]}_oihw", weights_oihw)]
        bias = self._bias(op, weights_oihw.shape[0])
        if bias:
            inputs.append(bias)
        value = self.node("Conv", inputs, self.before_activation(op, "nchw", "conv"), kernel_shape=list(kernel),
                          strides=[o["stride_h"], o["stride_w"]], dilations=[o["dilation_h"], o["dilation_w"]],
                          pads=self._conv_pads(op, kernel), group=group)
        self.activation(op, value, "nchw")

    def op_conv_2d(self, op):
        weights = self.constant(op, 1, "filter")                           # (O, kh, kw, I)
        self._conv(op, np.transpose(weights, (0, 3, 1, 2)).astype(np.float32), group=1)

    def op_depthwise_conv_2d(self, op):
        weights = self.constant(op, 1, "filter")                           # (1, kh, kw, C * multiplier)
        channels = self.shape(op.inputs[0])[3]
        if weights.shape[0] != 1 or weights.shape[3] != channels * max(op.options["depth_multiplier"], 1):
            raise ConversionError(f"operator {op.index} (DEPTHWISE_CONV_2D): filter shape {weights.shape} "
                                  f"for {channels} input channels")
        # One group per input channel: ONNX weights (C * multiplier, 1, kh, kw).
        self._conv(op, np.transpose(weights, (3, 0, 1, 2)).astype(np.float32), group=channels)

    def op_max_pool_2d(self, op):
        o = op.options
        kernel = (o["filter_h"], o["filter_w"])
        # ONNX MaxPool ignores padded cells, as TFLite's SAME pooling does.
        value = self.node("MaxPool", [self.as_nchw(op.inputs[0])], self.before_activation(op, "nchw", "pool"),
                          kernel_shape=list(kernel), strides=[o["stride_h"], o["stride_w"]],
                          pads=self._conv_pads(op, kernel))
        self.activation(op, value, "nchw")

    def _elementwise_layout(self, indices):
        return "nchw" if all(self.rank(i) == 4 for i in indices) else "nhwc"

    def op_add(self, op):
        a, b = op.inputs[:2]
        layout = self._elementwise_layout([a, b])
        get = self.as_nchw if layout == "nchw" else self.as_nhwc
        if self.shape(a) != self.shape(b) and layout == "nchw":
            raise ConversionError(f"operator {op.index} (ADD): broadcasting {self.shape(a)} + {self.shape(b)}")
        value = self.node("Add", [get(a), get(b)], self.before_activation(op, layout, "add"))
        self.activation(op, value, layout)

    def op_logistic(self, op):
        source = op.inputs[0]
        layout = "nchw" if source in self.nchw else "nhwc"
        value = self.as_nchw(source) if layout == "nchw" else self.as_nhwc(source)
        out = op.outputs[0]
        (self.nchw if layout == "nchw" else self.nhwc)[out] = self.node("Sigmoid", [value],
                                                                      self._value_name(out, layout))

    def op_pad(self, op):
        pads = self.constant(op, 1, "paddings").astype(np.int64).reshape(-1, 2)     # (rank, 2) before/after
        layout = "nchw" if len(pads) == 4 else "nhwc"
        if layout == "nchw":
            pads = pads[list(_TO_NCHW)]
        source = self.as_nchw(op.inputs[0]) if layout == "nchw" else self.as_nhwc(op.inputs[0])
        name = self.initializer(f"t{op.inputs[1]}_onnx_pads", np.concatenate([pads[:, 0], pads[:, 1]]))
        out = op.outputs[0]
        (self.nchw if layout == "nchw" else self.nhwc)[out] = self.node(
            "Pad", [source, name], self._value_name(out, layout), mode="constant")

    def op_resize_bilinear(self, op):
        o = op.options
        if o["align_corners"]:
            mode = "align_corners"
        elif o["half_pixel_centers"]:
            # TFLite clamps the source coordinate to the image, as ONNX Runtime's linear mode does.
            mode = "half_pixel"
        else:
            mode = "asymmetric"
        n, _, _, c = self.shape(op.inputs[0])
        height, width = (int(v) for v in self.constant(op, 1, "size"))
        sizes = self.initializer(f"t{op.outputs[0]}_sizes", np.array([n, c, height, width], dtype=np.int64))
        out = op.outputs[0]
        self.nchw[out] = self.node("Resize", [self.as_nchw(op.inputs[0]), "", "", sizes],
                                   self._value_name(out, "nchw"), mode="linear",
                                   coordinate_transformation_mode=mode)

    def op_depth_to_space(self, op):
        # TFLite's channel order inside a block is ONNX's "DCR".
        out = op.outputs[0]
        self.nchw[out] = self.node("DepthToSpace", [self.as_nchw(op.inputs[0])], self._value_name(out, "nchw"),
                                   blocksize=op.options["block_size"], mode="DCR")

    def op_reshape(self, op):
        source, out = op.inputs[0], op.outputs[0]
        shape = self.initializer(f"t{out}_shape", np.array(self.shape(out), dtype=np.int64))
        value = self.nhwc.get(source)
        if value is None and self.rank(source) == 4 and source in self.nchw and _same_order(self.shape(source)):
            value = self.nchw[source]          # same element order: reshape the NCHW value directly
        self.nhwc[out] = self.node("Reshape", [value or self.as_nhwc(source), shape], self._value_name(out, "nhwc"))

    def op_concatenation(self, op):
        axis = op.options["axis"]
        rank = self.rank(op.inputs[0])
        axis = axis + rank if axis < 0 else axis
        layout = self._elementwise_layout(op.inputs)
        if layout == "nchw":
            values, axis = [self.as_nchw(i) for i in op.inputs], _TO_NCHW.index(axis)
        else:
            values = [self.as_nhwc(i) for i in op.inputs]
        value = self.node("Concat", values, self.before_activation(op, layout, "concat"), axis=axis)
        self.activation(op, value, layout)

    # -- the model ---------------------------------------------------------------------

    def build(self):
        from onnx import TensorProto, helper

        def info(index):
            return helper.make_tensor_value_info(self.model.tensors[index].name, TensorProto.FLOAT,
                                                 list(self.shape(index)))

        for index in [*self.model.inputs, *self.model.outputs]:
            if self.model.tensors[index].dtype is not np.float32:
                raise ConversionError(f"graph input/output {self.model.tensors[index].name!r} is not float32")
        graph = helper.make_graph(self.nodes, self.graph_name, [info(i) for i in self.model.inputs],
                                  [info(i) for i in self.model.outputs], initializer=self.initializers)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                 producer_name="lift2d3d.detect.tflite_to_onnx")


def convert(content: bytes, graph_name: str = "tflite"):
    """Convert a TFLite flatbuffer to a checked ONNX model.

    Returns
    -------
    model : onnx.ModelProto
        Checked by ``onnx.checker`` and by ONNX shape inference: every value
        whose shape the TFLite file records gets the same shape (transposed
        where it is held in NCHW).
    report : dict
        ``operators`` (TFLite operator counts), ``densified`` (sparse tensors
        expanded), ``opset``, ``onnx`` (version).
    """
    import onnx

    model = tflite.read_model(content)
    converter = _Converter(model, graph_name)
    onnx_model = converter.convert()
    onnx.checker.check_model(onnx_model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(onnx_model, check_type=True, strict_mode=True)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in [*inferred.graph.value_info, *inferred.graph.output]}
    for layout, table in (("nhwc", converter.nhwc), ("nchw", converter.nchw)):
        for index, name in table.items():
            if name not in shapes:
                continue
            expected = list(model.tensors[index].shape)
            if layout == "nchw":
                expected = [expected[a] for a in _TO_NCHW]
            if shapes[name] != expected:
                raise ConversionError(f"tensor {model.tensors[index].name!r}: ONNX shape {shapes[name]} differs "
                                      f"from TFLite's {expected} ({layout})")
    report = {"operators": dict(sorted(converter.counts.items())), "densified": converter.counts.get("DENSIFY", 0),
              "opset": OPSET, "onnx": onnx.__version__}
    return onnx_model, report
