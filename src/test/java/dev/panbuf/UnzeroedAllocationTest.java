package dev.panbuf;

import dev.panbuf.npy.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Results that panbuf fills in full ({@code Npy.read}, {@code copy}) live in
 * memory that is not zeroed first ({@link Allocation}). Each test first
 * leaves garbage where the block may come from (a closed arena's memory
 * filled with 0xA5), so a byte the read or copy missed shows up; and the
 * arena rules hold for these blocks as for {@code arena.allocate}: budget,
 * closed arena, owner thread, nothing kept after a refusal.
 */
@ExtendWith(LeakCheck.class)
class UnzeroedAllocationTest {

    private static final long BIG = 3 * Allocation.MIN_BYTES + 7;

    @TempDir
    Path dir;

    /** Frees blocks full of 0xA5 of about {@code bytes}, which the C library is likely to hand out next. */
    private static void leaveGarbage(long bytes) {
        for (int i = 0; i < 3; i++) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment s = Allocation.uninitialized(a, bytes + i * 4096L, 64);
                s.fill((byte) 0xA5);
            }
        }
    }

    @Test
    void largeBlocksComeUnzeroedInThisJvm() {
        assertTrue(Allocation.usable(BIG, 64), "the tests run with native access, so the unzeroed path is the one tested");
        assertFalse(Allocation.usable(Allocation.MIN_BYTES - 1, 64));
        assertFalse(Allocation.usable(BIG, 128));
    }

    @Test
    void readFillsEveryByteIntoEveryKindOfArena() throws Exception {
        byte[] data = new byte[(int) BIG];
        new Random(11).nextBytes(data);
        Path file = dir.resolve("big.npy");
        try (Arena a = Arena.ofConfined()) {
            Npy.write(file, NdArray.of(a.allocateFrom(ValueLayout.JAVA_BYTE, data), DType.UINT8));
        }
        for (String kind : List.of("confined", "shared", "auto", "BufferArena", "stream")) {
            leaveGarbage(BIG);
            Arena arena = switch (kind) {
                case "shared" -> Arena.ofShared();
                case "auto" -> Arena.ofAuto();
                case "BufferArena" -> BufferArena.ofConfined();
                default -> Arena.ofConfined();
            };
            NdArray back;
            if (kind.equals("stream")) {
                try (InputStream in = Files.newInputStream(file)) {
                    back = Npy.read(in, arena);
                }
            } else {
                back = Npy.read(file, arena);
            }
            assertArrayEquals(data, back.toByteArray(), kind);
            if (arena instanceof BufferArena b) {
                assertEquals(BIG, b.allocatedBytes(), "counted like any allocation");
            }
            if (!kind.equals("auto")) {
                arena.close();
                assertThrows(IllegalStateException.class, () -> back.getByte(0), kind + ": freed with its arena");
            }
        }
    }

    @Test
    void aTruncatedReadGivesNoViewAndTheArenaStillCloses() throws Exception {
        byte[] data = new byte[(int) BIG];
        Path file = dir.resolve("cut.npy");
        try (Arena a = Arena.ofConfined()) {
            Npy.write(file, NdArray.of(a.allocateFrom(ValueLayout.JAVA_BYTE, data), DType.UINT8));
        }
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        byte[] all = Files.readAllBytes(file);
        head.write(all, 0, all.length - 1000);
        try (BufferArena arena = BufferArena.ofConfined()) {
            dev.panbuf.npy.NpyFormatException e = assertThrows(dev.panbuf.npy.NpyFormatException.class,
                    () -> Npy.read(new java.io.ByteArrayInputStream(head.toByteArray()), arena));
            assertTrue(e.getMessage().startsWith("truncated .npy stream: shape (" + BIG + ",) of |u1 needs " + BIG
                    + " data bytes"), e.getMessage());
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(all.length - 1000);
        }
        try (BufferArena arena = BufferArena.ofConfined()) {
            dev.panbuf.npy.NpyFormatException e = assertThrows(dev.panbuf.npy.NpyFormatException.class, () -> Npy.read(file, arena));
            assertTrue(e.getMessage().startsWith("truncated .npy file"), e.getMessage());
            assertEquals(0, arena.allocatedBytes(), "checked against the file's size before anything is allocated");
        }
    }

    @Test
    void aBudgetRefusesUnzeroedBlocksToo() throws Exception {
        Path file = dir.resolve("budget.npy");
        try (Arena a = Arena.ofConfined()) {
            Npy.write(file, NdArray.allocate(a, DType.UINT8, BIG));
        }
        try (BufferArena arena = BufferArena.builder().budgetBytes(BIG - 1).confined().build()) {
            BudgetExceededException e = assertThrows(BudgetExceededException.class, () -> Npy.read(file, arena));
            assertTrue(e.getMessage().startsWith("allocating " + BIG + " bytes in "), e.getMessage());
            assertTrue(e.getMessage().contains("would exceed its budget of " + (BIG - 1) + " bytes (0 already allocated)"),
                    e.getMessage());
            assertEquals(0, arena.allocatedBytes());
        }
    }

    @Test
    void aClosedArenaOrAnotherThreadIsRefusedAndKeepsNothing() throws Exception {
        Arena closed = Arena.ofConfined();
        closed.close();
        IllegalStateException c = assertThrows(IllegalStateException.class, () -> Allocation.uninitialized(closed, BIG, 64));
        assertEquals("Already closed", c.getMessage());
        try (Arena mine = Arena.ofConfined()) {
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> CompletableFuture.runAsync(() -> Allocation.uninitialized(mine, BIG, 64)).get());
            assertInstanceOf(WrongThreadException.class, e.getCause());
        }
        BufferArena b = BufferArena.ofConfined();
        b.close();
        IllegalStateException bc = assertThrows(IllegalStateException.class, () -> b.allocate(BIG, 64, false));
        assertTrue(bc.getMessage().startsWith("Already closed: "), bc.getMessage());
    }

    @Test
    void copiesFillEveryByteOfEveryLayout() {
        Random random = new Random(12);
        try (Arena a = Arena.ofConfined()) {
            for (DType dtype : List.of(DType.FLOAT32, DType.FLOAT64.withByteOrder(java.nio.ByteOrder.BIG_ENDIAN),
                    DType.record(List.of(new DType.Field("a", DType.INT32, 0), new DType.Field("b", DType.FLOAT64.withByteOrder(java.nio.ByteOrder.BIG_ENDIAN), 8)), 16), DType.INT8)) {
                long side = (long) Math.ceil(Math.sqrt(2.0 * Allocation.MIN_BYTES / dtype.byteSize()));
                NdArray m = NdArray.allocate(a, dtype, side, side + 3);
                byte[] bytes = new byte[(int) m.byteSize()];
                random.nextBytes(bytes);
                MemorySegment.copy(bytes, 0, m.segment(), ValueLayout.JAVA_BYTE, 0, bytes.length);
                for (NdArray v : List.of(m, m.transpose(), m.get("::-1, 1::2"))) {
                    for (Order order : Order.values()) {
                        leaveGarbage(v.byteSize());
                        NdArray c = v.copy(order, a);
                        NdArray zeroed = NdArray.allocate(a, dtype, order, v.shape());
                        v.copyTo(zeroed);
                        assertTrue(c.isContiguous(order));
                        assertArrayEquals(zeroed.segment().toArray(ValueLayout.JAVA_BYTE), c.segment().toArray(ValueLayout.JAVA_BYTE),
                                dtype + " " + order);
                        leaveGarbage(v.byteSize());
                        assertArrayEquals(zeroed.segment().toArray(ValueLayout.JAVA_BYTE),
                                v.copy(order).segment().toArray(ValueLayout.JAVA_BYTE), dtype + " " + order + " in an automatic arena");
                    }
                }
            }
        }
    }

    @Test
    void largeZeroedArraysAreZeroOverGarbageInEveryKindOfArena() {
        for (String kind : List.of("confined", "shared", "auto", "BufferArena")) {
            for (long bytes : new long[] {Allocation.MIN_BYTES, BIG, Allocation.HUGE_PAGE_MIN_BYTES + 13}) {
                leaveGarbage(bytes);
                Arena arena = switch (kind) {
                    case "shared" -> Arena.ofShared();
                    case "auto" -> Arena.ofAuto();
                    case "BufferArena" -> BufferArena.ofConfined();
                    default -> Arena.ofConfined();
                };
                NdArray z = NdArray.allocate(arena, DType.UINT8, bytes);
                assertTrue(Allocation.isAnonymous(z.segment()), kind + ": the C copy kernel may take it");
                MemorySegment s = z.segment();
                long nonzero = 0;
                for (long i = 0; i < bytes; i++) {
                    nonzero += s.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
                }
                assertEquals(0, nonzero, kind + ", " + bytes + " bytes");
                if (arena instanceof BufferArena b) {
                    assertEquals(bytes, b.allocatedBytes(), "counted like any allocation");
                }
                if (!kind.equals("auto")) {
                    arena.close();
                    assertThrows(IllegalStateException.class, () -> z.getByte(0), kind + ": freed with its arena");
                }
            }
        }
    }

    /**
     * An arena of the user's own: every allocation, large or small, zeroed or
     * not, goes through its allocate, and none is taken for anonymous memory.
     */
    @Test
    void aUsersOwnArenaSeesEveryAllocation() throws Exception {
        final class Counting implements Arena {
            final Arena inner = Arena.ofConfined();
            long calls;
            long bytes;

            @Override
            public MemorySegment allocate(long byteSize, long byteAlignment) {
                calls++;
                bytes += byteSize;
                return inner.allocate(byteSize, byteAlignment);
            }

            @Override
            public MemorySegment.Scope scope() {
                return inner.scope();
            }

            @Override
            public void close() {
                inner.close();
            }
        }
        Path file = dir.resolve("own.npy");
        try (Counting own = new Counting()) {
            NdArray a = NdArray.allocate(own, DType.FLOAT32, 1024, 1024);
            assertEquals(1, own.calls);
            assertEquals(4L << 20, own.bytes);
            assertFalse(Allocation.isAnonymous(a.segment()), "its memory may be a file mapping: Java loops copy it");
            a.transpose().copy(Order.C, own);
            assertEquals(2, own.calls);
            Npy.write(file, a);
            NdArray back = Npy.read(file, own);
            assertEquals(3, own.calls);
            assertEquals(12L << 20, own.bytes);
            assertEquals(a.byteSize(), back.byteSize());
        }
    }
}
