package dev.panbuf.cli;

import dev.panbuf.NdArray;
import dev.panbuf.format.NumpyDescr;
import dev.panbuf.npy.Npy;
import dev.panbuf.npy.NpyFormatException;
import dev.panbuf.npy.NpyHeader;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * {@code panbuf inspect FILE.npy}: what a {@code .npy} file holds (format
 * version, dtype, shape, strides, order, size) and a NumPy-style summary of
 * its contents, read through a read-only mapping (nothing is copied or
 * changed). Exit code 0, or 1 when the file is malformed or unreadable (the
 * message names the byte), or 2 for a usage error.
 */
final class Inspect {

    static final String USAGE = """
            usage: panbuf inspect FILE.npy
                   panbuf inspect -- FILE.npy     (for a file whose name starts with '-')

            Prints what a .npy file holds (format version, dtype, shape, strides, order, size) and its
            contents as NumPy prints them, through a read-only mapping: nothing is copied or changed.
            Exit code 1 when the file is malformed (the message names the byte) or unreadable.""";

    private Inspect() {}

    static int run(String[] args, PrintStream out, PrintStream err) {
        String[] files = args.length > 0 && args[0].equals("--") ? java.util.Arrays.copyOfRange(args, 1, args.length) : args;
        if (files == args && args.length > 0 && args[0].startsWith("-")) {
            throw new Main.UsageException("unknown option '" + args[0] + "' (a file whose name starts with '-' goes after --)");
        }
        if (files.length != 1) {
            throw new Main.UsageException(files.length == 0 ? "no file given" : "takes one file, got " + files.length
                    + ": " + String.join(" ", files));
        }
        Path file = Path.of(files[0]);
        try (Arena arena = Arena.ofConfined()) {
            NpyHeader h = Npy.readHeader(file);
            NdArray a = Npy.map(file, arena, Npy.MapMode.READ_ONLY);
            print(file, h, a, out);
            return 0;
        } catch (NpyFormatException e) {
            err.println("panbuf inspect: " + file + " is not a valid .npy file: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            err.println("panbuf inspect: cannot read " + file + ": " + e);
            return 1;
        } catch (IllegalArgumentException | IllegalStateException e) {
            err.println("panbuf inspect: cannot show " + file + ": " + e.getMessage());
            return 1;
        }
    }

    static void print(Path file, NpyHeader h, NdArray a, PrintStream out) throws IOException {
        out.println("file:     " + file + " (" + count(Files.size(file), "byte") + "; .npy format " + h.majorVersion() + "."
                + h.minorVersion() + ", data at byte " + h.dataOffset() + ")");
        out.println("dtype:    " + (a.dtype().isRecord() ? NumpyDescr.descr(a.dtype()) + " (record" : a.dtype().str() + " ("
                + a.dtype().name()) + ", " + count(a.dtype().byteSize(), "byte") + " per element)");
        out.println("shape:    " + tuple(a.shape()));
        out.println("strides:  " + tuple(a.byteStrides()) + " bytes");
        out.println("order:    " + (h.fortranOrder() ? "F (Fortran, column-major)" : "C (row-major)"));
        out.println("size:     " + count(a.elementCount(), "element") + ", " + count(a.byteSize(), "byte"));
        out.println(a);
    }

    /** {@code 1 byte}, {@code 2 bytes}, {@code 0 bytes}. */
    static String count(long n, String unit) {
        return n + " " + unit + (n == 1 ? "" : "s");
    }

    private static String tuple(long[] v) {
        String s = Arrays.toString(v).replace('[', '(').replace(']', ')');
        return v.length == 1 ? s.replace(")", ",)") : s;
    }
}
