"""Decode a pandas HDF5 table (DeepLabCut's ``.h5``) with h5py, in a process of its own.

Run as a script by :mod:`lift2d3d.io.hdf5` (``python _hdf5_child.py FILE OUT.npz``): it
imports nothing of lift2d3d, only numpy, h5py and the standard library, so a
corrupt file that crashes the HDF5 C library kills this process, never the
caller.  Nothing is unpickled: pandas' "table" layout keeps its column names
in attributes that PyTables pickled (protocol 0); :func:`literal_from_pickle`
reads their opcodes and accepts only lists, tuples, dicts, strings, numbers,
booleans and None -- an opcode that would import or call anything is an
error, so a crafted file cannot run code.

Layouts (``DataFrame.to_hdf``): "table" (``/key/table``, a compound dataset
with the index and ``values_block_<k>`` fields, column names in the
``values_block_<k>_kind`` attributes and the level names in ``info``) and
"fixed" (``/key/axis0_level<k>`` / ``axis0_label<k>`` for MultiIndex columns,
``axis1`` or ``axis1_level/label`` for the index, ``block<b>_values`` with
``block<b>_items_level/label``).

Output (``OUT.npz``, plain arrays only): ``values`` (n_rows, n_columns)
float64, ``columns`` (n_columns, n_levels) str, ``level_names`` (n_levels,)
str, ``index_<k>`` one array per index level, ``key`` the table's key.
Errors: exit status 3 and one line on stderr.
"""

import os
import sys

# run as a script, this folder is sys.path[0]: take it off, so that no module here shadows one h5py needs
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import pickletools  # noqa: E402

#: The opcodes of plain data: containers, strings, numbers, memo bookkeeping.  Everything else
#: (GLOBAL, STACK_GLOBAL, REDUCE, BUILD, INST, OBJ, NEWOBJ, EXT*, PERSID ...) would import or call.
_PUSH = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING", "SHORT_BINSTRING",
         "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8",
         "FLOAT", "BINFLOAT"}
#: Bounds that keep a decoded attribute small (DeepLabCut's hold a few thousand items).
_MAX_ITEMS = 1_000_000
_MAX_DEPTH = 64


class NotPlainData(ValueError):
    pass


def literal_from_pickle(data: bytes):
    """The value of a pickle that holds only plain data; NotPlainData for anything else."""
    stack, marks, memo, items = [], [], {}, 0

    def pop_mark():
        if not marks:
            raise NotPlainData("unbalanced pickle")
        start = marks.pop()
        values = stack[start:]
        del stack[start:]
        return values

    def depth(value, level=0):
        if level > _MAX_DEPTH:
            raise NotPlainData("nested too deeply")
        if isinstance(value, (list, tuple)):
            for v in value:
                depth(v, level + 1)
        elif isinstance(value, dict):
            for v in value.values():
                depth(v, level + 1)

    try:
        for opcode, arg, _ in pickletools.genops(data):
            name = opcode.name
            items += 1
            if items > _MAX_ITEMS:
                raise NotPlainData("too large")
            if name in _PUSH:
                stack.append(arg)
            elif name in ("PROTO", "FRAME"):
                continue
            elif name == "NONE":
                stack.append(None)
            elif name == "NEWTRUE":
                stack.append(True)
            elif name == "NEWFALSE":
                stack.append(False)
            elif name == "MARK":
                marks.append(len(stack))
            elif name == "EMPTY_LIST":
                stack.append([])
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name == "EMPTY_DICT":
                stack.append({})
            elif name == "LIST":
                stack.append(pop_mark())
            elif name == "TUPLE":
                stack.append(tuple(pop_mark()))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                if len(stack) < n:
                    raise NotPlainData("short stack")
                values = tuple(stack[-n:])
                del stack[-n:]
                stack.append(values)
            elif name == "DICT":
                values = pop_mark()
                stack.append(dict(zip(values[::2], values[1::2])))
            elif name == "APPEND":
                value = stack.pop()
                if not isinstance(stack[-1], list):
                    raise NotPlainData("APPEND to a non-list")
                stack[-1].append(value)
            elif name == "APPENDS":
                values = pop_mark()
                if not isinstance(stack[-1], list):
                    raise NotPlainData("APPENDS to a non-list")
                stack[-1].extend(values)
            elif name == "SETITEM":
                value, key = stack.pop(), stack.pop()
                if not isinstance(stack[-1], dict):
                    raise NotPlainData("SETITEM on a non-dict")
                stack[-1][key] = value
            elif name == "SETITEMS":
                values = pop_mark()
                if not isinstance(stack[-1], dict):
                    raise NotPlainData("SETITEMS on a non-dict")
                stack[-1].update(zip(values[::2], values[1::2]))
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = stack[-1]
            elif name == "MEMOIZE":
                memo[len(memo)] = stack[-1]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo[arg])
            elif name == "POP":
                stack.pop()
            elif name == "STOP":
                break
            else:
                raise NotPlainData(f"the pickle would run code ({name}); it is never loaded")
    except NotPlainData:
        raise
    except Exception as exc:  # a malformed opcode stream: IndexError, KeyError, ValueError ...
        raise NotPlainData(f"malformed pickle ({type(exc).__name__})") from None
    if len(stack) != 1:
        raise NotPlainData("malformed pickle")
    depth(stack[0])
    return stack[0]


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if hasattr(value, "tobytes") and getattr(value, "dtype", None) is not None and value.dtype.kind == "S":
        return value.tobytes().decode("utf-8", errors="replace")
    return str(value)


