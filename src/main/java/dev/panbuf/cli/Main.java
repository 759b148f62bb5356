package dev.panbuf.cli;

import java.io.PrintStream;
import java.util.Arrays;

/**
 * Entry point of the {@code panbuf} command.
 *
 * <pre>
 * panbuf demo                 a guided tour: views, export to C, checked lifetimes
 * panbuf bench [--quick]      benchmark report (Markdown table and chart)
 * panbuf inspect FILE.npy     dtype, shape, strides and contents of a .npy file
 * </pre>
 */
public final class Main {

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command; returns the process exit code. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help") || args[0].equals("help")) {
            usage(out);
            return args.length == 0 ? 2 : 0;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (args[0]) {
                case "demo" -> Demo.run(rest, out);
                case "inspect" -> Inspect.run(rest, out, err);
                case "bench" -> Bench.run(rest, out);
                default -> {
                    err.println("panbuf: unknown command '" + args[0] + "'");
                    usage(err);
                    yield 2;
                }
            };
        } catch (IllegalArgumentException e) {
            err.println("panbuf " + args[0] + ": " + e.getMessage());
            return 2;
        }
    }

    private static void usage(PrintStream out) {
        out.println("usage: panbuf <command> [options]");
        out.println();
        out.println("  demo                 a guided tour: typed views, export to C without copying,");
        out.println("                       C writes and Java reads, and lifetimes that cannot be broken");
        out.println("  bench [--quick|--targets|--full|--smoke] [--only REGEX]");
        out.println("                       benchmarks against their baselines (float[] loops, memcpy, NumPy),");
        out.println("                       written to bench/results.md and bench/ratios.png");
        out.println("  inspect FILE.npy     dtype, shape, strides, order, size and contents of a .npy file");
    }
}
