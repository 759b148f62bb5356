package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.python.PyScope;
import dev.panbuf.python.Python;
import dev.panbuf.python.PythonException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

/**
 * Handing a float32 array from Java to NumPy or PyTorch in the same process,
 * and back: one operation gives Python the view, lets the consumer make its
 * array of it, takes that array back into Java as a view (reading one
 * element), and releases everything (the consumer's array, panbuf's shared
 * object, the view's arena). panbuf's routes copy nothing, so they must not
 * depend on the array's size (1 KiB to 256 MiB).
 *
 * <p>Routes: the buffer protocol ({@code PyScope.putNumpy}, back with
 * {@code PyScope.buffer}) and DLPack ({@code PyScope.putTensor} and
 * {@code numpy.from_dlpack} / {@code torch.from_dlpack}, back with
 * {@code PyScope.fromDLPack}). Baselines, the same steps with the consumer
 * copying the bytes in instead: {@link #numpyCopy} ({@code np.array(m, copy=True)})
 * and {@link #torchCopy} ({@code torch.tensor(a)}); and each route's own 1 KiB
 * figure, for O(1). Runs with the Python that {@code panbuf bench} gives its
 * forks ({@code -Dpanbuf.python}; by default the project's peer venv,
 * {@code target/python-venv}, made by {@code scripts/python-venv}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(jvmArgsAppend = "-XX:MaxDirectMemorySize=3g")
// A hand-off takes tens of microseconds and crosses Java, C and Python several times: its Java side needs
// many thousands of calls before the JIT has compiled it, which the quick mode's warm-up alone does not give.
@Warmup(iterations = 8, time = 1, timeUnit = TimeUnit.SECONDS)
public class PythonHandOffBenchmark {

    @Param({"1KiB", "1MiB", "64MiB", "256MiB"})
    public String size;

    private BufferArena arena;
    private NdArray view;
    private PyScope scope;
    private boolean torch;   // imported on the first call of a PyTorch benchmark, so the NumPy ones run without it

    @Setup(Level.Trial)
    public void setup() {
        scope = Python.get().newScope();
        importOrExplain(scope, "numpy as np");
        arena = BufferArena.ofShared();
        view = NdArray.allocate(arena, DType.FLOAT32, Sizes.bytes(size) / 4);
        view.setFloat(1.5f, 0);
    }

    static void importOrExplain(PyScope scope, String module) {
        try {
            scope.exec("import " + module);
        } catch (PythonException e) {
            throw new IllegalStateException("import " + module + " failed in " + Python.get().describe().replace('\n', ';')
                    + " (" + e.getMessage() + "); make the peer venv with scripts/python-venv (panbuf bench then uses"
                    + " target/python-venv), or run with -Dpanbuf.python=/path/to/python", e);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        scope.close();
        arena.close();
    }

    private void importTorch() {
        if (!torch) {
            importOrExplain(scope, "torch");
            torch = true;
        }
    }

    private float back(String name, boolean dlpack) {
        try (Arena back = Arena.ofConfined()) {
            NdArray v = dlpack ? scope.fromDLPack(name, back) : scope.buffer(name, back);
            return v.getFloat(0);
        }
    }

    /** {@code putNumpy} (a NumPy array over the memory), and back with {@code PyScope.buffer}. */
    @Benchmark
    @Goal(baseline = "numpyCopy", when = "size=64MiB", maxRatio = 1e-3, text = ">= 1,000x cheaper than copying in")
    @Goal(baseline = "numpyBufferProtocol", baselineParams = "size=1KiB", when = "size=256MiB", maxRatio = 1.5,
            text = "O(1): 256 MiB within 1.5x of 1 KiB")
    public float numpyBufferProtocol() {
        scope.putNumpy("a", view);
        float f = back("a", false);
        scope.remove("a");
        return f;
    }

    /** {@code putTensor}, {@code np.from_dlpack(t)}, and back with {@code PyScope.fromDLPack}. */
    @Benchmark
    @Goal(baseline = "numpyCopy", when = "size=64MiB", maxRatio = 1e-3, text = ">= 1,000x cheaper than copying in")
    @Goal(baseline = "numpyDLPack", baselineParams = "size=1KiB", when = "size=256MiB", maxRatio = 1.5,
            text = "O(1): 256 MiB within 1.5x of 1 KiB")
    public float numpyDLPack() {
        scope.putTensor("t", view);
        scope.exec("a = np.from_dlpack(t)");
        float f = back("a", true);
        scope.exec("del a, t");
        return f;
    }

    /** Baseline: a memoryview to Python, NumPy copies it in ({@code np.array(m, copy=True)}), back by the buffer protocol. */
    @Benchmark
    public float numpyCopy() {
        scope.putMemoryView("m", view);
        scope.exec("a = np.array(m, copy=True)");
        float f = back("a", false);
        scope.exec("del a, m");
        return f;
    }

    /** {@code putTensor}, {@code torch.from_dlpack(t)}, and back with {@code PyScope.fromDLPack}. */
    @Benchmark
    @Goal(baseline = "torchCopy", when = "size=64MiB", maxRatio = 1e-3, text = ">= 1,000x cheaper than copying in")
    @Goal(baseline = "torchDLPack", baselineParams = "size=1KiB", when = "size=256MiB", maxRatio = 1.5,
            text = "O(1): 256 MiB within 1.5x of 1 KiB")
    public float torchDLPack() {
        importTorch();
        scope.putTensor("t", view);
        scope.exec("x = torch.from_dlpack(t)");
        float f = back("x", true);
        scope.exec("del x, t");
        return f;
    }

    /** Baseline: a NumPy array to Python, PyTorch copies it in ({@code torch.tensor(a)}), back by DLPack. */
    @Benchmark
    public float torchCopy() {
        importTorch();
        scope.putNumpy("a", view);
        scope.exec("x = torch.tensor(a)");
        float f = back("x", true);
        scope.exec("del x, a");
        return f;
    }
}