def _attr(node, name, default=None):
    try:
        value = node.attrs[name]
    except KeyError:
        return default
    except Exception as exc:   # an attribute h5py cannot decode
        raise ValueError(f"attribute {name} of {node.name} cannot be read ({type(exc).__name__})") from None
    return value


def _pickled_attr(node, name):
    raw = _attr(node, name)
    if raw is None:
        return None
    raw = raw.tobytes() if hasattr(raw, "tobytes") else bytes(raw) if isinstance(raw, (bytes, bytearray)) else None
    if raw is None:
        raise ValueError(f"attribute {name} of {node.name} is not a pandas attribute")
    return literal_from_pickle(raw)


def _strings(array):
    import numpy as np

    array = np.asarray(array)
    if array.dtype.kind == "S":
        return np.array([v.decode("utf-8", errors="replace") for v in array.ravel()], dtype=str)
    if array.dtype.kind == "O":
        return np.array([_text(v) for v in array.ravel()], dtype=str)
    return array.ravel()


def _axis(group, prefix, length=None):
    """An axis of the fixed layout: (n, n_levels) str and level names, or the plain index values."""
    import numpy as np

    variety = _text(_attr(group, f"{prefix}_variety", b"regular"))
    if variety == "multi":
        nlevels = int(_attr(group, f"{prefix}_nlevels"))
        if not 0 < nlevels <= 16:
            raise ValueError(f"{prefix} has {nlevels} levels")
        levels, names = [], []
        for k in range(nlevels):
            level = group[f"{prefix}_level{k}"]
            labels = np.asarray(group[f"{prefix}_label{k}"][()]).astype(np.int64).ravel()
            values = _strings(level[()])
            if labels.size and (labels.min() < -1 or labels.max() >= len(values)):
                raise ValueError(f"{prefix}_label{k} points outside its level")
            levels.append(np.where(labels >= 0, values[np.clip(labels, 0, max(len(values) - 1, 0))]
                                   if len(values) else "", ""))
            names.append(_text(_attr(level, "name", b"")))
        if len({len(v) for v in levels}) != 1:
            raise ValueError(f"{prefix}'s levels have different lengths")
        return np.stack(levels, axis=1), names
    values = group[prefix][()]
    return np.asarray(values), [_text(_attr(group[prefix], "name", b""))]


def _read_fixed(group):
    import numpy as np

    columns, level_names = _axis(group, "axis0")
    if columns.ndim == 1:
        columns = _strings(columns)[:, None]
    index, _ = _axis(group, "axis1")
    n_rows = index.shape[0]
    values = np.full((n_rows, len(columns)), np.nan)
    position = {tuple(c): k for k, c in enumerate(columns.tolist())}
    nblocks = int(_attr(group, "nblocks", 0))
    if not 0 < nblocks <= 1024:
        raise ValueError(f"{nblocks} value blocks")
    for b in range(nblocks):
        items, _ = _axis(group, f"block{b}_items")
        if items.ndim == 1:
            items = _strings(items)[:, None]
        block = np.asarray(group[f"block{b}_values"][()])
        if block.dtype.kind not in "fiub" or block.ndim != 2 or block.shape != (n_rows, len(items)):
            raise ValueError(f"block{b}_values is not a numeric ({n_rows}, {len(items)}) array")
        for k, item in enumerate(items.tolist()):
            where = position.get(tuple(item))
            if where is None:
                raise ValueError(f"block{b} holds a column not among the table's columns")
            values[:, where] = block[:, k]
    index_levels = [index[:, k] for k in range(index.shape[1])] if index.ndim == 2 else [index]
    return values, columns, level_names, index_levels


