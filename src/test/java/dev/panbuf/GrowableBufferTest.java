package dev.panbuf;

import dev.panbuf.shim.Shim;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link GrowableBuffer}, panbuf's {@code bytearray}: DESIGN.md "Lifetimes"
 * rules 2 and 3. It appends and resizes; a relocation closes the old memory so
 * stale views throw; any size change while exported is refused with nothing
 * changed, as Python refuses to resize a {@code bytearray} with live exports.
 */
@ExtendWith(LeakCheck.class)
class GrowableBufferTest {

    private static byte[] bytes(int from, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (from + i);
        }
        return b;
    }

    @ParameterizedTest(name = "shared={0}")
    @ValueSource(booleans = {false, true})
    void appendResizeAndViewWork(boolean shared) {
        try (GrowableBuffer buf = shared ? GrowableBuffer.ofShared(8) : GrowableBuffer.ofConfined(8)) {
            assertEquals(0, buf.byteSize());
            assertEquals(8, buf.capacity());
            buf.append(bytes(1, 6));
            assertEquals(6, buf.byteSize());
            assertEquals(8, buf.capacity(), "no relocation within capacity");
            buf.resize(8);
            assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 0, 0}, buf.segment().toArray(ValueLayout.JAVA_BYTE), "new bytes are zero");
            NdArray ints = buf.view(DType.INT32);
            assertArrayEquals(new long[] {2}, ints.shape());
            NdArray matrix = buf.view(DType.UINT8, 2, 4);
            assertEquals(6, matrix.getByte(1, 1));
            buf.resize(3);
            assertEquals(3, buf.byteSize());
            assertEquals(3, buf.segment().byteSize());
            IllegalArgumentException odd = assertThrows(IllegalArgumentException.class, () -> buf.view(DType.INT16));
            assertTrue(odd.getMessage().contains("3 bytes"), odd.getMessage());
            IllegalArgumentException negative = assertThrows(IllegalArgumentException.class, () -> buf.resize(-1));
            assertEquals("size must be >= 0 bytes, got -1", negative.getMessage());
        }
    }

    @Test
    void relocationKeepsContentsAndClosesTheOldMemory() {
        try (GrowableBuffer buf = GrowableBuffer.ofConfined(4)) {
            buf.append(bytes(10, 4));
            NdArray stale = buf.view(DType.UINT8);
            MemorySegment staleSegment = buf.segment();
            long oldAddress = staleSegment.address();
            buf.append(bytes(14, 1));   // past capacity: relocates
            assertEquals(8, buf.capacity(), "capacity doubles");
            assertNotEquals(oldAddress, buf.segment().address());
            assertArrayEquals(bytes(10, 5), buf.segment().toArray(ValueLayout.JAVA_BYTE));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> stale.getByte(0));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> staleSegment.get(ValueLayout.JAVA_BYTE, 0));
            assertTrue(stale.toString().contains("(memory closed)"), stale.toString());
            buf.resize(100);   // more than double: exactly what is asked
            assertEquals(100, buf.capacity());
            assertEquals(14, buf.view(DType.UINT8).getByte(4));
            assertEquals(0, buf.view(DType.UINT8).getByte(99));
        }
    }

    @Test
    void growthWhileExportedIsRefusedAndChangesNothing() {
        try (GrowableBuffer buf = GrowableBuffer.ofConfined(4)) {
            buf.append(bytes(1, 4));
            NdArray v = buf.view(DType.UINT8);
            Export e = v.export();
            assertEquals(1, buf.liveExportCount());
            long address = buf.segment().address();
            for (Runnable change : List.<Runnable>of(() -> buf.append(bytes(5, 10)), () -> buf.append(new byte[1]),
                    () -> buf.resize(2), () -> buf.resize(4096))) {
                LiveExportsException ex = assertThrows(LiveExportsException.class, change::run);
                assertEquals(1, ex.liveExports());
                assertTrue(ex.getMessage().contains("BufferError: Existing exports of data: object cannot be re-sized"),
                        ex.getMessage());
                assertTrue(ex.getMessage().contains("GrowableBuffer of 4 bytes: it has 1 live export"), ex.getMessage());
                assertTrue(ex.getMessage().contains(e.toString().substring(0, e.toString().indexOf(" ("))), ex.getMessage());
                assertEquals(4, buf.byteSize(), "size unchanged");
                assertEquals(4, buf.capacity(), "capacity unchanged");
                assertEquals(address, buf.segment().address(), "not relocated");
                assertArrayEquals(bytes(1, 4), buf.segment().toArray(ValueLayout.JAVA_BYTE), "contents unchanged");
                assertEquals(3, v.getByte(2), "the exported view is still valid");
            }
            LiveExportsException close = assertThrows(LiveExportsException.class, buf::close);
            assertEquals(1, close.liveExports());
            assertEquals(4, buf.byteSize(), "still open after the refused close");
            e.close();
            buf.append(bytes(5, 10));
            assertArrayEquals(bytes(1, 14), buf.segment().toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void aReleaseFromCUnblocksGrowth() {
        try (GrowableBuffer buf = GrowableBuffer.ofShared(16)) {
            buf.resize(16);
            Export e = buf.view(DType.FLOAT32).export();
            MemorySegment p = e.handOff();
            assertThrows(LiveExportsException.class, () -> buf.resize(32));
            Shim.release(p);
            buf.resize(32);
            assertEquals(32, buf.byteSize());
            assertEquals(0, buf.liveExportCount());
        }
    }

    @Test
    void budgetBoundsTheCapacity() {
        try (GrowableBuffer buf = GrowableBuffer.withBudget(false, 16, 40)) {
            buf.append(bytes(0, 16));
            buf.append(bytes(16, 4));   // doubling to 32 fits
            assertEquals(32, buf.capacity());
            buf.append(bytes(20, 20));  // 64 would not: exactly 40
            assertEquals(40, buf.capacity());
            BudgetExceededException e = assertThrows(BudgetExceededException.class, () -> buf.append(new byte[1]));
            assertEquals("cannot append 1 bytes to GrowableBuffer of 40 bytes: 41 bytes exceed its budget of 40 bytes",
                    e.getMessage());
            assertEquals(40, buf.byteSize());
            assertArrayEquals(bytes(0, 40), buf.segment().toArray(ValueLayout.JAVA_BYTE), "contents unchanged");
        }
        BudgetExceededException initial = assertThrows(BudgetExceededException.class, () -> GrowableBuffer.withBudget(true, 100, 50));
        assertTrue(initial.getMessage().contains("initial capacity of 100 bytes exceeds"), initial.getMessage());
    }

    @Test
    void closedBufferRefusesEverythingAndClosingAgainIsHarmless() {
        GrowableBuffer buf = GrowableBuffer.ofConfined(4);
        buf.append(bytes(0, 4));
        NdArray v = buf.view(DType.UINT8);
        buf.close();
        for (Runnable r : List.<Runnable>of(buf::byteSize, buf::capacity, buf::segment, () -> buf.view(DType.UINT8),
                () -> buf.append(new byte[1]), () -> buf.resize(1), () -> v.getByte(0))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, r::run);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
        assertEquals(0, buf.liveExportCount());
        assertEquals("GrowableBuffer (closed)", buf.toString());
        buf.close();
    }

    @Test
    void confinedBufferRefusesOtherThreadsAndChangesNothing() throws Exception {
        try (GrowableBuffer buf = GrowableBuffer.ofConfined(0)) {
            for (Runnable r : List.<Runnable>of(() -> buf.append(new byte[3]), () -> buf.resize(10), buf::segment, buf::byteSize)) {
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
                assertInstanceOf(WrongThreadException.class, thrown.get());
                assertTrue(thrown.get().getMessage().contains("outside owning thread"), thrown.get().getMessage());
            }
            assertEquals(0, buf.byteSize());
            buf.append(new byte[2]);
        }
    }

    @Test
    void sharedBufferGrowsFromAnyThread() throws Exception {
        try (GrowableBuffer buf = GrowableBuffer.ofShared(1)) {
            CompletableFuture.runAsync(() -> buf.append(bytes(0, 100))).get(10, TimeUnit.SECONDS);
            assertEquals(100, buf.byteSize());
        }
    }

    /** Seeded random appends, resizes and exports against a plain byte-list model. */
    @Test
    void randomOperationsMatchAByteListModel() {
        Random rnd = new Random(20240611L);
        try (GrowableBuffer buf = GrowableBuffer.ofConfined(rnd.nextInt(8))) {
            ByteArrayOutputStream model = new ByteArrayOutputStream();
            Export export = null;
            for (int step = 0; step < 2000; step++) {
                int op = rnd.nextInt(10);
                byte[] current = model.toByteArray();
                if (op < 5) {
                    byte[] more = new byte[rnd.nextInt(40)];
                    rnd.nextBytes(more);
                    if (export != null && !export.isReleased()) {
                        assertThrows(LiveExportsException.class, () -> buf.append(more));
                    } else {
                        buf.append(more);
                        model.writeBytes(more);
                    }
                } else if (op < 7) {
                    int size = rnd.nextInt(current.length + 50);
                    if (export != null && !export.isReleased()) {
                        assertThrows(LiveExportsException.class, () -> buf.resize(size));
                    } else {
                        buf.resize(size);
                        model.reset();
                        model.writeBytes(Arrays.copyOf(current, size));
                    }
                } else if (op < 9) {
                    if (export == null) {
                        export = buf.view(DType.UINT8).export();
                    } else {
                        if (rnd.nextBoolean()) {
                            export.close();
                        } else {
                            Shim.release(export.handOff());
                        }
                        export = null;
                    }
                }
                assertArrayEquals(model.toByteArray(), buf.segment().toArray(ValueLayout.JAVA_BYTE), "step " + step);
                assertTrue(buf.capacity() >= buf.byteSize());
            }
            if (export != null) {
                export.close();
            }
        }
    }
}
