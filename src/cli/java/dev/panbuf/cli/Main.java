package dev.panbuf.cli;

import dev.panbuf.NativeShim;
import dev.panbuf.shim.NativeConfig;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Entry point of the {@code panbuf} command.
 *
 * <pre>
 * panbuf demo                 a guided tour: views, export to C, checked lifetimes
 * panbuf bench [--quick]      benchmark report (Markdown table and chart)
 * panbuf inspect FILE.npy     dtype, shape, strides and contents of a .npy file
 * panbuf config [--cflags] [--libs]   panbuf's C headers and shim for a C build
 * panbuf --version | --help | COMMAND --help
 * </pre>
 *
 * <p>Exit codes: 0 on success, 1 when the command itself failed (an unreadable
 * file, for example), 2 for a usage error (an unknown command or option, a
 * missing argument), reported on standard error with the command's usage.
 */
public final class Main {

    /** A command line that cannot be run as written: reported with the usage, exit code 2. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    /** One subcommand: its usage text and what runs it. */
    private record Command(String usage, Runner runner) {}

    @FunctionalInterface
    private interface Runner {
        int run(String[] args, PrintStream out, PrintStream err);
    }

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("demo", new Command(Demo.USAGE, (a, out, err) -> Demo.run(a, out)));
        COMMANDS.put("bench", new Command(Bench.USAGE, Bench::run));
        COMMANDS.put("inspect", new Command(Inspect.USAGE, Inspect::run));
        COMMANDS.put("config", new Command(NativeConfig.usage(), NativeConfig::run));
    }

    private Main() {}

    /**
     * Runs the command line and exits with its code.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs one command.
     *
     * @param args the command line: a command and its arguments, or {@code --version} / {@code --help}
     * @param out  where results go
     * @param err  where errors and usage errors go
     * @return the process exit code: 0, 1 for a failure, 2 for a usage error
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println("panbuf: no command given");
            usage(err);
            return 2;
        }
        String name = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (name) {
            case "-V", "--version", "version" -> {
                if (rest.length > 0) {
                    err.println("panbuf " + name + ": takes no arguments, got " + String.join(" ", rest));
                    return 2;
                }
                out.println(version());
                return 0;
            }
            case "-h", "--help", "help" -> {
                if (rest.length == 0) {
                    usage(out);
                    return 0;
                }
                Command c = COMMANDS.get(rest[0]);
                if (c == null || rest.length > 1) {
                    err.println("panbuf help: " + (c == null ? "unknown command '" + rest[0] + "'" : "takes one command name"));
                    usage(err);
                    return 2;
                }
                out.println(c.usage());
                return 0;
            }
            default -> { }
        }
        Command command = COMMANDS.get(name);
        if (command == null) {
            err.println("panbuf: unknown command '" + name + "'" + (name.startsWith("-") ? " (an option goes after a command)" : ""));
            usage(err);
            return 2;
        }
        if (rest.length > 0 && (rest[0].equals("-h") || rest[0].equals("--help"))) {
            out.println(command.usage());
            return 0;
        }
        try {
            return command.runner().run(rest, out, err);
        } catch (UsageException e) {
            err.println("panbuf " + name + ": " + e.getMessage());
            String usage = command.usage();
            int blank = usage.indexOf("\n\n");
            err.println((blank < 0 ? usage : usage.substring(0, blank)) + "\n(panbuf " + name + " --help for more)");
            return 2;
        }
    }

    /** {@code panbuf VERSION (Java VERSION, PLATFORM)}. */
    static String version() {
        return "panbuf " + NativeShim.version() + " (Java " + Runtime.version() + ", " + System.getProperty("os.name") + " "
                + System.getProperty("os.arch") + ")";
    }

    private static void usage(PrintStream out) {
        out.println("usage: panbuf <command> [options]      (panbuf <command> --help for one command)");
        out.println();
        out.println("  demo                 a guided tour: typed views, export to C without copying,");
        out.println("                       C writes and Java reads, and lifetimes that cannot be broken");
        out.println("  bench [--quick|--targets|--full|--smoke] [--only REGEX]");
        out.println("                       benchmarks against their baselines (float[] loops, memcpy, NumPy),");
        out.println("                       written to bench/results.md and bench/ratios.png");
        out.println("  inspect FILE.npy     dtype, shape, strides, order, size and contents of a .npy file");
        out.println("  config [--cflags] [--libs]");
        out.println("                       panbuf's C headers and libpanbuf.so for a C build, and its flags");
        out.println("  --version            panbuf's version");
    }
}
