package dev.panbuf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link BufferArena}: DESIGN.md "Lifetimes" rules 1 and 2. It counts the
 * exports of its memory, refuses to close while any is live (naming each, with
 * its creation site, and freeing nothing), stays open when a downcall holds its
 * memory, keeps a byte budget, and works wherever FFM takes an {@link Arena}.
 */
@ExtendWith(LeakCheck.class)
class BufferArenaTest {

    private static BufferArena arena(boolean shared) {
        return shared ? BufferArena.ofShared() : BufferArena.ofConfined();
    }

    // ------------------------------------------------------------------ rule 2: pinned while exported

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {false, true})
    void closeWithLiveExportsThrowsNamingEachAndFreesNothing(boolean shared) {
        long openBefore = Accounting.openArenas();
        BufferArena arena = arena(shared);
        NdArray a = NdArray.allocate(arena, DType.FLOAT64, 4, 4);
        a.fillDouble(2.5);
        Export whole = a.export();
        Export row = a.get("1").export();
        Export column = a.get(":, 2").exportReadOnly();
        assertEquals(3, arena.liveExportCount());
        long bytes = arena.allocatedBytes();

        LiveExportsException e = assertThrows(LiveExportsException.class, arena::close);
        assertEquals(3, e.liveExports());
        String msg = e.getMessage();
        assertTrue(msg.contains("3 live exports"), msg);
        for (Export x : List.of(whole, row, column)) {
            String name = x.toString().substring(0, x.toString().indexOf(" ("));
            assertTrue(msg.contains(name), "message names " + name + ": " + msg);
        }
        assertTrue(msg.contains(", created at ") && msg.contains(
                "dev.panbuf.BufferArenaTest.closeWithLiveExportsThrowsNamingEachAndFreesNothing(BufferArenaTest.java:"),
                "paranoid leak tracking records the creation site: " + msg);
        assertEquals(3, arena.liveExports().size());

        // nothing was freed: the arena is open, its memory readable and unchanged, C can still use the exports
        assertFalse(arena.isClosed());
        assertTrue(arena.scope().isAlive());
        assertEquals(2.5, a.getDouble(3, 3));
        assertEquals(bytes, arena.allocatedBytes());
        assertEquals(0, dev.panbuf.shim.Shim.validate(whole.pointer()));
        NdArray more = NdArray.allocate(arena, DType.INT8, 8);   // still allocates
        more.setByte((byte) 1, 7);

        row.close();
        LiveExportsException stillTwo = assertThrows(LiveExportsException.class, arena::close);
        assertEquals(2, stillTwo.liveExports());
        assertTrue(stillTwo.getMessage().contains("2 live exports"), stillTwo.getMessage());
        whole.close();
        column.close();
        arena.close();
        assertTrue(arena.isClosed());
        assertEquals(openBefore, Accounting.openArenas());
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> a.getDouble(0, 0));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
    }

    @Test
    void oneLiveExportIsNamedInTheSingular() {
        BufferArena arena = BufferArena.builder().name("frames").build();
        Export e = NdArray.allocate(arena, DType.UINT8, 3).export();
        LiveExportsException ex = assertThrows(LiveExportsException.class, arena::close);
        assertTrue(ex.getMessage().startsWith("cannot close frames: it has 1 live export that C may still use: export #"),
                ex.getMessage());
        e.close();
        arena.close();
    }

    @Test
    void anExportReleasedByCNoLongerPins() {
        BufferArena arena = BufferArena.ofShared();
        Export e = NdArray.allocate(arena, DType.INT32, 10).export();
        dev.panbuf.shim.Shim.release(e.handOff());
        arena.close();
        assertTrue(arena.isClosed());
    }

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {false, true})
    void accountingFollowsAllocationsAndClose(boolean shared) {
        long open = Accounting.openArenas();
        long bytes = Accounting.arenaBytes();
        long exports = Accounting.liveExports();
        try (BufferArena arena = arena(shared)) {
            NdArray.allocate(arena, DType.FLOAT32, 100);
            assertEquals(open + 1, Accounting.openArenas());
            assertEquals(bytes + 400, Accounting.arenaBytes());
            assertEquals(400, arena.allocatedBytes());
            try (Export e = NdArray.allocate(arena, DType.FLOAT32, 1).export()) {
                assertEquals(exports + 1, Accounting.liveExports());
                assertNotNull(e.pointer());
            }
        }
        assertEquals(open, Accounting.openArenas());
        assertEquals(bytes, Accounting.arenaBytes());
        assertEquals(exports, Accounting.liveExports());
    }

    // ------------------------------------------------------------------ rule 1: closed and wrong-thread access

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {false, true})
    void afterCloseEveryUseThrowsClosed(boolean shared) {
        BufferArena arena = arena(shared);
        NdArray a = NdArray.allocate(arena, DType.FLOAT32, 2);
        MemorySegment raw = arena.allocate(16);
        arena.close();
        for (Runnable r : List.<Runnable>of(() -> a.getFloat(0), () -> a.setFloat(1f, 1), () -> raw.get(ValueLayout.JAVA_INT, 0),
                () -> arena.allocate(8), a::export, arena::close)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, r::run);
            assertTrue(e.getMessage().contains("closed") || e.getMessage().contains("Closed"), e.getMessage());
        }
        assertEquals(0, arena.liveExportCount());
        assertTrue(arena.toString().endsWith("(closed)"), arena.toString());
    }

    @Test
    void confinedArenaRefusesOtherThreads() throws Exception {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray a = NdArray.allocate(arena, DType.FLOAT32, 2);
            for (Runnable r : List.<Runnable>of(() -> a.getFloat(0), () -> arena.allocate(8), arena::close, a::export)) {
                Throwable t = onAnotherThread(r);
                assertInstanceOf(WrongThreadException.class, t);
                assertTrue(t.getMessage().contains("outside owning thread"), t.getMessage());
            }
            assertFalse(arena.isClosed());
            assertEquals(0, arena.liveExportCount());
        }
    }

    @Test
    void sharedArenaIsUsedAndClosedByAnyThread() throws Exception {
        BufferArena arena = BufferArena.ofShared();
        NdArray a = NdArray.allocate(arena, DType.FLOAT32, 2);
        CompletableFuture.runAsync(() -> {
            a.setFloat(3f, 1);
            NdArray.allocate(arena, DType.INT8, 1);
            a.export().close();
        }).get(10, TimeUnit.SECONDS);
        assertEquals(3f, a.getFloat(1));
        CompletableFuture.runAsync(arena::close).get(10, TimeUnit.SECONDS);
        assertTrue(arena.isClosed());
    }

    private static Throwable onAnotherThread(Runnable r) throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                r.run();
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        t.start();
        t.join();
        assertNotNull(thrown.get(), "expected the other thread to be refused");
        return thrown.get();
    }

    // ------------------------------------------------------------------ wherever FFM takes an Arena

    @Test
    void segmentAllocatorMethodsAllocateFromTheArena() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            MemorySegment s = arena.allocateFrom("panbuf");
            MemorySegment ints = arena.allocateFrom(ValueLayout.JAVA_INT, 1, 2, 3);
            MemorySegment longs = arena.allocate(ValueLayout.JAVA_LONG, 5);
            MemorySegment one = arena.allocate(ValueLayout.JAVA_DOUBLE);
            assertEquals("panbuf", s.getString(0));
            assertEquals(3, ints.getAtIndex(ValueLayout.JAVA_INT, 2));
            assertEquals(40, longs.byteSize());
            assertEquals(8, one.byteSize());
            assertEquals(7 + 12 + 40 + 8, arena.allocatedBytes());
            assertTrue(BufferArena.owning(ints) == arena);
            try (Export e = NdArray.of(ints, DType.INT32).export()) {
                assertEquals(1, arena.liveExportCount(), "SegmentAllocator memory is pinned like any other");
                assertNotNull(e.pointer());
            }
        }
    }

    @Test
    void mappedFileInABufferArenaIsPinnedWhileExported(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("frames.bin");
        Files.write(file, new byte[4096]);
        BufferArena arena = BufferArena.ofShared();
        MemorySegment mapped;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            mapped = ch.map(FileChannel.MapMode.READ_WRITE, 0, 4096, arena);
        }
        NdArray v = NdArray.of(mapped, DType.INT32);
        v.setInt(42, 5);
        Export e = v.export();
        LiveExportsException refused = assertThrows(LiveExportsException.class, arena::close);
        assertEquals(1, refused.liveExports());
        assertEquals(42, v.getInt(5), "still mapped");
        e.close();
        arena.close();
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> v.getInt(5));
        assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
        assertEquals(42, java.nio.ByteBuffer.wrap(Files.readAllBytes(file)).order(java.nio.ByteOrder.nativeOrder()).getInt(20));
    }

    @Test
    void reinterpretWithCleanupRunsTheCleanupOnceAtClose() {
        AtomicInteger cleanups = new AtomicInteger();
        BufferArena arena = BufferArena.ofConfined();
        MemorySegment backing = arena.allocate(64);
        MemorySegment wrapped = MemorySegment.ofAddress(backing.address()).reinterpret(64, arena, s -> cleanups.incrementAndGet());
        wrapped.set(ValueLayout.JAVA_LONG, 8, 99L);
        Export e = NdArray.of(wrapped, DType.INT64).export();   // reinterpreted into the arena: pinned too
        assertThrows(LiveExportsException.class, arena::close);
        assertEquals(0, cleanups.get(), "a refused close runs no cleanup");
        e.close();
        arena.close();
        assertEquals(1, cleanups.get());
        assertThrows(IllegalStateException.class, () -> wrapped.get(ValueLayout.JAVA_LONG, 8));
    }

    /**
     * A cleanup that throws an Error: FFM closes the arena anyway (and, unlike
     * for a RuntimeException, skips the cleanups still to run); BufferArena
     * must agree that it is closed.
     */
    @Test
    void anErrorFromACleanupStillLeavesTheArenaClosed() {
        long open = Accounting.openArenas();
        long bytes = Accounting.arenaBytes();
        BufferArena arena = BufferArena.ofConfined();
        MemorySegment s = arena.allocate(32);
        AtomicInteger ran = new AtomicInteger();
        MemorySegment.ofAddress(s.address()).reinterpret(32, arena, x -> ran.incrementAndGet());
        MemorySegment.ofAddress(s.address()).reinterpret(32, arena, x -> {
            throw new AssertionError("cleanup failed hard");
        });
        AssertionError e = assertThrows(AssertionError.class, arena::close);
        assertEquals("cleanup failed hard", e.getMessage());
        assertTrue(ran.get() <= 1);
        assertTrue(arena.isClosed(), "closed, as FFM closed it");
        assertFalse(arena.scope().isAlive());
        assertEquals(open, Accounting.openArenas());
        assertEquals(bytes, Accounting.arenaBytes());
        IllegalStateException again = assertThrows(IllegalStateException.class, arena::close);
        assertTrue(again.getMessage().startsWith("Already closed"), again.getMessage());
    }

    // ------------------------------------------------------------------ budget

    @Test
    void budgetRefusesAllocationsPastItAndAllocatesNothing() {
        try (BufferArena arena = BufferArena.builder().budgetBytes(1000).name("budgeted").build()) {
            NdArray.allocate(arena, DType.UINT8, 600);
            BudgetExceededException e = assertThrows(BudgetExceededException.class,
                    () -> NdArray.allocate(arena, DType.UINT8, 401));
            assertEquals("allocating 401 bytes in budgeted would exceed its budget of 1000 bytes (600 already allocated)",
                    e.getMessage());
            assertEquals(600, arena.allocatedBytes());
            NdArray.allocate(arena, DType.UINT8, 400);   // exactly to the budget
            assertThrows(BudgetExceededException.class, () -> arena.allocate(1));
            assertEquals(1000, arena.allocatedBytes());
        }
        IllegalArgumentException negative = assertThrows(IllegalArgumentException.class,
                () -> BufferArena.builder().budgetBytes(-1));
        assertTrue(negative.getMessage().contains("-1"), negative.getMessage());
    }

    // ------------------------------------------------------------------ close during a downcall

    private static BufferArena closing;
    private static final List<Throwable> CLOSE_FAILURES = new ArrayList<>();

    /** qsort comparator that tries to close the arena whose memory qsort is sorting. */
    static int closeThenCompare(MemorySegment x, MemorySegment y) {
        try {
            if (CLOSE_FAILURES.isEmpty()) {
                closing.close();
                CLOSE_FAILURES.add(new AssertionError("close succeeded during the downcall"));
            }
        } catch (Throwable t) {
            CLOSE_FAILURES.add(t);
        }
        return Integer.compare(x.get(ValueLayout.JAVA_INT, 0), y.get(ValueLayout.JAVA_INT, 0));
    }

    /**
     * qsort holds the arena's memory for the whole call; its comparator (an
     * upcall) closes the arena: FFM refuses with "Session is acquired by 1
     * clients" and the BufferArena stays open and usable.
     */
    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {false, true})
    void closeDuringADowncallLeavesTheArenaOpen(boolean shared) throws Throwable {
        MethodHandle cmp = MethodHandles.lookup().findStatic(BufferArenaTest.class, "closeThenCompare",
                MethodType.methodType(int.class, MemorySegment.class, MemorySegment.class));
        CLOSE_FAILURES.clear();
        long open = Accounting.openArenas();
        closing = arena(shared);
        try (Arena stubs = Arena.ofConfined()) {
            MemorySegment stub = NativeTestSupport.comparator(cmp, ValueLayout.JAVA_INT, stubs);
            NdArray a = NdArray.allocate(closing, DType.INT32, 6);
            int[] values = {5, 3, 9, 1, 7, 2};
            for (int i = 0; i < values.length; i++) {
                a.setInt(values[i], i);
            }
            NativeTestSupport.qsort(a.segment(), 6, 4, stub);
            assertEquals(1, CLOSE_FAILURES.size());
            Throwable t = CLOSE_FAILURES.getFirst();
            assertInstanceOf(IllegalStateException.class, t);
            assertTrue(t.getMessage().contains("Session is acquired by 1 clients"), t.getMessage());
            assertFalse(closing.isClosed());
            assertEquals(open + 1, Accounting.openArenas());
            assertEquals(List.of(1, 2, 3, 5, 7, 9), java.util.Arrays.stream(a.toIntArray()).boxed().toList());
            NdArray.allocate(closing, DType.INT8, 4);   // still usable
            closing.close();
            assertTrue(closing.isClosed());
            assertEquals(open, Accounting.openArenas());
        } finally {
            closing = null;
        }
    }

    private static volatile BufferArena closedByOtherThread;
    private static final AtomicReference<Throwable> OTHER_THREAD_CLOSE = new AtomicReference<>();

    /** Comparator that, once, makes another thread close the shared arena and waits for it. */
    static int otherThreadClosesThenCompare(MemorySegment x, MemorySegment y) {
        if (OTHER_THREAD_CLOSE.get() == null) {
            try {
                CompletableFuture.runAsync(() -> closedByOtherThread.close()).get(10, TimeUnit.SECONDS);
                OTHER_THREAD_CLOSE.set(new AssertionError("close succeeded during the downcall"));
            } catch (ExecutionException e) {
                OTHER_THREAD_CLOSE.set(e.getCause());
            } catch (Throwable t) {
                OTHER_THREAD_CLOSE.set(t);
            }
        }
        return Integer.compare(x.get(ValueLayout.JAVA_INT, 0), y.get(ValueLayout.JAVA_INT, 0));
    }

    @Test
    void closeFromAnotherThreadDuringADowncallLeavesASharedArenaOpen() throws Throwable {
        MethodHandle cmp = MethodHandles.lookup().findStatic(BufferArenaTest.class, "otherThreadClosesThenCompare",
                MethodType.methodType(int.class, MemorySegment.class, MemorySegment.class));
        OTHER_THREAD_CLOSE.set(null);
        closedByOtherThread = BufferArena.ofShared();
        try (Arena stubs = Arena.ofConfined()) {
            MemorySegment stub = NativeTestSupport.comparator(cmp, ValueLayout.JAVA_INT, stubs);
            NdArray a = NdArray.allocate(closedByOtherThread, DType.INT32, 4);
            a.setInt(4, 0);
            a.setInt(2, 3);
            NativeTestSupport.qsort(a.segment(), 4, 4, stub);
            Throwable t = OTHER_THREAD_CLOSE.get();
            assertInstanceOf(IllegalStateException.class, t);
            assertTrue(t.getMessage().contains("Session is acquired by 1 clients"), t.getMessage());
            assertFalse(closedByOtherThread.isClosed());
            assertEquals(4, a.getInt(3));
            closedByOtherThread.close();
        } finally {
            closedByOtherThread = null;
        }
    }
}
