#!/usr/bin/env python3
"""What NumPy says about dtype spellings: the oracle for panbuf's dev.panbuf.format tests.

Run with an interpreter that has NumPy (the tests use /usr/bin/python3, Debian's
NumPy 1.24, whose reading panbuf follows; NumPy 2 works too, and the Java test
knows the few spellings NumPy 2 reads differently). Prints one JSON object per line:

  {"what": "spelling", "input": s, ...}  np.dtype(s)
  {"what": "format",   "input": s, ...}  the dtype NumPy builds when it imports a
                                          buffer whose format is s (a real buffer:
                                          a memoryview made by PyMemoryView_FromBuffer
                                          around a Py_buffer carrying s, given to
                                          np.asarray)
  {"what": "descr",    "input": s, ...}  numpy.lib.format.descr_to_dtype of the
                                          Python literal s, as a .npy header holds it
  {"what": "dtype", "label": ..., "descr": repr(dtype_to_descr(dt)), "str": dt.str,
   "format": memoryview(np.zeros(1, dt)).format or null, "format_error": ...,
   "itemsize": ..., "canon": ..., "format_round_trips": bool}

Verdicts are {"verdict": "ok", "canon": c}, {"verdict": "unsupported", "reason": r}
(NumPy accepts it but the result is a type panbuf has no DType for) or
{"verdict": "error", "reason": r} (NumPy refuses it).

"canon" is one string both sides compute from a dtype: "b1", "i1", "u1",
"<i4", ">f8", ... for scalars, "B<n>" for NumPy S<n> and V<n> (panbuf's bytes),
and "{itemsize;\"name\"@offset:canon,...}" for records, fields in NumPy's order,
names JSON-encoded.

With --import, reads JSON lines {"format": s} from stdin and prints the "format"
verdict for each: the Java test sends the formats it writes where NumPy's own
do not read back, to prove NumPy imports panbuf's.

With --seed N --count K the random record dtypes and random formats change
(defaults 20240601, 300 of each).
"""

import ast
import ctypes
import json
import random
import sys
import warnings

import numpy as np
from numpy.lib.format import descr_to_dtype, dtype_to_descr

try:  # NumPy 2 moved the module; NumPy 1 has only the old name
    from numpy._core._internal import _dtype_from_pep3118
except ImportError:
    from numpy.core._internal import _dtype_from_pep3118


class Unsupported(Exception):
    """NumPy has the type, panbuf does not."""


# ---------------------------------------------------------------- canonical form

def canon(dt):
    dt = np.dtype(dt)
    if dt.subdtype is not None:
        raise Unsupported('subarray %r' % (dt,))
    if dt.names is not None:
        if dt.itemsize == 0:
            raise Unsupported('zero-size record')
        parts = []
        for name in dt.names:
            field = dt.fields[name]
            if len(field) > 2:
                raise Unsupported('field title')
            if name == '':
                raise Unsupported('empty field name')
            parts.append('%s@%d:%s' % (json.dumps(name), field[1], canon(field[0])))
        return '{%d;%s}' % (dt.itemsize, ','.join(parts))
    if dt.kind in 'SV':
        if dt.itemsize <= 0:  # NumPy wraps some sizes to 0 or below
            raise Unsupported('zero-size %s' % dt.str)
        return 'B%d' % dt.itemsize
    if dt.kind == 'b' and dt.itemsize == 1:
        return 'b1'
    if dt.kind in 'iu' and dt.itemsize in (1, 2, 4, 8) or dt.kind == 'f' and dt.itemsize in (2, 4, 8):
        if dt.itemsize == 1:
            return '%s1' % dt.kind
        order = {'=': '<' if sys.byteorder == 'little' else '>', '|': '|'}.get(dt.byteorder, dt.byteorder)
        return '%s%s%d' % (order, dt.kind, dt.itemsize)
    raise Unsupported('type %s' % dt.str)


def verdict(build):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # deprecated spellings still count as accepted
            dt = build()
    except Exception as e:  # NumPy's refusal, whatever its type
        return {'verdict': 'error', 'reason': '%s: %s' % (type(e).__name__, e)}
    try:
        return {'verdict': 'ok', 'canon': canon(dt)}
    except Unsupported as e:
        return {'verdict': 'unsupported', 'reason': str(e)}


