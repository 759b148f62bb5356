package dev.panbuf.python;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The user's Python, found the way JEP, JPype and PyO3 users expect, and
 * what it says about itself: which interpreter, its version, its shared
 * libpython, its prefix and its module path. The bridge loads that libpython
 * and gives the embedded interpreter the same {@code sys.path}, so the
 * packages the user installed for that interpreter (NumPy, PyTorch, in a
 * virtual environment or not) are the ones that import.
 *
 * <h2>Which interpreter</h2>
 * The first of:
 * <ol>
 * <li>the system property {@value #PYTHON_PROPERTY}, else the environment
 *     variable {@value #PYTHON_ENV}: an interpreter's path (or a command name
 *     looked up on the {@code PATH});</li>
 * <li>an active virtual environment: {@code $VIRTUAL_ENV/bin/python};</li>
 * <li>an active conda environment: {@code $CONDA_PREFIX/bin/python};</li>
 * <li>{@code python3} on the {@code PATH}.</li>
 * </ol>
 * It is asked, in a subprocess, for {@code sys} and {@code sysconfig}
 * values. Its libpython is {@code LIBDIR/INSTSONAME} (or {@code LDLIBRARY})
 * as sysconfig names it; the system property {@value #LIBRARY_PROPERTY}
 * names another file instead.
 */
record Installation(Path command, String source, String executable, String version, String implementation,
                    String prefix, String basePrefix, List<String> path, String abiFlags, String numpy,
                    Optional<Path> libpython, String libpythonProblem) {

    static final String PYTHON_PROPERTY = "panbuf.python";
    static final String PYTHON_ENV = "PANBUF_PYTHON";
    static final String LIBRARY_PROPERTY = dev.panbuf.shim.CPython.LIBRARY_PROPERTY;
    private static final long TIMEOUT_SECONDS = 60;

    /**
     * What the interpreter prints: one {@code key=hex(UTF-8 value)} per line, so
     * that no path or message can break the format. sys.path[0] is the current
     * directory that {@code -c} puts first; it is left out.
     */
    private static final String QUERY = """
            import sys, sysconfig
            def out(k, v):
                v = '' if v is None else str(v)
                sys.stdout.write(k + '=' + v.encode('utf-8', 'surrogateescape').hex() + '\\n')
            cv = sysconfig.get_config_var
            out('executable', sys.executable)
            out('version', '%d.%d.%d' % sys.version_info[:3])
            out('implementation', sys.implementation.name)
            out('prefix', sys.prefix)
            out('base_prefix', getattr(sys, 'base_prefix', sys.prefix))
            out('exec_prefix', sys.exec_prefix)
            out('base_exec_prefix', getattr(sys, 'base_exec_prefix', sys.exec_prefix))
            out('abiflags', getattr(sys, 'abiflags', ''))
            for k in ('LDLIBRARY', 'INSTSONAME', 'LIBDIR', 'LIBPL', 'MULTIARCH', 'Py_ENABLE_SHARED'):
                out(k, cv(k))
            for p in (sys.path[1:] if sys.path and sys.path[0] == '' else sys.path):
                out('path', p)
            try:
                import importlib.util, importlib.metadata
                found = importlib.util.find_spec('numpy') is not None
                out('numpy', importlib.metadata.version('numpy') if found else '')
            except Exception as e:
                out('numpy', '')
            """;

    /** The embedded interpreter's version must match the library's: "3.11". */
    String majorMinor() {
        int second = version.indexOf('.', version.indexOf('.') + 1);
        return second < 0 ? version : version.substring(0, second);
    }

    /** The libpython to load, or the reason there is none (a static build, a library not installed). */
    Path requireLibpython() {
        return libpython.orElseThrow(() -> new IllegalStateException(libpythonProblem));
    }

    boolean isVirtualEnvironment() {
        return !prefix.equals(basePrefix);
    }

    /** One line: {@code /path/python3 (CPython 3.11.7, python3 on the PATH)}. */
    String describe() {
        return executable + " (CPython " + version + (abiFlags.isEmpty() ? "" : ", ABI flags " + abiFlags)
                + (isVirtualEnvironment() ? ", virtual environment of " + basePrefix : "") + "; " + source + ")";
    }

    // ------------------------------------------------------------------ discovery

    /**
     * Finds the interpreter and asks it about itself.
     *
     * @throws IllegalStateException saying what was looked for and what to do
     */
    static Installation find() {
        Candidate c = candidate(System.getProperty(PYTHON_PROPERTY), System.getenv(PYTHON_ENV), System.getenv("VIRTUAL_ENV"),
                System.getenv("CONDA_PREFIX"), System.getenv("PATH"));
        return ask(c);
    }

    /** An interpreter to ask, and why it was chosen. */
    record Candidate(Path command, String source) {}

    static Candidate candidate(String property, String env, String virtualEnv, String condaPrefix, String path) {
        if (property != null && !property.isBlank()) {
            return new Candidate(resolve(property.strip(), path, "-D" + PYTHON_PROPERTY), "-D" + PYTHON_PROPERTY);
        }
        if (env != null && !env.isBlank()) {
            return new Candidate(resolve(env.strip(), path, PYTHON_ENV), PYTHON_ENV);
        }
        for (String[] active : new String[][] {{"VIRTUAL_ENV", virtualEnv}, {"CONDA_PREFIX", condaPrefix}}) {
            if (active[1] != null && !active[1].isBlank()) {
                Path bin = Path.of(active[1].strip()).resolve("bin");
                for (String name : List.of("python", "python3")) {
                    if (Files.isExecutable(bin.resolve(name))) {
                        return new Candidate(bin.resolve(name), "the active environment $" + active[0]);
                    }
                }
                throw new IllegalStateException("$" + active[0] + " is " + active[1] + " but " + bin
                        + " has no python or python3; deactivate that environment, or name an interpreter with -D"
                        + PYTHON_PROPERTY + "=/path/to/python");
            }
        }
        Path onPath = onPath("python3", path);
        if (onPath == null) {
            throw new IllegalStateException("no Python interpreter found: -D" + PYTHON_PROPERTY + " and $" + PYTHON_ENV
                    + " are not set, no virtual or conda environment is active ($VIRTUAL_ENV, $CONDA_PREFIX), and there"
                    + " is no python3 on the PATH; install CPython 3 with its shared library, or name an interpreter with -D"
                    + PYTHON_PROPERTY + "=/path/to/python");
        }
        return new Candidate(onPath, "python3 on the PATH");
    }

    private static Path resolve(String command, String path, String from) {
        if (command.contains("/")) {
            Path p = Path.of(command);
            if (!Files.isExecutable(p)) {
                throw new IllegalStateException(from + " names " + command + ", which is not an executable file; name a"
                        + " Python interpreter such as /usr/bin/python3 or .venv/bin/python");
            }
            return p;
        }
        Path p = onPath(command, path);
        if (p == null) {
            throw new IllegalStateException(from + " names " + command + ", which is not on the PATH; give the"
                    + " interpreter's full path");
        }
        return p;
    }

    private static Path onPath(String name, String path) {
        if (path == null) {
            return null;
        }
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir).resolve(name);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) {
                return p;
            }
        }
        return null;
    }

    /** Runs the interpreter's self-description and locates its libpython. */
    static Installation ask(Candidate c) {
        Map<String, List<String>> v = query(c);
        Function<String, String> one = k -> v.getOrDefault(k, List.of("")).get(0);
        String implementation = one.apply("implementation");
        String version = one.apply("version");
        if (!implementation.equals("cpython")) {
            throw new IllegalStateException(c.command() + " (" + c.source() + ") is " + implementation + " " + version
                    + "; panbuf embeds CPython: name a CPython interpreter with -D" + PYTHON_PROPERTY);
        }
        String property = System.getProperty(LIBRARY_PROPERTY);
        Optional<Path> lib = Optional.empty();
        String problem = null;
        if (property == null || property.isBlank()) {
            lib = locateLibpython(v);
            if (lib.isEmpty()) {
                problem = noLibpython(c, v, version);
            }
        }
        return new Installation(c.command(), c.source(), one.apply("executable"), version, implementation,
                one.apply("prefix"), one.apply("base_prefix"), List.copyOf(v.getOrDefault("path", List.of())),
                one.apply("abiflags"), one.apply("numpy"), lib, problem);
    }

    private static Map<String, List<String>> query(Candidate c) {
        List<String> cmd = List.of(c.command().toString(), "-c", QUERY);
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + c.command() + " (" + c.source() + "): " + e.getMessage(), e);
        }
        CompletableFuture<String> out = read(p.getInputStream());
        CompletableFuture<String> err = read(p.getErrorStream());
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(c.command() + " (" + c.source() + ") did not describe itself within "
                        + TIMEOUT_SECONDS + " s");
            }
            String stdout = out.get();
            if (p.exitValue() != 0) {
                String stderr = err.get().strip();
                throw new IllegalStateException(c.command() + " (" + c.source() + ") failed with exit code " + p.exitValue()
                        + " when asked for its paths" + (stderr.isEmpty() ? "" : ": "
                        + stderr.lines().reduce((a, b) -> b).orElse(stderr)));
            }
            Map<String, List<String>> values = new LinkedHashMap<>();
            for (String line : stdout.split("\n")) {
                int eq = line.indexOf('=');
                if (eq <= 0) {
                    continue;
                }
                String value = new String(HexFormat.of().parseHex(line.substring(eq + 1).strip()), StandardCharsets.UTF_8);
                values.computeIfAbsent(line.substring(0, eq), k -> new ArrayList<>()).add(value);
            }
            if (!values.containsKey("version")) {
                throw new IllegalStateException(c.command() + " (" + c.source() + ") is not a Python 3 interpreter: it"
                        + " did not answer panbuf's question about its paths");
            }
            return values;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while asking " + c.command() + " for its paths", e);
        } catch (java.util.concurrent.ExecutionException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot read what " + c.command() + " (" + c.source() + ") said about itself: "
                    + e.getMessage(), e);
        }
    }

    private static CompletableFuture<String> read(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
    }

    /** LIBDIR/INSTSONAME and the other places sysconfig points at, first existing shared object wins. */
    private static Optional<Path> locateLibpython(Map<String, List<String>> v) {
        Function<String, String> one = k -> v.getOrDefault(k, List.of("")).get(0);
        String version = one.apply("version");
        String mm = version.substring(0, version.lastIndexOf('.'));
        Set<String> names = new LinkedHashSet<>();
        for (String n : List.of(one.apply("INSTSONAME"), one.apply("LDLIBRARY"),
                "libpython" + mm + one.apply("abiflags") + ".so.1.0", "libpython" + mm + one.apply("abiflags") + ".so")) {
            if (n.contains(".so")) {
                names.add(n);
            }
        }
        Set<Path> dirs = new LinkedHashSet<>();
        for (String d : List.of(one.apply("LIBDIR"), one.apply("LIBPL"))) {
            if (d.startsWith("/")) {
                dirs.add(Path.of(d));
            }
        }
        for (String prefix : List.of(one.apply("base_prefix"), one.apply("base_exec_prefix"), one.apply("prefix"))) {
            if (prefix.startsWith("/")) {
                dirs.add(Path.of(prefix, "lib"));
            }
        }
        if (!one.apply("MULTIARCH").isEmpty() && !one.apply("LIBDIR").isEmpty()) {
            dirs.add(Path.of(one.apply("LIBDIR")).resolve(one.apply("MULTIARCH")));
        }
        for (Path d : dirs) {
            for (String n : names) {
                Path p = d.resolve(n);
                if (Files.isRegularFile(p)) {
                    return Optional.of(p);
                }
            }
        }
        return Optional.empty();
    }

    private static String noLibpython(Candidate c, Map<String, List<String>> v, String version) {
        Function<String, String> one = k -> v.getOrDefault(k, List.of("")).get(0);
        String mm = version.substring(0, version.lastIndexOf('.'));
        String where = "LIBDIR=" + one.apply("LIBDIR");
        if ("1".equals(one.apply("Py_ENABLE_SHARED"))) {
            return c.command() + " (" + c.source() + ", CPython " + version + ") is built with a shared libpython ("
                    + one.apply("INSTSONAME") + ") but that file is not installed (" + where + "); install it (Debian and"
                    + " Ubuntu: apt-get install libpython" + mm + "), or name it with -D" + LIBRARY_PROPERTY
                    + "=/path/to/libpython" + mm + ".so";
        }
        return c.command() + " (" + c.source() + ", CPython " + version + ") is a static build of CPython"
                + " (Py_ENABLE_SHARED=0, no libpython" + mm + ".so in " + one.apply("LIBDIR") + "), which cannot be"
                + " embedded in Java: use an interpreter built with --enable-shared (for pyenv: env"
                + " PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install " + version + "; Debian, Ubuntu, Fedora and"
                + " python.org builds have one), or name a libpython " + mm + " with -D" + LIBRARY_PROPERTY;
    }
}