def _read_table(group):
    import numpy as np

    table = group["table"]
    data = table[()]
    if data.dtype.names is None:
        raise ValueError("the table dataset has no fields")
    order = _pickled_attr(group, "non_index_axes")
    info = _pickled_attr(group, "info") or {}
    index_cols = _pickled_attr(group, "index_cols") or [(0, "index")]
    if not (isinstance(order, list) and order and isinstance(order[0], tuple) and len(order[0]) == 2):
        raise ValueError("non_index_axes is not pandas' [(axis, columns)]")
    all_columns = [c if isinstance(c, tuple) else (c,) for c in order[0][1]]
    position = {c: k for k, c in enumerate(all_columns)}
    values = np.full((len(data), len(all_columns)), np.nan)
    filled = np.zeros(len(all_columns), dtype=bool)
    for field in data.dtype.names:
        if not field.startswith("values_block_"):
            continue
        kinds = _pickled_attr(table, f"{field}_kind")
        if not isinstance(kinds, list):
            raise ValueError(f"{field}_kind is not a list of columns")
        block = np.asarray(data[field])
        block = block.reshape(len(data), -1)
        if block.dtype.kind not in "fiub" or block.shape[1] != len(kinds):
            raise ValueError(f"{field} is not a numeric block of {len(kinds)} columns")
        for k, column in enumerate(kinds):
            column = column if isinstance(column, tuple) else (column,)
            where = position.get(column)
            if where is None:
                raise ValueError(f"{field} holds a column not among the table's columns")
            values[:, where] = block[:, k]
            filled[where] = True
    if not filled.all():
        raise ValueError("some columns are data columns of their own, which DeepLabCut never writes")
    names = (info.get(1) or {}).get("names") if isinstance(info, dict) else None
    level_names = [str(n) if n is not None else "" for n in names] if isinstance(names, list) else []
    width = max((len(c) for c in all_columns), default=0)
    if len(level_names) != width:
        level_names = [""] * width
    columns = np.array([[str(v) for v in c] + [""] * (width - len(c)) for c in all_columns], dtype=str)
    index_levels = []
    for entry in index_cols:
        name = entry[1] if isinstance(entry, tuple) and len(entry) == 2 else entry
        if not isinstance(name, str) or name not in data.dtype.names:
            raise ValueError("index_cols names a field the table lacks")
        index_levels.append(_strings(data[name]) if data[name].dtype.kind in "SO" else np.asarray(data[name]))
    return values, columns.reshape(len(all_columns), width), level_names, index_levels


def main(path, out):
    import h5py
    import numpy as np

    with h5py.File(path, "r") as handle:
        keys = [k for k in handle.keys() if isinstance(handle.get(k, getlink=False), h5py.Group)]
        key = "df_with_missing" if "df_with_missing" in keys else (keys[0] if len(keys) == 1 else None)
        if key is None:
            raise ValueError(f"holds {len(keys)} tables ({', '.join('/' + k for k in keys) or 'none'}) and no "
                             "'df_with_missing'; not a DeepLabCut pose file")
        group = handle[key]
        kind = _text(_attr(group, "pandas_type", b""))
        if kind == "frame_table":
            values, columns, level_names, index = _read_table(group)
        elif kind == "frame":
            values, columns, level_names, index = _read_fixed(group)
        else:
            raise ValueError(f"/{key} is not a pandas DataFrame (pandas_type {kind or 'missing'})")
    if any(len(level) != values.shape[0] for level in index):
        raise ValueError("the index and the values have different lengths")
    arrays = {"values": values.astype(np.float64), "columns": np.asarray(columns, dtype=str),
              "level_names": np.asarray(level_names, dtype=str), "key": np.asarray("/" + key)}
    for k, level in enumerate(index):
        level = np.asarray(level)
        arrays[f"index_{k}"] = level if level.dtype.kind in "iufb" else level.astype(str)
    np.savez(out, **arrays)


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except NotPlainData as exc:
        print(f"a pandas attribute {exc}", file=sys.stderr)
        sys.exit(3)
    except Exception as exc:  # h5py's OSError/KeyError/ValueError on a damaged file: one line for the caller
        text = str(exc).strip().splitlines()
        print(f"{text[0] if text else type(exc).__name__}", file=sys.stderr)
        sys.exit(3)