# ---------------------------------------------------------------- a real buffer import

class PyBuffer(ctypes.Structure):
    _fields_ = [('buf', ctypes.c_void_p), ('obj', ctypes.c_void_p), ('len', ctypes.c_ssize_t),
                ('itemsize', ctypes.c_ssize_t), ('readonly', ctypes.c_int), ('ndim', ctypes.c_int),
                ('format', ctypes.c_char_p), ('shape', ctypes.POINTER(ctypes.c_ssize_t)),
                ('strides', ctypes.POINTER(ctypes.c_ssize_t)), ('suboffsets', ctypes.c_void_p),
                ('internal', ctypes.c_void_p)]


_from_buffer = ctypes.pythonapi.PyMemoryView_FromBuffer
_from_buffer.argtypes = [ctypes.POINTER(PyBuffer)]
_from_buffer.restype = ctypes.py_object


def strip_like_numpy(fmt):
    """NumPy's _descriptor_from_pep3118_format drops C whitespace outside :names:."""
    out, in_name = [], False
    for c in fmt:
        if c == ':':
            in_name = not in_name
            out.append(c)
        elif in_name or c not in ' \t\n\v\f\r':
            out.append(c)
    return ''.join(out)


def import_buffer(fmt):
    """The dtype of np.asarray(buffer) for a one-element buffer whose format is fmt."""
    # NumPy checks the buffer's itemsize against the format's; give it the format's.
    itemsize = _dtype_from_pep3118(strip_like_numpy(fmt)).itemsize
    # np.empty leaves a large block untouched (mmap), so a 2 GiB format costs nothing.
    memory = np.empty(max(itemsize, 1), np.uint8)
    encoded = fmt.encode('utf-8')
    shape = (ctypes.c_ssize_t * 1)(1)
    strides = (ctypes.c_ssize_t * 1)(max(itemsize, 1))
    view = PyBuffer(buf=memory.ctypes.data, len=itemsize, itemsize=itemsize, readonly=1, ndim=1,
                    format=encoded, shape=shape, strides=strides)
    array = np.asarray(_from_buffer(ctypes.byref(view)))
    if array.shape != (1,):
        raise Unsupported('subarray (NumPy moved it into the shape %r)' % (array.shape,))
    return array.dtype


def format_verdict(fmt):
    v = verdict(lambda: import_buffer(fmt))
    if v['verdict'] == 'error' and v['reason'].startswith('Unsupported'):
        v = {'verdict': 'unsupported', 'reason': v['reason']}
    return v


# ---------------------------------------------------------------- inputs

ORDERS = ['', '<', '>', '=', '|']
TYPESTRS = ['b1', 'i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8', 'f2', 'f4', 'f8', 'S1', 'S7', 'a3', 'V4',
            '?', 'b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', 'p', 'P', 'e', 'f', 'd', 'c',
            'g', 'F', 'D', 'G', 'O', 'U', 'M', 'm', 'S', 'V', 'a', 'U3', 'c8', 'c16', 'f16', 'O8', 'M8',
            'm8', 'i0', 'b2', 'f3', 'u16', 'x', 'n', 'N', 'B1', 'I4', 'F4', 'f04', 'S0', 'V0']

