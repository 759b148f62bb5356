#!/usr/bin/env python3
"""NumPy's side of `panbuf bench`: the operations the Java benchmarks measure,
timed the way `timeit` does, printed as JSON on stdout (progress on stderr).

    /usr/bin/python3 src/jmh/python/numpy_bench.py [--quick]

Each operation runs in loops long enough to take >= 0.1 s (quick) or 0.2 s,
repeated 5 (quick) or 15 times; the report uses the median time per call and
half the interquartile range as its error. Names and parameters match the
Java benchmarks' @Goal(baseline = "numpy:<name>") and @Param values.
"""
import json
import os
import tempfile
import platform
import statistics
import sys
import time
import timeit

import numpy as np

QUICK = "--quick" in sys.argv[1:]
REPEATS = 5 if QUICK else 15
MIN_SECONDS = 0.1 if QUICK else 0.2
MIB = 1 << 20
results = []


def bench(name, code, params=None, **env):
    """Times the statement `code` with the names in env, appending {name, code, params, median_ns, error_ns}."""
    timer = timeit.Timer(code, globals=dict(env, np=np))
    number = 1
    while True:
        if timer.timeit(number) >= MIN_SECONDS:
            break
        number *= 2 if number < 8 else 10
    times = sorted(t / number * 1e9 for t in timer.repeat(repeat=REPEATS, number=number))
    q = statistics.quantiles(times, n=4) if len(times) >= 2 else [times[0]] * 3
    entry = {"name": name, "code": code, "params": params or {},
             "median_ns": statistics.median(times), "error_ns": (q[2] - q[0]) / 2, "loops": number}
    results.append(entry)
    print(f"[numpy] {name:<18} {json.dumps(params or {}):<22} {entry['median_ns'] / 1e3:12.3f} us", file=sys.stderr)


def sizes(*names):
    return [(n, int(n[:-3]) * {"GiB": 1024 * MIB, "MiB": MIB, "KiB": 1024}[n[-3:]]) for n in names]


def main():
    rng = np.random.default_rng(1)
    for label, nbytes in sizes("1MiB", "64MiB"):
        f = ((np.arange(nbytes // 4) % 1000) * 0.25).astype(np.float32)
        i = (np.arange(nbytes // 4) % 1000).astype(np.int32)
        bench("sum_f32", "a.sum()", {"size": label}, a=f)
        if QUICK and label != "1MiB":
            continue   # the quick Java plan measures these at 1 MiB only
        bench("sum_i32", "a.sum(dtype=np.int32)", {"size": label}, a=i)
        f2 = np.tile(f, 2)
        i2 = np.tile(i, 2)
        bench("sum_stride2_f32", "a[::2].sum()", {"size": label}, a=f2)
        bench("sum_stride2_i32", "a[::2].sum(dtype=np.int32)", {"size": label}, a=i2)
        rows = nbytes // 4 // 1024
        m = np.zeros((rows, 1040), dtype=np.float32)
        mi = np.zeros((rows, 1040), dtype=np.int32)
        bench("sum_2d_f32", "m[:, :1024].sum()", {"size": label}, m=m)
        bench("sum_2d_i32", "m[:, :1024].sum(dtype=np.int32)", {"size": label}, m=mi)
        del f, i, f2, i2, m, mi
    if not QUICK:
        ten = rng.random(10_000_000, dtype=np.float32)
        bench("sum_f32_10M", "a.sum()", {"n": "10M"}, a=ten)
        del ten

    for label, nbytes in sizes(*(("4KiB", "64MiB") if QUICK else ("4KiB", "1MiB", "64MiB"))):
        src = np.ones(nbytes // 4, dtype=np.float32)
        dst = np.empty_like(src)
        bench("copy", "np.copyto(dst, src)", {"size": label}, dst=dst, src=src)

    for side in (4096,) if QUICK else (512, 4096):
        m = rng.random((side, side), dtype=np.float32)
        bench("transpose_copy", "np.ascontiguousarray(m.T)", {"side": str(side)}, m=m)
    del m

    # StridedCopyBenchmark: np.copyto into a C-order destination allocated once, as copyTo does.
    def filled(dtype, shape):
        n = int(np.prod(shape))
        words = (np.arange(n * np.dtype(dtype).itemsize // 4, dtype=np.uint64) * 0x9E3779B1).astype(np.uint32)
        return words.view(dtype).reshape(shape)

    f4 = np.dtype("<f4")
    layouts = {
        "perm021": lambda: filled(f4, (256, 256, 256)).transpose(0, 2, 1),
        "perm210": lambda: filled(f4, (256, 256, 256)).transpose(2, 1, 0),
        "perm102": lambda: filled(f4, (256, 256, 256)).transpose(1, 0, 2),
        "nchw2nhwc": lambda: filled(f4, (32, 64, 56, 56)).transpose(0, 2, 3, 1),
        "nhwc2nchw": lambda: filled(f4, (32, 56, 56, 64)).transpose(0, 3, 1, 2),
        "reverse": lambda: filled(f4, (16 << 20,))[::-1],
        "broadcast": lambda: np.broadcast_to(filled(f4, (4096,)), (4096, 4096)),
        "swapF4": lambda: filled(np.dtype(">f4"), (16 << 20,)),
        "swapF8": lambda: filled(np.dtype(">f8"), (8 << 20,)),
    }
    for layout, make in layouts.items():
        src = make()
        dst = np.empty(src.shape, dtype=src.dtype.newbyteorder("<"))
        np.copyto(dst, src)   # touches every destination page before timing
        bench("strided_copy", "np.copyto(dst, src)", {"layout": layout}, dst=dst, src=src)
        del src, dst

    # NpyIoBenchmark: float32 .npy files on tmpfs (/dev/shm): in the page cache, no device.
    with tempfile.TemporaryDirectory(prefix="panbuf-bench-npy-io-", dir="/dev/shm") as folder:
        source = os.path.join(folder, "input.npy")
        target = os.path.join(folder, "output.npy")
        for label, nbytes in sizes("4KiB", "1GiB"):
            a = ((np.arange(nbytes // 4) & 1023) * 0.25).astype(np.float32)
            np.save(source, a)
            np.save(target, a)
            np.load(source)   # the page cache holds the input from here on
            bench("npy_read", "np.load(source)", {"size": label}, source=source)
            bench("npy_write", "np.save(target, a)", {"size": label}, target=target, a=a)
            bench("npy_map_sum", "np.load(source, mmap_mode='r').sum()", {"size": label}, source=source)
            del a

    a = np.zeros(1024, dtype=np.float32)
    m = np.zeros((32, 32), dtype=np.float32)
    buf = bytearray(4096)
    bench("view_slice", "a[::1]", a=a)
    bench("view_slice_2d", "m[1:-1, ::2]", m=m)
    bench("view_transpose", "m.T", m=m)
    bench("view_reshape", "a.reshape(32, 32)", a=a)
    bench("frombuffer", "np.frombuffer(buf, np.float32)", buf=buf)

    json.dump({"numpy": np.__version__, "python": platform.python_version(), "repeats": REPEATS,
               "results": results}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
