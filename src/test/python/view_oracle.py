#!/usr/bin/env python3
"""NumPy as the oracle for panbuf's views.

Builds random strided views with real NumPy and prints, one JSON object per
line, everything Java needs to replay each case on panbuf and NumPy's verdict
at every step. NumPy (any 1.2x; written against Debian's 1.24) is the only
dependency. src/test/java/dev/panbuf/ViewOracleTest.java runs this script and compares.

    view_oracle.py --seed 20261123 --cases 5000 --max-chain 6 > cases.jsonl

One case (a JSON object on one line):

  case, seed      case number and the run's seed (a case is reproduced by
                  rerunning with the same --seed and enough --cases)
  nbytes, salt    the base buffer: nbytes bytes, byte i equal to
                    ((((i + salt) * 0x9E3779B1) mod 2**32) >> 24)
                  (a multiplicative hash: neighbouring bytes differ and the
                  pattern does not repeat every 256 bytes)
  dtype           {"str": "<f4"} for scalars, or {"record": {"itemsize": n,
                  "fields": [[name, dtype, byte offset], ...]}} where a field
                  dtype is again {"str": ...} or {"record": ...}
  root            {"offset", "shape", "strides"}: the arguments of
                  np.ndarray(shape, dtype, buffer=base, offset=, strides=)
                  (panbuf: NdArray.asStrided(segment, dtype, offset, shape,
                  strides)), plus its result (below)
  steps           the chain, each {"op": ..., arguments, result}
  final           the last view's tobytes, hex, in C and in F order (absent
                  when a step was refused: the chain stops there)

A result is either
  "ok":  {"shape", "strides", "offset" (byte offset of element 0 from the
          start of the base buffer, from __array_interface__), "c", "f"
          (flags.c_contiguous / f_contiguous), "w" (flags.writeable),
          "ov" (elements overlap, from NumPy's own internal_overlap test;
          only for root and as_strided steps, else null)}
  "err": {"type", "msg" (NumPy's exception, or "panbuf" for a deliberate
          difference), "tokens" (text panbuf's message must contain: the
          offending value, spelled as panbuf prints it), "why" (for a
          deliberate difference)}

Operations ("op"):
  index       "items": a basic index, each item {"i": n}, {"s": [start, stop,
              step]} (null for an omitted part), "newaxis" or "...".
              "scalar": true when NumPy would return a scalar (every axis
              taken by an integer, no ellipsis, no newaxis); NumPy is then
              asked for items + (...,), which is the 0-d view panbuf returns.
  transpose   "axes": null for a.transpose(), else the axes list
  reshape     "shape" (may hold one -1), "order": "C" or "F"
  broadcast   "shape": np.broadcast_to(a, shape)
  squeeze     "axes": null for np.squeeze(a), else the axes list
  expand      "axis": np.expand_dims(a, axis)
  field       "name": a[name]
  strided     "offset" (bytes, from the current element 0), "shape",
              "strides": as_strided relative to the current view
              (panbuf: NdArray.asStrided(view, offset, shape, strides))

How NumPy's verdicts are obtained, where NumPy does not refuse by itself:

  reshape that needs a copy: NumPy silently copies; panbuf refuses. A reshape
      copied exactly when the result has more than one element and does not
      share memory with the base buffer (np.shares_memory). NumPy only ever
      copies arrays of two or more elements (PyArray_Newshape), a copy is a
      fresh allocation and so cannot share memory with the live base buffer,
      and a view of two or more elements always shares memory with it. The
      script also asserts that a copy's data pointer lies outside the base
      buffer, and a view's inside it.
  as_strided: NumPy does no bounds check at all (it can point anywhere), so
      the step is first built with np.ndarray(shape, dtype, buffer=base,
      offset=current offset + offset, strides=strides), whose bounds check
      is NumPy's verdict; the view is exactly what as_strided would give (same
      data pointer, shape and strides), made read-only when the current view
      is, as as_strided's array interface does. Nothing out of bounds is
      ever created, so the script cannot crash.

Deliberate differences (marked with "why"; the Java test expects panbuf's
behaviour there):
  - reshape with a negative dimension other than -1: NumPy 1.24 takes any
    negative value as "unknown"; panbuf accepts only -1 (NumPy's documented
    spelling) and names the bad value.
  - a reshape that needs a copy: refused by panbuf (see above).
  - a full integer index: NumPy returns a scalar copy, panbuf a 0-d view.
  - a non-empty view of a 0-byte buffer: NumPy's ndarray constructor accepts
    it (PyArray_CheckStrides takes a buffer of 0 bytes to be as large as the
    requested array), so every element lies past the end of the buffer;
    panbuf refuses, as for any view reaching outside its memory.
  - a zero step together with another fault in one index: NumPy reports the
    other fault first; in Java the Slice with step 0 cannot even be built.
Not differences but worth knowing: NumPy 1.24 allows 32 dimensions, panbuf
64 (as NumPy 2); the chains here stay far below 32. Views whose elements
may overlap are read-only in panbuf (asStrided's rule) while NumPy leaves
them writable; the Java side checks that against "ov" instead of "w".
NumPy's freshly allocated empty arrays (copies) have all-zero strides,
panbuf's the packed ones, so copies are compared by bytes and flags only.
"""