SPELLINGS_EXTRA = [
    '', '<', '>', '=', '|', '!f4', '@f4', '^f4', '<<f4', '<=f4', ' f4', 'f4 ', 'f 4', 'f+4', 'f-4', 'i\t4',
    'S 3', 'S+3', 'S-1', 'S99999999999999999999', 'S2147483648', 'S4294967296', 'f4294967300',
    'i99999999999999999999', 'f4\x0b', 'F32', 'Float32', 'FLOAT32', '>float32', '<float32', 'float32 ',
    'int8x', 'M8[ns]', 'f8[ns]', 'V2147483647', 'S\u0661', 'f\u0664',
    # NumPy's comma shorthand
    'i4,f8', 'i4, >f8', '>i4,<f8', 'i4 ,f8', 'i4,f8,', 'i4,', '<i4,', '>i4,', 'S3,', 'i4,   ', 'i4 , f4 ',
    'i4, ,f8', 'i4,,f8', ',i4', ',', ' i4,f8', 'i4,f8 ,', '1i4', '<1i4', '2i4', '|2i4', '=2i4', '0i4,f8',
    '00i4,f8', '01i4,f8', '(1)i4,f8', '(1,)i4,f8', '(2,3,)f8,i4', '()i4', '<()i4', '|()i4', '<()', '()',
    '( )i4', '(2)i4', '(2,)i4', '1,i4', '1 i4,f8', '1 1i4,f8', '1>i4,f8', '>1<i4', '>1>i4,f8', '|1=i4,f8',
    '=1<i4,f8', 'i4,1>2i4', 'i4,>1>i4', 'i4,>float32', 'i4,<float32', 'i4,float32', 'i4,f8[ns]',
    'i4,M8[ns]', 'i4,\u00a0f8', 'i4,\u3000f8', 'i4 \u3000,f8', 'i4,f8\u3000', 'i4,>', 'i4,?', 'i4,b1',
    'i4,.', 'i4,(1)1i4', 'i4,(2)3i4', 'i4,[', 'i4,a[b]', 'i4,(2', 'i4,2)', 'i4, (2)', 'i4,()', 'i4,()f8',
    'i4;f8', 'V3,i4', 'V,i4', 'S,i4', 'i4,S', 'i4,c', 'i4,a3', 'i4,U2', 'b1,?', '2', '22', 'u1,u1,u1',
    'i4,f4,f4,f4,f4,f4,f4,f4,f4,f4,f4,f4', 'f2,>f2,<f2,=f2,|f2', 'i4,\tf8', '\ti4,f8', 'i4,f8\n',
    'i4,int', 'i4,(1,2)', 'i4,1,2f8',
]


def spellings():
    names = sorted(k for k in np.sctypeDict if isinstance(k, str))
    out = list(names)
    out += [o + t for o in ORDERS for t in TYPESTRS]
    out += SPELLINGS_EXTRA
    return list(dict.fromkeys(out))


CODES = ['?', 'b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', 'e', 'f', 'd', 'c', 's', 'x', 'g', 'Zf',
         'Zd', 'Zg', 'O', 'w', 'n', 'N', 'P', 'u', 't', '&', 'X', 'k', '|']

FORMATS_EXTRA = [
    '', ' ', '3x', '3s', '0s', '1s', '10s', 'x', 's', '0x', '4x', 'i0x', '0xi', '3c', '1c', '2i', '1i', '(2)i',
    '(2,3)d', 'T{}', 'T{i:a:}', 'T{3x:a:}', 'i:a:', '^i', '^T{b:a:i:b:}', 'T{b:a:i:b:}', '@T{b:a:i:b:}',
    '=T{b:a:i:b:}', 'T{b:a:=i:b:}', 'T{b:a:xxxi:b:}', 'T{i:a:b:b:}', 'T{=i:a:b:b:}', '<q', '@q', '=l', 'l',
    '@l', '=L', '!i', '!l', '^l', '^L', '>i', '<?', '>s', '>3s', ' i', 'i ', '\ti\n', 'T { i : a b :}',
    '1 0x', 'T{i:a:}}xyz', 'i}xyz', '}', 'T{i:a:', 'T{', 'T{i:a', 'T{<i:x:', '::', 'i::', 'i:a b:',
    'i:a:i:a:', 'i:f0:i', 'i i:f0:', 'ii', 'xi', 'bx', 'T{i:a:}x', '>T{i:a:}i:b:', 'T{>i:a:}i:b:',
    'T{i:a:T{b:b:}:c:}', 'T{b:a:T{=i:x:}:r:}', 'T{b:a:T{i:x:}:r:}', 'T{b:a:b:b:T{h:x:i:y:}:r:}',
    'T{d:a:b:b:}', 'T{b:a:d:b:}', '=T{b:a:d:b:}b', 'T{T{T{b:x:}:y:}:z:}', '99999999999999999999x',
    '2147483647x', '2147483648x', '4', 'T{4}', '4:a:', '>', '>:a:', 'T', 'Tx', 'T {i:a:}', 'i:a:>',
    'i:\u00e9:', 'i:\u6570:d:\U0001F600:', 'i:a}:', 'i:{:', 'T{i:T{:}', 'ZfZd', 'Z', '3Zf', '?:flag:',
    'hHiIlLqQ', '@hHiIlLqQ', '=hHiIlLqQ', '<hHiIlLqQ', '>hHiIlLqQ', '^hHiIlLqQ', 'bhbibqbd', '@bhbibqbd',
    '=bhbibqbd', 'e', '>e', 'T{e:a:b:b:}', 'T{?:a:d:b:}', 'b:f1:b:f0:b', '2x:a:', '0x:a:', '3s:a:3s:b:',
    'T{T{b:a:}:x:}', '@T{<i:a:}i:b:', '<T{@i:a:}i:b:',
    # records whose size passes NumPy's C-int limit: each item fits, the sum or the alignment does not
    'T{Q:f0:2147483647xQ:f1:}', 'T{2147483647s:a:2s:b:}', 'T{2147483647s:a:}', 'T{2147483646s:a:s:b:}',
    'T{2147483640s:a:Q:b:}', '=T{2147483640s:a:Q:b:}', 'Q2147483639x', 'Q2147483640x', 'T{2147483647x}x',
]


