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

    private Inspect() {}

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: panbuf inspect FILE.npy");
        }
        Path file = Path.of(args[0]);
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
        }
    }

    static void print(Path file, NpyHeader h, NdArray a, PrintStream out) throws IOException {
        out.println("file:     " + file + " (" + Files.size(file) + " bytes; .npy format " + h.majorVersion() + "."
                + h.minorVersion() + ", data at byte " + h.dataOffset() + ")");
        out.println("dtype:    " + (a.dtype().isRecord() ? NumpyDescr.descr(a.dtype()) + " (record" : a.dtype().str() + " ("
                + a.dtype().name()) + ", " + a.dtype().byteSize() + " bytes per element)");
        out.println("shape:    " + tuple(a.shape()));
        out.println("strides:  " + tuple(a.byteStrides()) + " bytes");
        out.println("order:    " + (h.fortranOrder() ? "F (Fortran, column-major)" : "C (row-major)"));
        out.println("size:     " + a.elementCount() + " elements, " + a.byteSize() + " bytes");
        out.println(a);
    }

    private static String tuple(long[] v) {
        String s = Arrays.toString(v).replace('[', '(').replace(']', ')');
        return v.length == 1 ? s.replace(")", ",)") : s;
    }
}