import argparse
import json
import random
import re
import sys

import numpy as np
from numpy.core._multiarray_tests import internal_overlap

SCALARS = ['|b1', '|i1', '|u1', '<i2', '>i2', '<u2', '>u2', '<i4', '>i4', '<u4', '>u4',
           '<i8', '>i8', '<u8', '>u8', '<f2', '>f2', '<f4', '>f4', '<f8', '>f8']

# Dimension sizes, weighted towards small, with 0 and 1 often enough to matter.
DIMS = [0] + [1] * 8 + [2] * 10 + [3] * 8 + [4] * 6 + [5] * 4 + [6] * 4

MAX_ELEMENTS = 1024          # per view, so the hex stays small
MAX_BYTES = 64 * 1024        # base buffer

# Extreme slice bounds and steps (int64 range, as Java's long).
INT64_MIN = -2 ** 63
INT64_MAX = 2 ** 63 - 1


def base_bytes(salt, n):
    i = np.arange(n, dtype=np.uint64)
    return ((((i + np.uint64(salt)) * np.uint64(0x9E3779B1)) & np.uint64(0xFFFFFFFF)) >> np.uint64(24)).astype(np.uint8)


class Refused(Exception):
    """NumPy refused, or panbuf must (deliberate difference)."""

    def __init__(self, etype, msg, tokens, why=None):
        super().__init__(msg)
        self.err = {'type': etype, 'msg': msg, 'tokens': [str(t) for t in tokens]}
        if why:
            self.err['why'] = why


def numpy_refusal(e, tokens):
    return Refused(type(e).__name__, str(e), tokens)


# ----------------------------------------------------------------- dtypes

def gen_record(rng, depth=0):
    nfields = rng.randint(1, 3)
    fields = []
    at = 0
    for k in range(nfields):
        at += rng.choice([0, 0, 0, 1, 2, 3, 4])   # padding before the field
        if depth == 0 and rng.random() < 0.15:
            sub = gen_record(rng, depth + 1)
            fdesc, fdtype = {'record': sub[0]}, sub[1]
        else:
            s = rng.choice(SCALARS)
            fdesc, fdtype = {'str': s}, np.dtype(s)
        fields.append(('abcxyz'[k] if depth == 0 else 'pqr'[k], fdesc, fdtype, at))
        at += fdtype.itemsize
    itemsize = at + rng.choice([0, 0, 0, 1, 3, 5])
    desc = {'itemsize': itemsize, 'fields': [[n, d, o] for n, d, _, o in fields]}
    dt = np.dtype({'names': [f[0] for f in fields], 'formats': [f[2] for f in fields],
                   'offsets': [f[3] for f in fields], 'itemsize': itemsize})
    return desc, dt


def gen_dtype(rng):
    if rng.random() < 0.15:
        desc, dt = gen_record(rng)
        return {'record': desc}, dt
    s = rng.choice(SCALARS)
    return {'str': s}, np.dtype(s)