def formats():
    out = []
    for o in ['', '@', '=', '<', '>', '!', '^']:
        out += [o + c for c in CODES]
    out += FORMATS_EXTRA
    return list(dict.fromkeys(out))


DESCRS = [
    "'<f8'", "'|b1'", "'float32'", "'>u2'", "'i4,f8'", "'<c8'", "'S3'", "'|V4'", "'V0'", "''", "'x'",
    "[('x', '<i4'), ('', '|V4'), ('y', '<f8')]", "[('x', '<i4'), ('y', '<f8')]",
    "[('a', '|i1'), ('r', [('x', '|i1'), ('', '|V3'), ('y', '<i4')])]",
    "[('a', '<i4', ())]", "[('a', '<i4', 1)]", "[('a', '<i4', (1,))]", "[('a', '<i4', (3,))]",
    "[('a', '<i4', 0)]", "[('a', '<i4', (2, 3))]", "('<i4', ())", "('<i4', 1)", "('<i4', (2,))",
    "[['a', '<i4']]", "[(('T', 'a'), '<i4')]", "[('a', '<i4'), ('a', '<i4')]", "[]",
    "[('a', '<i4'), ('r', [])]", "[('a', '<i4'), ('r', [('', '|V4')])]", "[('', [('a', '<i4')])]",
    "[('', '<i4')]", "[('', '|S3')]", "[('', '|V4')]", "[('a', '<i4'), ('', '<V4')]",
    "[('a', '<i4'), ('', '|V0')]", "[('a', '|V4')]", "[('a', ('<i4', (2,)))]", "[('a', ('<i4', ()))]",
    "[('a', '|S0')]", "[(1, '<i4')]", "[(b'a', '<i4')]", "[('a', '<i4', (), 1)]", "[('a',)]",
    "[('a', 4)]", "[(u'a', '<i4')]", "[(\"it's\", '<i4')]", "[('\\xe9\\t\\'\"\\x00\\u2028x', '<i4')]",
    "[('a' 'b', '<i4')]", "[('a', '<' 'i4')]", "[(r'a\\b', '<i4')]", "[('''a''', '<i4')]",
    "[ ( 'a' , '<i4' , ) , ]", "[('a', '<i4'),]", "[('a', '<i4')", "[('a', '<i4'))", "[('a', '<i4')]x",
    "[('a', '<i4') ('b', '<i4')]", "{'a': '<i4'}", "None", "'<i4", "[('a', '<q4')]", "[('a', '<i4'), 3]",
    "[('a', '<i4'), 'b1']", "  '<f4'  ", "'<f4'\n", "[('a',\n '<i4')]", "[('\\N{DASH}', '<i4')]",
    "[('a', '<i4', (1))]", "[('a', '<i4', (-1,))]", "[('a', '<i4', -1)]", "[('a', '<i4', 01)]",
    "[('a', '>f2'), ('b', [('c', '?'), ('d', [('e', '>u8')])])]", "[('a', 'V3'), ('b', '<i2')]",
]


# ---------------------------------------------------------------- dtypes

SCALARS = ['|b1', '|i1', '|u1'] + [o + t for t in ['i2', 'u2', 'i4', 'u4', 'i8', 'u8', 'f2', 'f4', 'f8']
                                   for o in '<>'] + ['|V1', '|V3', '|V16']


