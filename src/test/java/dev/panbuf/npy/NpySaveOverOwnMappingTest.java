package dev.panbuf.npy;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.NdArray;
import dev.panbuf.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The everyday "load with mmap, edit, save" pattern: a view of a mapped
 * {@code .npy} file written back to that very file. {@code Npy.write} once
 * truncated the destination first, so the mapping it was about to read lost
 * its pages ({@code IOException: Bad address} and a 4,096-byte file where
 * 4 MiB had been; {@code InternalError} and 128 bytes for a reversed view of
 * a read-only mapping). Every map mode, C- and Fortran-order files, and the
 * whole, reversed and transposed views must now keep every byte: the file
 * ends as exactly what writing a copy of the view made before the call
 * gives, and the mapping itself still reads the old data (it keeps the old
 * file).
 */
@ExtendWith(LeakCheck.class)
class NpySaveOverOwnMappingTest {

    /** 1024 x 1024 int32: the 4 MiB. */
    private static final long SIDE = 1024;
    /** 640 x 640 int32 for the 24 cases of every mode, order and view: 1.6 MiB, two write chunks. */
    private static final long SMALL = 640;

    private static void fill(NdArray a) {
        for (long i = 0; i < a.shape(0); i++) {
            for (long j = 0; j < a.shape(1); j++) {
                a.setInt((int) (i * 1_000_003L + j * 7919L), i, j);
            }
        }
    }

    /** The bytes {@code Npy.write} gives for {@code a}, written to memory. */
    private static byte[] npyBytes(NdArray a) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Npy.write(out, a);
        return out.toByteArray();
    }

    private static Path fileOf(Path dir, Order order, long side) throws IOException {
        Path file = dir.resolve("data-" + order + ".npy");
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = NdArray.allocate(arena, DType.INT32, order, side, side);
            fill(a);
            Npy.write(file, a);
        }
        assertEquals(4L * side * side + 128, Files.size(file));
        return file;
    }

    static List<Arguments> cases() {
        List<UnaryOperator<NdArray>> views = List.of(v -> v, v -> v.get("::-1"), NdArray::transpose,
                v -> v.get("::-1, ::-1").transpose());
        List<String> names = List.of("whole", "reversed ::-1", "transposed", "reversed both axes, transposed");
        List<Arguments> out = new ArrayList<>();
        for (Npy.MapMode mode : Npy.MapMode.values()) {
            for (Order order : Order.values()) {
                for (int k = 0; k < views.size(); k++) {
                    out.add(Arguments.of(mode, order, names.get(k), views.get(k)));
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0}, {1}-order file, {2}")
    @MethodSource("cases")
    void aMappedViewSavedToItsOwnFileKeepsEveryByte(Npy.MapMode mode, Order order, String name, UnaryOperator<NdArray> view,
            @TempDir Path dir) throws IOException {
        Path file = fileOf(dir, order, SMALL);
        byte[] oldFile = Files.readAllBytes(file);
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = Npy.map(file, arena, mode);
            if (mode != Npy.MapMode.READ_ONLY) {
                m.setInt(-1, 0, 0);   // the edit (for READ_WRITE it goes to the file at once)
            }
            NdArray v = view.apply(m);
            NdArray before;
            try (Arena copy = Arena.ofConfined()) {
                before = v.copy(Order.C, copy);
                byte[] want = npyBytes(v);
                byte[] mappingBefore = m.toBytes();

                Npy.write(file, v);

                assertArrayEquals(want, Files.readAllBytes(file), "the file is exactly the view as it was");
                assertEquals(before, Npy.read(file, copy));
                assertArrayEquals(mappingBefore, m.toBytes(), "the mapping still reads the old file's data");
                assertEquals(before, v, "and the view still sees it");
            }
        }
        assertEquals(oldFile.length, Files.size(file), "same geometry, same size");
    }

    /** The first report, word for word: a copy-on-write mapping, one edit, saved over its file. */
    @Test
    void copyOnWriteEditSavedOverItsFileIsTheWholeEditedArray(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("flat.npy");   // the file: 4 MiB of int32, one dimension
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = NdArray.allocate(arena, DType.INT32, SIDE, SIDE);
            fill(a);
            Npy.write(f, a.reshape(SIDE * SIDE));
        }
        try (BufferArena arena = BufferArena.ofConfined(); Arena scratch = Arena.ofConfined()) {
            NdArray m = Npy.map(f, arena, Npy.MapMode.COPY_ON_WRITE);
            int second = m.getInt(1);
            m.setInt(-1, 0);
            Npy.write(f, m);
            NdArray back = Npy.read(f, scratch);
            assertEquals(4L * SIDE * SIDE + 128, Files.size(f));
            assertEquals(-1, back.getInt(0));
            assertEquals(second, back.getInt(1));
            assertEquals(m, back);
        }
    }

    /** The second report: a reversed view of a read-only mapping saved over its file. */
    @Test
    void reversedReadOnlyMappingSavedOverItsFileIsTheWholeReversedArray(@TempDir Path dir) throws IOException {
        Path f = fileOf(dir, Order.C, SIDE);
        try (BufferArena arena = BufferArena.ofConfined(); Arena scratch = Arena.ofConfined()) {
            NdArray m = Npy.map(f, arena, Npy.MapMode.READ_ONLY);
            NdArray reversed = m.get("::-1");
            Npy.write(f, reversed);
            NdArray back = Npy.read(f, scratch);
            assertEquals(reversed, back);
            assertEquals(m.getInt(SIDE - 1, 5), back.getInt(0, 5));
        }
    }

    /** {@code create} over a mapped file: the old mapping keeps its data, the new file starts zeroed. */
    @Test
    void createOverAMappedFileLeavesTheMappingItsData(@TempDir Path dir) throws IOException {
        Path f = fileOf(dir, Order.C, SMALL);
        try (BufferArena arena = BufferArena.ofConfined(); Arena scratch = Arena.ofConfined()) {
            NdArray m = Npy.map(f, arena, Npy.MapMode.READ_ONLY);
            byte[] before = m.toBytes();
            NdArray fresh = Npy.create(f, DType.FLOAT64, Order.C, arena, 3, 5);
            fresh.setDouble(2.5, 2, 4);
            assertArrayEquals(before, m.toBytes());
            NdArray back = Npy.read(f, scratch);
            assertEquals(2.5, back.getDouble(2, 4));
            assertEquals(0.0, back.getDouble(0, 0));
        }
    }
}
