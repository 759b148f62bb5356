package dev.panbuf.python;

import dev.panbuf.Peers;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The Python a test JVM runs with, required rather than assumed: a missing
 * interpreter, NumPy or module fails the test (see {@link Peers}), naming
 * what is missing. {@code -Dpanbuf.test.numpy=N} (set per surefire execution)
 * makes the tests insist on NumPy N.x, so that an execution meant for NumPy 2
 * cannot pass by quietly running NumPy 1.
 */
final class TestPython {

    private static final String EXPECTED_NUMPY = System.getProperty("panbuf.test.numpy", "").strip();

    private TestPython() {}

    /** The interpreter, with NumPy of the expected major version. */
    static Python require() {
        Peers.require(Python.isAvailable(), () -> "no usable Python here: " + Python.unavailableReason().orElse("")
                + (String.valueOf(System.getProperty("panbuf.python")).contains("python-venv")
                ? " (the PyTorch and JAX tests run in the venv that scripts/python-venv makes; ./run-tests makes it)" : ""));
        Python py = Python.get();
        Peers.require(py.numpyVersion().isPresent(), () -> "NumPy does not import in " + py.describe().replace('\n', ';')
                + "; install it for that interpreter");
        if (!EXPECTED_NUMPY.isEmpty() && !py.numpyVersion().get().startsWith(EXPECTED_NUMPY + ".")) {
            fail("this test JVM is to run with NumPy " + EXPECTED_NUMPY + ".x (-Dpanbuf.test.numpy=" + EXPECTED_NUMPY
                    + "), but found " + py.describe().replace("\n", "; "));
        }
        return py;
    }

    /** NumPy's major version in this JVM. */
    static int numpyMajor() {
        return Integer.parseInt(require().numpyVersion().orElseThrow().split("\\.")[0]);
    }

    /** Fails (names the module and the interpreter) unless each module imports. */
    static void requireModules(String... modules) {
        Python py = require();
        try (PyScope s = py.newScope()) {
            for (String m : modules) {
                String problem = null;
                try {
                    s.exec("import " + m);
                } catch (PythonException e) {
                    problem = e.getMessage();
                }
                String why = problem;
                Peers.require(why == null, () -> "module " + m + " does not import in " + py.describe().replace('\n', ';')
                        + " (" + why + "); the PyTorch and JAX tests run in the venv that scripts/python-venv makes:"
                        + " -Dpanbuf.python=target/python-venv/bin/python");
            }
        }
    }
}