def records():
    r = []

    def add(label, spec, align=False):
        r.append((label, np.dtype(spec, align=align)))

    for align in (False, True):
        tag = 'aligned' if align else 'packed'
        add(tag + ' x:i4 y:f8', [('x', '<i4'), ('y', '<f8')], align)
        add(tag + ' a:i1 b:i4', [('a', 'i1'), ('b', '<i4')], align)
        add(tag + ' a:i4 b:i1 (trailing)', [('a', '<i4'), ('b', 'i1')], align)
        add(tag + ' big-endian f8 i2', [('a', '>f8'), ('b', '>i2')], align)
        add(tag + ' mixed orders', [('a', '>i4'), ('b', 'i1'), ('c', '<i2'), ('d', '>u8'), ('e', '<f2')], align)
        add(tag + ' every scalar', [('f' + str(k), t) for k, t in enumerate(SCALARS[:-3])], align)
        add(tag + ' u8 and i8', [('a', '<u8'), ('b', '<i8'), ('c', '>u8'), ('d', '>i8')], align)
        add(tag + ' nested', [('a', 'i1'), ('r', np.dtype([('x', 'i1'), ('y', '<i4')], align=align)),
                              ('z', '<i2')], align)
        add(tag + ' nested at odd offset', [('a', 'i1'), ('b', 'i1'), ('r', [('x', '<i2'), ('y', '<i4')])], align)
        add(tag + ' bytes fields', [('a', 'V3'), ('b', '<i2'), ('c', 'V1')], align)
        add(tag + ' bool and half', [('ok', '?'), ('h', '<f2'), ('d', '<f8')], align)
    add('one field i4', [('a', '<i4')])
    add('one field big-endian', [('a', '>i4')])
    add('one field V5', [('a', 'V5')])
    add('nested in packed', [('a', 'i1'), ('r', [('x', '<i4')])])
    add('aligned inside packed', [('a', 'i1'), ('r', np.dtype([('x', 'i1'), ('y', '<i8')], align=True))])
    add('explicit offsets', {'names': ['a', 'b'], 'formats': ['<i4', '<f8'], 'offsets': [0, 16], 'itemsize': 32})
    add('explicit gaps', {'names': ['a', 'b', 'c'], 'formats': ['u1', '<u2', '>f4'], 'offsets': [1, 5, 11],
                          'itemsize': 17})
    add('trailing padding', {'names': ['a'], 'formats': ['<i4'], 'offsets': [0], 'itemsize': 6})
    add('gap over 255 bytes', {'names': ['a', 'b'], 'formats': ['u1', 'u1'], 'offsets': [0, 300], 'itemsize': 301})
    add('no fields', {'names': [], 'formats': [], 'itemsize': 4})
    add('nested no fields', [('a', '<i4'), ('r', {'names': [], 'formats': [], 'itemsize': 3})])
    add('deep nesting', [('l1', [('l2', [('l3', [('l4', [('l5', '>i4')])])])])])
    add('names to escape', [("it's", '<i4'), ('quote"', 'u1'), ('both\'"', 'u1'), ('tab\t', 'u1'),
                            ('\u00e9\u6570', 'u1'), ('\U0001F600', 'u1'), ('line\u2028sep', 'u1'),
                            ('back\\slash', 'u1'), (' spaced ', 'u1'), ('{T}', 'u1'), ('\x7f\x1b', 'u1')])
    add('names like f0', [('f1', '<i4'), ('f0', '<i4')])
    return r


NAME_POOL = ['a', 'b', 'c', 'x', 'y', 'z', 'f0', 'f1', 'f2', 'value', 'long_field_name', 'sp ace', "it's",
             'q"uote', '\u00e9', '\u6570\u636e', '\U0001F600', 'tab\t', '}{', 'T{', 'n\u2028l']
RANDOM_SCALARS = ['?', 'i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8', 'f2', 'f4', 'f8', 'V1', 'V3', 'V8']


def random_dtype(rng, depth):
    if depth < 3 and rng.random() < 0.25:
        return random_record(rng, depth + 1)
    t = rng.choice(RANDOM_SCALARS)
    return np.dtype(t if t[0] in '?V' or t[1] == '1' else rng.choice('<>') + t)


