#!/usr/bin/env python3
"""NumPy as the oracle for panbuf's array printing (NdArray.toString).

Reads arrays from stdin, one per line, and prints NumPy's repr of each with
the default print options. src/test/java/dev/panbuf/PrintOracleTest.java
generates the arrays, runs this script and compares its own text with these
byte for byte. Needs NumPy 2.3 or newer (the version whose repr panbuf
follows: float16 and float32 switch to scientific notation at 1e3 and 1e6,
and summarized arrays show their shape).

Input line:   DTYPE SHAPE HEX
  DTYPE  a JSON value: a NumPy dtype string ("<f4", "|V3", "|b1") or, for a
         record, {"names": [...], "formats": [DTYPE, ...], "offsets": [...],
         "itemsize": n}
  SHAPE  a JSON list of dimensions ([] for a 0-d array)
  HEX    the elements' bytes in C order, hexadecimal ("-" when there are none)
  (the three are separated by tabs)

Output: first "numpy VERSION", then one line per input line: "ok HEX" with
the UTF-8 bytes of repr(array) in hexadecimal, or "error MESSAGE".
"""
import json
import sys

import numpy as np


def dtype_of(spec):
    if isinstance(spec, str):
        return np.dtype(spec)
    return np.dtype({
        "names": spec["names"],
        "formats": [dtype_of(f) for f in spec["formats"]],
        "offsets": spec["offsets"],
        "itemsize": spec["itemsize"],
    })


def main():
    print("numpy " + np.__version__, flush=True)
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        try:
            dtype_text, shape_text, data = line.split("\t")
            dtype = dtype_of(json.loads(dtype_text))
            shape = tuple(json.loads(shape_text))
            raw = b"" if data == "-" else bytes.fromhex(data)
            array = np.frombuffer(raw, dtype=dtype).reshape(shape)
            print("ok " + repr(array).encode("utf-8").hex())
        except Exception as e:  # reported to the test, which fails on it
            print("error " + type(e).__name__ + ": " + str(e).replace("\n", " "))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