# ----------------------------------------------------------------- geometry

def extents(shape, strides, itemsize):
    """NumPy's reachable byte range [low, high) relative to element 0, None when empty."""
    if any(d == 0 for d in shape):
        return None
    low = high = 0
    for d, s in zip(shape, strides):
        e = s * (d - 1)
        if e > 0:
            high += e
        else:
            low += e
    return low, high + itemsize


def gen_shape(rng, ndim, max_elements=MAX_ELEMENTS):
    shape = [rng.choice(DIMS) for _ in range(ndim)]
    while int(np.prod(shape, dtype=np.int64)) > max_elements:
        i = rng.randrange(ndim)
        shape[i] = max(1, shape[i] // 2)
    return shape


def gen_strides(rng, shape, itemsize):
    ndim = len(shape)
    style = rng.random()
    if style < 0.35:
        # Packed in some axis order, maybe with gaps and flipped axes.
        order = list(range(ndim))
        if rng.random() < 0.5:
            rng.shuffle(order)
        strides = [0] * ndim
        step = itemsize * rng.choice([1, 1, 1, 2, 3])
        for ax in reversed(order):
            strides[ax] = step
            step *= max(shape[ax], 1) * rng.choice([1, 1, 1, 2])
        return [s if rng.random() < 0.8 else -s for s in strides]
    strides = []
    for _ in range(ndim):
        r = rng.random()
        if r < 0.12:
            strides.append(0)
        elif r < 0.75:
            strides.append(itemsize * rng.randint(-12, 12))
        else:
            strides.append(rng.randint(-50, 50))   # not a multiple of the item size
    return strides


def gen_margin(rng):
    r = rng.random()
    if r < 0.4:
        return 0
    if r < 0.45:
        return -1                      # one byte short: NumPy must refuse
    if r < 0.47:
        return -rng.randint(2, 16)
    return rng.randint(1, 24)


# ----------------------------------------------------------------- results

class Ctx:
    def __init__(self, mem):
        self.mem = mem
        self.ptr = mem.__array_interface__['data'][0]
        self.nbytes = mem.nbytes


def describe(ctx, a, with_overlap=False):
    ov = None
    if with_overlap:
        ov = bool(internal_overlap(a)) if a.size > 0 else False
    return {'shape': list(a.shape), 'strides': list(a.strides),
            'offset': a.__array_interface__['data'][0] - ctx.ptr,
            'c': bool(a.flags.c_contiguous), 'f': bool(a.flags.f_contiguous),
            'w': bool(a.flags.writeable), 'ov': ov}


def make_view(ctx, dtype, offset, shape, strides, tokens_bytes):
    """np.ndarray over the base buffer: NumPy's own bounds check is the verdict."""
    try:
        a = np.ndarray(tuple(shape), dtype, buffer=ctx.mem, offset=offset, strides=tuple(strides))
    except (ValueError, TypeError) as e:
        raise numpy_refusal(e, tokens_bytes)
    if ctx.nbytes == 0 and a.size > 0:
        # PyArray_CheckStrides takes a 0-byte buffer to be as large as the
        # requested array (numbytes == 0 -> product(shape) * itemsize), so
        # NumPy accepts a view whose every element lies past the buffer's end.
        raise Refused('panbuf', 'NumPy accepted %d element(s) over a 0-byte buffer' % a.size, tokens_bytes,
                      why='NumPy bug: PyArray_CheckStrides treats a 0-byte buffer as big enough for any array; '
                          'panbuf refuses a view reaching past the end of its memory')
    return a


# ----------------------------------------------------------------- operations

def gen_slice_bound(rng, n):
    r = rng.random()
    if r < 0.3:
        return None
    if r < 0.93:
        return rng.randint(-n - 3, n + 3)
    return rng.choice([INT64_MIN, INT64_MAX, -2 ** 40, 2 ** 40])


def gen_step(rng):
    r = rng.random()
    if r < 0.3:
        return None
    if r < 0.97:
        return rng.choice([1, 1, 2, 3, -1, -1, -2, -3, 4, -4])
    return rng.choice([INT64_MAX, -INT64_MAX, INT64_MIN, 2 ** 40])


def gen_index(rng, a):
    nd = a.ndim
    items = []
    consumed = 0
    budget = nd if rng.random() < 0.95 else nd + 1   # rarely: too many indices
    ellipsis_left = 1 if rng.random() < 0.97 else 2   # rarely: two ellipses
    nitems = rng.randint(0, nd + 2)
    for _ in range(nitems):
        r = rng.random()
        if r < 0.12:
            items.append('newaxis')
        elif r < 0.22 and ellipsis_left > 0:
            items.append('...')
            ellipsis_left -= 1
        elif consumed < budget:
            axis_len = a.shape[consumed] if consumed < nd else 3
            if r < 0.5:
                if axis_len > 0 and rng.random() < 0.96:
                    items.append({'i': rng.randint(-axis_len, axis_len - 1)})
                else:
                    items.append({'i': rng.choice([axis_len, -axis_len - 1, axis_len + 5, INT64_MAX, INT64_MIN])})
            else:
                for _ in range(3):
                    # Random bounds give an empty slice half the time: mostly retry.
                    bounds = [gen_slice_bound(rng, axis_len), gen_slice_bound(rng, axis_len), gen_step(rng)]
                    if len(range(*slice(*bounds).indices(axis_len))) > 0 or rng.random() < 0.25:
                        break
                if rng.random() < 0.01:
                    bounds[2] = 0
                items.append({'s': bounds})
            consumed += 1
    return items


def to_python_index(items):
    out = []
    for it in items:
        if it == 'newaxis':
            out.append(np.newaxis)
        elif it == '...':
            out.append(Ellipsis)
        elif 'i' in it:
            out.append(it['i'])
        else:
            out.append(slice(*it['s']))
    return tuple(out)


def do_index(ctx, a, step):
    items = step['items']
    idx = to_python_index(items)
    ints = sum(1 for it in items if isinstance(it, dict) and 'i' in it)
    plain = all(isinstance(it, dict) and 'i' in it for it in items)
    if plain and ints == a.ndim:
        step['scalar'] = True
        idx = idx + (Ellipsis,)
    try:
        return a[idx]
    except (IndexError, ValueError, TypeError) as e:
        msg = str(e)
        if any(isinstance(it, dict) and 's' in it and it['s'][2] == 0 for it in items):
            # NumPy reads the slice late and may report another fault first;
            # in Java the Slice itself cannot be made, before get() sees anything.
            raise Refused('ValueError', 'slice step cannot be zero (NumPy said: %s: %s)' % (type(e).__name__, msg),
                          ['step', 'zero'])
        m = re.match(r'index (-?\d+) is out of bounds for axis (\d+) with size (\d+)', msg)
        if m:
            raise numpy_refusal(e, ['index ' + m.group(1)])
        m = re.match(r'too many indices for array: array is (\d+)-dimensional, but (\d+) were indexed', msg)
        if m:
            raise numpy_refusal(e, ['too many indices', m.group(2)])
        if 'single ellipsis' in msg:
            raise numpy_refusal(e, ['ellipsis', 'got 2'])
        if 'step cannot be zero' in msg:
            raise Refused('ValueError', 'slice step cannot be zero (NumPy said: %s: %s)' % (type(e).__name__, msg),
                          ['step', 'zero'])
        raise


def gen_axes_perm(rng, nd):
    axes = list(range(nd))
    rng.shuffle(axes)
    axes = [ax - nd if rng.random() < 0.3 else ax for ax in axes]
    r = rng.random()
    if nd > 0 and r < 0.03:
        axes[rng.randrange(nd)] = rng.choice([nd, -nd - 1])       # out of range
    elif nd > 1 and r < 0.06:
        axes[0] = axes[1] % nd                                     # repeated
    elif r < 0.08:
        axes = axes + [0] if rng.random() < 0.5 or nd == 0 else axes[:-1]   # wrong count
    return axes


def do_transpose(ctx, a, step):
    axes = step['axes']
    if axes is None:
        return a.transpose()
    try:
        return a.transpose(axes)
    except (ValueError, np.AxisError) as e:
        msg = str(e)
        nd = a.ndim
        if len(axes) != nd:
            raise numpy_refusal(e, [str(axes)])
        bad = [ax for ax in axes if ax >= nd or ax < -nd]
        if bad:
            raise numpy_refusal(e, ['axis ' + str(bad[0])])
        if 'repeated' in msg:
            seen = set()
            for ax in axes:
                if ax % nd in seen:
                    raise numpy_refusal(e, ['axis ' + str(ax), 'repeats'])
                seen.add(ax % nd)
        raise


def factor_shape(rng, size):
    """A random shape with product `size`, with size-1 axes sprinkled in."""
    dims = []
    if size == 0:
        dims = [rng.choice([1, 2, 3]) for _ in range(rng.randint(0, 2))]
        dims.insert(rng.randint(0, len(dims)), 0)
    else:
        rest = size
        p = 2
        factors = []
        while rest > 1:
            while rest % p == 0:
                factors.append(p)
                rest //= p
            p += 1
        rng.shuffle(factors)
        while factors:
            k = rng.randint(1, min(3, len(factors)))
            prod = 1
            for f in factors[:k]:
                prod *= f
            dims.append(prod)
            factors = factors[k:]
    for _ in range(rng.choice([0, 0, 1, 2])):
        dims.insert(rng.randint(0, len(dims)), 1)
    return dims


def gen_reshape(rng, a):
    size = a.size
    dims = factor_shape(rng, size)
    if len(dims) > 8:
        dims = dims[:8] if size == 0 else [size]
    r = rng.random()
    if r < 0.45 and dims:
        i = rng.randrange(len(dims))
        if dims[i] != 0:
            dims[i] = -1
    elif r < 0.49:
        dims.append(2 if size % 2 else 3)                # wrong count (mostly)
    elif r < 0.51 and len(dims) >= 2:
        dims[0] = dims[1] = -1                           # two unknowns
    elif r < 0.53 and dims:
        dims[rng.randrange(len(dims))] = rng.choice([-2, -3])   # deliberate difference
    return {'op': 'reshape', 'shape': dims, 'order': 'C' if rng.random() < 0.6 else 'F'}


def shape_repr(dims):
    return str(tuple(dims))


def do_reshape(ctx, a, step):
    dims = step['shape']
    order = step['order']
    negatives = [d for d in dims if d < 0]
    if any(d < -1 for d in negatives) and len(negatives) == 1:
        # NumPy 1.24 takes any negative as unknown; panbuf only -1.
        raise Refused('panbuf', 'negative dimension other than -1', [str([d for d in dims if d < -1][0])],
                      why='NumPy 1.24 reads any negative dimension as -1; panbuf accepts only -1 and names the value')
    try:
        r = a.reshape(dims, order=order)
    except ValueError as e:
        if len(negatives) > 1:
            raise numpy_refusal(e, ['-1'])
        raise numpy_refusal(e, [shape_repr(dims)])
    ptr = r.__array_interface__['data'][0]
    inside = ctx.ptr <= ptr < ctx.ptr + ctx.nbytes
    copied = r.size > 1 and not np.shares_memory(r, ctx.mem)
    if r.size > 1:
        assert copied != inside, (copied, inside)
    if copied:
        raise Refused('panbuf', 'NumPy copies: the elements are not evenly strided for a view',
                      ['needs a copy', 'copy(Order.' + order + ').reshape'],
                      why='NumPy reshape copies silently; panbuf refuses and says how to copy by name')
    return r


def gen_broadcast(rng, a):
    dims = list(a.shape)
    for i, d in enumerate(dims):
        if d == 1 and rng.random() < 0.6:
            dims[i] = rng.choice([0, 1, 2, 3, 4])
    lead = [rng.choice([1, 2, 3, 0]) for _ in range(rng.choice([0, 0, 1, 1, 2]))]
    dims = lead + dims
    r = rng.random()
    if r < 0.04 and a.ndim > 0:
        bad = [i for i, d in enumerate(a.shape) if d != 1]
        if bad:
            dims[len(lead) + bad[0]] += 1                 # incompatible
    elif r < 0.05 and a.ndim > 0:
        dims = dims[len(lead) + 1:]                       # fewer dimensions
    elif r < 0.06:
        dims = dims + [-1] if rng.random() < 0.5 else [-1] + dims   # negative
    size = 1
    for d in dims:
        size *= max(d, 1)
    if size > MAX_ELEMENTS:
        dims = list(a.shape)
    return {'op': 'broadcast', 'shape': dims}


def do_broadcast(ctx, a, step):
    dims = step['shape']
    try:
        return np.broadcast_to(a, tuple(dims))
    except ValueError as e:
        neg = [d for d in dims if d < 0]
        raise numpy_refusal(e, [str(neg[0])] if neg else [shape_repr(dims)])


def gen_squeeze(rng, a):
    ones = [i for i, d in enumerate(a.shape) if d == 1]
    if rng.random() < 0.35:
        return {'op': 'squeeze', 'axes': None}
    axes = [i for i in ones if rng.random() < 0.6]
    axes = [ax - a.ndim if rng.random() < 0.3 else ax for ax in axes]
    r = rng.random()
    others = [i for i, d in enumerate(a.shape) if d != 1]
    if r < 0.06 and others:
        axes.append(rng.choice(others))                   # not of size 1
    elif r < 0.08:
        axes.append(a.ndim + rng.randint(0, 2))           # out of range
    rng.shuffle(axes)
    if r > 0.97 and ones:
        ax = rng.choice(ones)
        axes += [ax, ax - a.ndim]                         # the same axis twice
    return {'op': 'squeeze', 'axes': axes}


def do_squeeze(ctx, a, step):
    axes = step['axes']
    if axes is None:
        return np.squeeze(a)
    try:
        return np.squeeze(a, axis=tuple(axes))
    except (ValueError, np.AxisError) as e:
        nd = a.ndim
        for ax in axes:
            if ax >= nd or ax < -nd:
                raise numpy_refusal(e, ['axis ' + str(ax)])
        seen = set()
        for ax in axes:
            if a.shape[ax] != 1:
                raise numpy_refusal(e, ['axis ' + str(ax), 'size is ' + str(a.shape[ax])])
            if ax % nd in seen:
                raise numpy_refusal(e, ['axis ' + str(ax), 'repeats'])
            seen.add(ax % nd)
        raise


def do_expand(ctx, a, step):
    try:
        return np.expand_dims(a, step['axis'])
    except np.AxisError as e:
        raise numpy_refusal(e, ['axis ' + str(step['axis'])])


def do_field(ctx, a, step):
    try:
        return a[step['name']]
    except (ValueError, KeyError) as e:
        raise numpy_refusal(e, ["'" + step['name'] + "'"])


def gen_strided(rng, ctx, a):
    item = a.dtype.itemsize
    nd = rng.choice([0, 1, 1, 2, 2, 3, 3, 4])
    shape = gen_shape(rng, nd)
    strides = gen_strides(rng, shape, item)
    cur = a.__array_interface__['data'][0] - ctx.ptr
    ext = extents(shape, strides, item)
    if ext is None:
        absolute = rng.randint(-2, ctx.nbytes + 2)
    else:
        low, high = ext
        r = rng.random()
        if r < 0.25:
            absolute = -low + gen_margin(rng)     # against the start of the buffer
        elif r < 0.5:
            absolute = ctx.nbytes - high - gen_margin(rng)   # against the end
        else:
            absolute = cur + rng.randint(-3, 3) * item   # near the current view
    return {'op': 'strided', 'offset': absolute - cur, 'shape': shape, 'strides': strides}


def do_strided(ctx, a, step):
    cur = a.__array_interface__['data'][0] - ctx.ptr
    absolute = cur + step['offset']
    r = make_view(ctx, a.dtype, absolute, step['shape'], step['strides'], [str(ctx.nbytes)])
    if not a.flags.writeable:
        r.flags.writeable = False
    return r


def gen_step_op(rng, ctx, a):
    ops = ['index'] * 5 + ['transpose', 'transpose_axes', 'reshape', 'reshape', 'broadcast', 'squeeze',
                           'expand', 'strided']
    if a.dtype.names:
        ops += ['field'] * 4
    op = rng.choice(ops)
    if op == 'index':
        return {'op': 'index', 'items': gen_index(rng, a)}
    if op == 'transpose':
        return {'op': 'transpose', 'axes': None}
    if op == 'transpose_axes':
        return {'op': 'transpose', 'axes': gen_axes_perm(rng, a.ndim)}
    if op == 'reshape':
        return gen_reshape(rng, a)
    if op == 'broadcast':
        return gen_broadcast(rng, a)
    if op == 'squeeze':
        return gen_squeeze(rng, a)
    if op == 'expand':
        axis = rng.randint(-a.ndim - 1, a.ndim)
        if rng.random() < 0.04:
            axis = rng.choice([a.ndim + 1, -a.ndim - 2])
        return {'op': 'expand', 'axis': axis}
    if op == 'field':
        names = list(a.dtype.names)
        return {'op': 'field', 'name': rng.choice(names) if rng.random() < 0.95 else 'nope'}
    return gen_strided(rng, ctx, a)


APPLY = {'index': do_index, 'transpose': do_transpose, 'reshape': do_reshape, 'broadcast': do_broadcast,
         'squeeze': do_squeeze, 'expand': do_expand, 'field': do_field, 'strided': do_strided}


# ----------------------------------------------------------------- cases

def gen_case(rng, seed, number, max_chain):
    ddesc, dt = gen_dtype(rng)
    item = dt.itemsize
    ndim = rng.choice([0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5])
    shape = gen_shape(rng, ndim)
    strides = gen_strides(rng, shape, item)
    ext = extents(shape, strides, item)
    if ext is None:
        nbytes = rng.randint(0, 64)
        offset = rng.choice([0, 0, 0, nbytes, nbytes, rng.randint(0, nbytes), rng.randint(0, nbytes), nbytes + 1, -1])
    else:
        low, high = ext
        offset = -low + gen_margin(rng)
        nbytes = max(0, offset + high + gen_margin(rng))
        if rng.random() < 0.3:
            nbytes += rng.randint(0, 200)
    if nbytes > MAX_BYTES:
        nbytes = MAX_BYTES
    salt = rng.randrange(1 << 30)
    mem = base_bytes(salt, nbytes)
    ctx = Ctx(mem)
    case = {'case': number, 'seed': seed, 'nbytes': nbytes, 'salt': salt, 'dtype': ddesc,
            'root': {'offset': offset, 'shape': shape, 'strides': strides}}
    try:
        a = make_view(ctx, dt, offset, shape, strides, [str(nbytes), 'byte offset ' + str(offset)])
        case['root']['ok'] = describe(ctx, a, with_overlap=True)
    except Refused as r:
        case['root']['err'] = r.err
        case['steps'] = []
        return case
    steps = []
    case['steps'] = steps
    for _ in range(rng.randint(1, max_chain)):
        step = gen_step_op(rng, ctx, a)
        steps.append(step)
        try:
            b = APPLY[step['op']](ctx, a, step)
        except Refused as r:
            step['err'] = r.err
            return case
        step['ok'] = describe(ctx, b, with_overlap=step['op'] == 'strided')
        a = b
    case['final'] = {'c_hex': a.tobytes(order='C').hex(), 'f_hex': a.tobytes(order='F').hex()}
    return case


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--seed', type=int, default=20261123)
    p.add_argument('--cases', type=int, default=5000)
    p.add_argument('--max-chain', type=int, default=6)
    p.add_argument('--first', type=int, default=0, help='first case number to print (earlier ones are generated and skipped)')
    args = p.parse_args()
    rng = random.Random(args.seed)
    out = sys.stdout
    for n in range(args.cases):
        case = gen_case(rng, args.seed, n, max(1, args.max_chain))
        if n >= args.first:
            out.write(json.dumps(case, separators=(',', ':')))
            out.write('\n')


if __name__ == '__main__':
    main()