def random_record(rng, depth):
    n = rng.randint(1, 5)
    names = rng.sample(NAME_POOL, n)
    types = [random_dtype(rng, depth) for _ in range(n)]
    layout = rng.choice(['packed', 'aligned', 'explicit', 'explicit'])
    if layout == 'packed':
        return np.dtype(list(zip(names, types)))
    if layout == 'aligned':
        return np.dtype(list(zip(names, types)), align=True)
    offsets, at = [], 0
    for t in types:
        at += rng.choice([0, 0, 0, 1, 2, 3, 4, 7, 8, 13])
        offsets.append(at)
        at += t.itemsize
    return np.dtype({'names': names, 'formats': types, 'offsets': offsets,
                     'itemsize': at + rng.choice([0, 0, 1, 3, 8])})


FORMAT_NAMES = ['a', 'b', 'c', 'f0', 'f1', 'f2', 'x y', '\u00e9', '}', 'T{']


def random_format(rng, depth=0):
    """A PEP 3118 string NumPy did not write: any mode, alignment, naming, nesting, spacing."""
    items = []
    for _ in range(rng.randint(1, 5)):
        item = rng.choice(['', '', '', '@', '=', '<', '>', '!', '^'])
        r = rng.random()
        if depth < 3 and r < 0.15:
            item += 'T{' + random_format(rng, depth + 1) + '}'
        elif r < 0.3:
            item += str(rng.choice([0, 1, 1, 2, 3, 4, 7])) + rng.choice('xxs')
        else:
            item += rng.choice('?bBhHiIlLqQefdc')
        if rng.random() < 0.6:
            item += ':' + rng.choice(FORMAT_NAMES) + ':'
        if rng.random() < 0.1:
            item = ' ' + item + '\t'
        items.append(item)
    return ''.join(items)


# ---------------------------------------------------------------- output

def dtype_row(label, dt):
    descr = dtype_to_descr(dt)
    # The test builds its dtype from this descr, so NumPy's answers are for the same dtype.
    seen = descr_to_dtype(descr)
    row = {'what': 'dtype', 'label': label, 'descr': repr(descr), 'str': seen.str,
           'itemsize': seen.itemsize, 'canon': canon(seen), 'format': None, 'format_error': None,
           'format_round_trips': False}
    try:
        fmt = memoryview(np.zeros(1, seen)).format
        row['format'] = fmt
        original = memoryview(np.zeros(1, dt)).format
        if original != fmt:
            row['format_error'] = 'format of the original dtype differs: %r' % original
        back = format_verdict(fmt)
        row['format_round_trips'] = back.get('canon') == row['canon']
    except Exception as e:
        row['format_error'] = '%s: %s' % (type(e).__name__, e)
    return row


def emit(obj):
    print(json.dumps(obj, ensure_ascii=True))


def main(argv):
    if '--import' in argv:
        for line in sys.stdin:
            if line.strip():
                fmt = json.loads(line)['format']
                emit(dict(what='format', input=fmt, **format_verdict(fmt)))
        return
    seed = int(argv[argv.index('--seed') + 1]) if '--seed' in argv else 20240601
    count = int(argv[argv.index('--count') + 1]) if '--count' in argv else 300
    emit({'what': 'numpy', 'version': np.__version__, 'byteorder': sys.byteorder, 'seed': seed})

    rows = [dtype_row('scalar ' + s, np.dtype(s)) for s in SCALARS]
    rows += [dtype_row(label, dt) for label, dt in records()]
    rng = random.Random(seed)
    rows += [dtype_row('random %d' % k, random_record(rng, 1)) for k in range(count)]
    for row in rows:
        emit(row)

    for s in spellings():
        emit(dict(what='spelling', input=s, **verdict(lambda: np.dtype(s))))
    fmts = formats() + [row['format'] for row in rows if row['format'] is not None]
    fmts += [random_format(rng) for _ in range(count)]
    for s in dict.fromkeys(fmts):
        emit(dict(what='format', input=s, **format_verdict(s)))
    for s in DESCRS:
        emit(dict(what='descr', input=s, **verdict(lambda: descr_to_dtype(ast.literal_eval(s)))))


if __name__ == '__main__':
    main(sys.argv[1:])
