package dev.panbuf.python;

import dev.panbuf.LeakCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which Python the bridge embeds, found as JEP, JPype and PyO3 users expect
 * ({@code -Dpanbuf.python}, {@code $PANBUF_PYTHON}, {@code $VIRTUAL_ENV},
 * {@code $CONDA_PREFIX}, {@code python3} on the PATH), and that the embedded
 * interpreter is that one: its libpython, its {@code sys.path}, its NumPy.
 * The interpreters that fail are made here as small scripts.
 */
@ExtendWith(LeakCheck.class)
class PythonDiscoveryTest {

    @TempDir
    Path dir;

    private Path executable(String relative) throws IOException {
        Path p = dir.resolve(relative);
        Files.createDirectories(p.getParent());
        Files.writeString(p, "#!/bin/sh\nexit 3\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    @Test
    void theFirstOfPropertyEnvironmentVenvCondaAndPathWins() throws IOException {
        Path prop = executable("prop/python");
        Path env = executable("env/python");
        Path venv = executable("venv/bin/python");
        Path conda = executable("conda/bin/python");
        Path path = executable("path/python3");
        String venvDir = dir.resolve("venv").toString();
        String condaDir = dir.resolve("conda").toString();
        String pathDirs = "/nonexistent:" + path.getParent();
        assertEquals(new Installation.Candidate(prop, "-Dpanbuf.python"),
                Installation.candidate(prop.toString(), env.toString(), venvDir, condaDir, pathDirs));
        assertEquals(new Installation.Candidate(env, "PANBUF_PYTHON"),
                Installation.candidate(" ", env.toString(), venvDir, condaDir, pathDirs));
        assertEquals(new Installation.Candidate(venv, "the active environment $VIRTUAL_ENV"),
                Installation.candidate(null, "", venvDir, condaDir, pathDirs));
        assertEquals(new Installation.Candidate(conda, "the active environment $CONDA_PREFIX"),
                Installation.candidate(null, null, null, condaDir, pathDirs));
        assertEquals(new Installation.Candidate(path, "python3 on the PATH"),
                Installation.candidate(null, null, null, null, pathDirs));
        // a bare command name is looked up on the PATH
        assertEquals(new Installation.Candidate(path, "-Dpanbuf.python"),
                Installation.candidate("python3", null, null, null, pathDirs));
    }

    @Test
    void whatCannotBeFoundIsRefusedSayingWhatToDo() throws IOException {
        IllegalStateException none = assertThrows(IllegalStateException.class,
                () -> Installation.candidate(null, null, null, null, "/nonexistent"));
        assertEquals("no Python interpreter found: -Dpanbuf.python and $PANBUF_PYTHON are not set, no virtual or conda"
                + " environment is active ($VIRTUAL_ENV, $CONDA_PREFIX), and there is no python3 on the PATH; install"
                + " CPython 3 with its shared library, or name an interpreter with -Dpanbuf.python=/path/to/python",
                none.getMessage());
        IllegalStateException missing = assertThrows(IllegalStateException.class,
                () -> Installation.candidate("/nonexistent/python3", null, null, null, null));
        assertEquals("-Dpanbuf.python names /nonexistent/python3, which is not an executable file; name a Python"
                + " interpreter such as /usr/bin/python3 or .venv/bin/python", missing.getMessage());
        IllegalStateException notOnPath = assertThrows(IllegalStateException.class,
                () -> Installation.candidate(null, "python9", null, null, "/nonexistent"));
        assertEquals("PANBUF_PYTHON names python9, which is not on the PATH; give the interpreter's full path",
                notOnPath.getMessage());
        Files.createDirectories(dir.resolve("empty-venv/bin"));
        IllegalStateException brokenVenv = assertThrows(IllegalStateException.class,
                () -> Installation.candidate(null, null, dir.resolve("empty-venv").toString(), null, null));
        assertEquals("$VIRTUAL_ENV is " + dir.resolve("empty-venv") + " but " + dir.resolve("empty-venv/bin")
                + " has no python or python3; deactivate that environment, or name an interpreter with"
                + " -Dpanbuf.python=/path/to/python", brokenVenv.getMessage());
        Path failing = executable("bin/python3");
        IllegalStateException fails = assertThrows(IllegalStateException.class,
                () -> Installation.ask(new Installation.Candidate(failing, "a test")));
        assertEquals(failing + " (a test) failed with exit code 3 when asked for its paths", fails.getMessage());
    }

    /**
     * An interpreter that answers for a real one, but with sysconfig saying what
     * the test wants and every prefix elsewhere, so no libpython is found.
     */
    private Path lyingInterpreter(String name, String sysconfigOverrides) throws IOException {
        Path real = realInterpreter();
        Path p = dir.resolve(name);
        Files.writeString(p, "#!" + real + "\n"
                + "import sys, sysconfig\n"
                + "mm = '%d.%d' % sys.version_info[:2]\n"
                + "_real = sysconfig.get_config_var\n"
                + "_fake = {" + sysconfigOverrides + "}\n"
                + "sysconfig.get_config_var = lambda k: _fake.get(k, _real(k))\n"
                + "sys.prefix = sys.base_prefix = sys.exec_prefix = sys.base_exec_prefix = '/nonexistent'\n"
                + "exec(sys.argv[2])\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    private static Path realInterpreter() {
        return Path.of(TestPython.require().interpreter().orElseThrow().toString());
    }

    @Test
    void aStaticBuildIsRefusedNamingTheFix() throws IOException {
        Path fake = lyingInterpreter("static-python", "'Py_ENABLE_SHARED': 0, 'LIBDIR': '/nonexistent', 'LIBPL':"
                + " '/nonexistent', 'LDLIBRARY': 'libpython' + mm + '.a', 'INSTSONAME': 'libpython' + mm + '.a'");
        Installation i = Installation.ask(new Installation.Candidate(fake, "a test"));
        assertTrue(i.libpython().isEmpty(), String.valueOf(i.libpython()));
        String mm = i.majorMinor();
        assertTrue(i.libpythonProblem().startsWith(fake + " (a test, CPython " + i.version() + ") is a static build of"
                + " CPython (Py_ENABLE_SHARED=0, no libpython" + mm + ".so in /nonexistent), which cannot be embedded in"
                + " Java: use an interpreter built with --enable-shared (for pyenv: env PYTHON_CONFIGURE_OPTS=--enable-shared"
                + " pyenv install " + i.version() + ";"), i.libpythonProblem());
        assertTrue(i.libpythonProblem().endsWith("or name a libpython " + mm + " with -Dpanbuf.libpython"),
                i.libpythonProblem());
    }

    @Test
    void aSharedBuildWhoseLibraryIsNotInstalledSaysWhatToInstall() throws IOException {
        Path fake = lyingInterpreter("no-lib-python", "'Py_ENABLE_SHARED': 1, 'LIBDIR': '/nonexistent', 'LIBPL':"
                + " '/nonexistent', 'INSTSONAME': 'libpython' + mm + '.so.1.0', 'LDLIBRARY': 'libpython' + mm + '.so'");
        Installation i = Installation.ask(new Installation.Candidate(fake, "a test"));
        assertTrue(i.libpython().isEmpty(), String.valueOf(i.libpython()));
        assertEquals(fake + " (a test, CPython " + i.version() + ") is built with a shared libpython (libpython"
                + i.majorMinor() + ".so.1.0)"
                + " but that file is not installed (LIBDIR=/nonexistent); install it (Debian and Ubuntu: apt-get install"
                + " libpython" + i.majorMinor() + "), or name it with -Dpanbuf.libpython=/path/to/libpython"
                + i.majorMinor() + ".so", i.libpythonProblem());
    }

    @Test
    void theEmbeddedInterpreterIsTheOneFoundWithItsModulePathAndNumpy() {
        Python py = TestPython.require();
        Installation asked = Installation.find();
        assertEquals(Path.of(asked.executable()), py.interpreter().orElseThrow());
        assertEquals(asked.libpython().orElseThrow().toAbsolutePath().normalize(), py.library().toAbsolutePath().normalize());
        assertEquals(asked.version(), py.version());
        try (PyScope s = py.newScope()) {
            s.exec("import sys, numpy");
            assertEquals(asked.path(), s.eval("list(sys.path)"), "the same module path, entry for entry");
            assertEquals(asked.prefix(), s.eval("sys.prefix"), "the same prefix (a venv's own, in a venv)");
            assertEquals(asked.numpy(), s.eval("numpy.__version__"));
            assertEquals(asked.executable(), s.eval("sys.executable"));
        }
        String d = py.describe();
        assertTrue(d.startsWith("Python: " + asked.executable() + " (CPython " + py.version()), d);
        assertTrue(d.contains("\nlibpython: " + py.library() + "\n"), d);
        assertTrue(d.endsWith("\nNumPy: " + py.numpyVersion().orElseThrow()), d);
        String source = System.getProperty("panbuf.python") == null ? "python3 on the PATH" : "-Dpanbuf.python";
        assertTrue(d.contains("; " + source + ")"), d);
    }

    @Test
    void theDemoSaysSkippedAndExitsZeroWithoutNumpyOrWithoutPython() throws Exception {
        Path venv = dir.resolve("venv-without-numpy");
        Process p = new ProcessBuilder(realInterpreter().toString(), "-m", "venv", "--without-pip", venv.toString())
                .redirectErrorStream(true).start();
        String made = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), made);
        ChildJvm.Result noNumpy = ChildJvm.run(dev.panbuf.cli.Main.class,
                List.of("-Dpanbuf.python=" + venv.resolve("bin/python")), "demo");
        assertEquals(0, noNumpy.exitCode(), noNumpy.stdout() + noNumpy.stderr());
        String section = noNumpy.stdout().substring(noNumpy.stdout().indexOf("8. NumPy in this very process"));
        assertTrue(section.contains("   Python: " + venv.resolve("bin/python") + " (CPython "), section);
        assertTrue(section.contains("   NumPy: not importable (ModuleNotFoundError: No module named 'numpy')"), section);
        assertTrue(section.contains("   skipped: " + venv.resolve("bin/python") + " has no NumPy (ModuleNotFoundError: No"
                + " module named 'numpy'); install it for that interpreter (python3 -m pip install numpy), or choose another"
                + " one with -Dpanbuf.python=/path/to/python"), section);
        assertTrue(section.contains("9. PyTorch on a batch Java allocated") && section.contains("   skipped: no NumPy (see"
                + " step 8)"), section);
        assertTrue(noNumpy.stdout().contains("   pyarrow: skipped, " + venv.resolve("bin/python") + " has no pyarrow"
                + " (ModuleNotFoundError: No module named 'pyarrow'); install it for that interpreter (python3 -m pip"
                + " install pyarrow)\n"), noNumpy.stdout());
        assertTrue(noNumpy.stdout().contains("Done: one block of memory"), noNumpy.stdout());

        ChildJvm.Result noPython = ChildJvm.run(dev.panbuf.cli.Main.class,
                List.of("-Dpanbuf.python=/nonexistent/python3"), "demo");
        assertEquals(0, noPython.exitCode(), noPython.stdout() + noPython.stderr());
        assertTrue(noPython.stdout().contains("   skipped: Python is not available: -Dpanbuf.python names"
                + " /nonexistent/python3, which is not an executable file; name a Python interpreter such as"
                + " /usr/bin/python3 or .venv/bin/python\n"), noPython.stdout());
        assertTrue(noPython.stdout().contains("   skipped: no Python (see step 8)\n"), noPython.stdout());
        assertTrue(noPython.stdout().contains("   pyarrow: skipped, no Python (see step 8)\n"), noPython.stdout());
        assertTrue(noPython.stdout().contains("   the table's arena closed\n"), noPython.stdout());
    }
}
