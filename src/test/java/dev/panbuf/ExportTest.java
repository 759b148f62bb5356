package dev.panbuf;

import dev.panbuf.cli.ExampleLibrary;
import dev.panbuf.shim.Shim;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Exports ({@code pb_buffer *} for C): every field of the struct, release
 * exactly once from Java or from C (any thread), hand-off, read-only on both
 * sides, the memory kinds that may and may not be exported, and the heap's
 * one-call route ({@link CriticalCall}). DESIGN.md "Lifetimes" rules 2, 4, 6, 7.
 */
@Tag("native")
@ExtendWith(LeakCheck.class)
class ExportTest {

    private static NdArray iota(Arena arena, long... shape) {
        NdArray a = NdArray.allocate(arena, DType.FLOAT32, shape);
        NdArray flat = a.reshape(a.elementCount());
        for (long i = 0; i < a.elementCount(); i++) {
            flat.setFloat(i, i);
        }
        return a;
    }

    // ------------------------------------------------------------------ fields

    @ParameterizedTest
    @ValueSource(strings = {"...", "::2, 1:6:2", "1::2, ::-1", "::-1, ::-3", "2, :", "1, 3", "3:3, :", ":, None", "::, 4:5"})
    void exportedStructDescribesTheViewInEveryField(String index) {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = iota(arena, 5, 7);
            NdArray v = index.equals("...") ? m : index.equals(":, None") ? m.expandDims(1) : m.get(index);
            try (Export e = v.export()) {
                assertEquals(0, e.pointer().byteSize(), "an address: Java cannot read the struct through it");
                MemorySegment pb = Shim.structAt(e.pointer().address());
                Shim.Fields f = Shim.read(pb);
                assertEquals(m.segment().address() + v.byteOffset(), f.buf(), "buf is element [0, ..., 0]");
                assertEquals(v.byteSize(), f.len(), "len");
                assertEquals(4, f.itemSize(), "itemsize");
                assertEquals(DType.FLOAT32.format(), f.format(), "format");
                assertEquals(Shim.sizeFromFormat(f.format()), f.itemSize(), "format size equals itemsize");
                assertEquals(v.ndim(), f.ndim(), "ndim");
                assertArrayEquals(v.shape(), f.shape(), "shape");
                assertArrayEquals(v.byteStrides(), f.strides(), "strides");
                assertFalse(f.readOnly(), "readonly");
                assertEquals(0, f.suboffsets(), "suboffsets");
                assertEquals(m.segment().address(), f.base(), "base is the whole allocation");
                assertEquals(m.segment().byteSize(), f.baseLen(), "base_len");
                assertEquals(Shim.MAGIC_LIVE, f.magic(), "magic");
                assertEquals(Shim.ABI_VERSION, f.abiVersion(), "abi_version");
                assertNotEquals(0, f.release(), "release");
                assertEquals(0, Shim.validate(pb), "pb_validate accepts it");
                assertEquals(v.address(), ExampleLibrary.bufAddress(pb), "C reads the same buf");
            }
        }
    }

    @Test
    void scalarAndEmptyViewsExportToo() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = iota(arena, 3, 4);
            NdArray scalar = m.get("1, 2").reshape();
            try (Export e = scalar.export()) {
                Shim.Fields f = Shim.read(Shim.structAt(e.pointer().address()));
                assertEquals(0, f.ndim());
                assertEquals(4, f.len());
                assertEquals(0, Shim.validate(e.pointer()));
            }
            NdArray empty = m.get("2:2");
            try (Export e = empty.export()) {
                Shim.Fields f = Shim.read(Shim.structAt(e.pointer().address()));
                assertArrayEquals(new long[] {0, 4}, f.shape());
                assertEquals(0, f.len());
                assertEquals(0, Shim.validate(e.pointer()));
            }
        }
    }

    // ------------------------------------------------------------------ release exactly once

    @Test
    void closeReleasesOnceAndAgainIsHarmless() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = iota(arena, 4);
            long live = Accounting.liveExports();
            Export e = m.export();
            assertEquals(live + 1, Accounting.liveExports());
            assertEquals(1, arena.liveExportCount());
            assertFalse(e.isReleased());
            e.close();
            assertTrue(e.isReleased());
            assertEquals(0, arena.liveExportCount());
            assertEquals(live, Accounting.liveExports());
            e.close();   // harmless: no second pb_release (ASan would see a double free in the sanitizer run)
            assertEquals(live, Accounting.liveExports());
            IllegalStateException ex = assertThrows(IllegalStateException.class, e::pointer);
            assertTrue(ex.getMessage().contains("already released"), ex.getMessage());
            assertTrue(e.toString().endsWith("(released)"), e.toString());
        }
    }

    @Test
    void cReleasesAJavaOwnedExportAndJavaCloseIsThenANoOp() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = iota(arena, 4);
            long live = Accounting.liveExports();
            Export e = m.export();
            Shim.release(e.pointer());          // pb_release from C's side
            assertTrue(e.isReleased());
            IllegalStateException handOff = assertThrows(IllegalStateException.class, e::handOff,
                    "no dangling pointer handed to C");
            assertTrue(handOff.getMessage().endsWith("is already released"), handOff.getMessage());
            assertEquals(0, arena.liveExportCount(), "the arena sees C's release");
            assertEquals(live, Accounting.liveExports());
            e.close();                          // nothing to do: the struct is gone
        }
    }

    @Test
    void cReleasesFromAnotherThread() throws Exception {
        try (BufferArena arena = BufferArena.ofShared()) {
            NdArray m = iota(arena, 8);
            Export e = m.export();
            MemorySegment owned = e.handOff();
            assertEquals(1, arena.liveExportCount());
            e.close();   // handed off: Java's close leaves it to C
            assertEquals(1, arena.liveExportCount());
            LiveExportsException refused = assertThrows(LiveExportsException.class, arena::close);
            assertTrue(refused.getMessage().contains("handed off") || refused.getMessage().contains("export #"),
                    refused.getMessage());
            CompletableFuture.runAsync(() -> Shim.release(owned)).get(10, TimeUnit.SECONDS);
            assertTrue(e.isReleased());
            assertEquals(0, arena.liveExportCount());
        }
    }

    @Test
    void javaOwnedExportReleasedByCOnAnotherThread() throws Exception {
        BufferArena arena = BufferArena.ofConfined();
        NdArray m = iota(arena, 8);
        Export e = m.export();
        MemorySegment pointer = e.pointer();
        Thread t = new Thread(() -> Shim.release(pointer));
        t.start();
        t.join();
        arena.close();   // polls the cell C set, retires the export, then frees
        assertTrue(arena.isClosed());
        e.close();
    }

    /**
     * Exports of global or automatic memory have no arena close to notice C's
     * releases; new exports retire them as they go, so a program that hands
     * buffers to C forever does not keep every released one (and its memory).
     */
    @Test
    void exportsReleasedByCAreRetiredWithoutAnyoneAsking() {
        NdArray a = NdArray.allocate(Arena.ofAuto(), DType.FLOAT32, 16);
        long before = Accounting.liveExports();
        for (int i = 0; i < 20_000; i++) {
            Shim.release(a.export().handOff());
        }
        long lingering = Accounting.LIVE_EXPORTS.get() - before;   // the raw counter: reading it does not look
        assertTrue(lingering >= 0 && lingering < 1000, lingering + " of 20,000 released exports not yet retired");
        assertEquals(before, Accounting.liveExports(), "and a look retires the rest");
    }

    @Test
    void handOffTwiceOrAfterReleaseIsRefused() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            Export e = iota(arena, 2).export();
            MemorySegment p = e.handOff();
            IllegalStateException twice = assertThrows(IllegalStateException.class, e::handOff);
            assertTrue(twice.getMessage().contains("handed off to C"), twice.getMessage());
            Shim.release(p);
            Export closed = iota(arena, 2).export();
            closed.close();
            IllegalStateException after = assertThrows(IllegalStateException.class, closed::handOff);
            assertTrue(after.getMessage().contains("already released"), after.getMessage());
        }
    }

    /**
     * The export's own block (struct, shape, strides, format: one calloc in
     * pb_export_alloc) is freed on release. In the sanitizer run ASan says so
     * for the very address. Otherwise glibc's count of bytes in use is watched
     * over rounds of 40,000 exports: a leaked block (over 130 bytes each) would
     * add more than 5 MB in every round, while the JVM's own malloc noise (JIT,
     * GC) comes and goes; at least one round must stay under 1 MiB.
     */
    @Test
    void releaseFreesTheExportBlock() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = iota(arena, 3, 4);
            if (NativeTestSupport.underAsan()) {
                Export e = m.export();
                long address = e.pointer().address();
                assertEquals(Optional.of(false), NativeTestSupport.asanPoisoned(address));
                e.close();
                assertEquals(Optional.of(true), NativeTestSupport.asanPoisoned(address), "freed after Java's release");
                Export c = m.export();
                long cAddress = c.pointer().address();
                Shim.release(c.pointer());
                assertEquals(Optional.of(true), NativeTestSupport.asanPoisoned(cAddress), "freed after C's release");
                c.close();
                return;
            }
            if (NativeTestSupport.mallocInUseBytes().isEmpty()) {
                return;   // no mallinfo2: covered by the sanitizer run
            }
            for (int i = 0; i < 10_000; i++) {
                m.export().close();
            }
            List<Long> growth = new ArrayList<>();
            for (int round = 0; round < 5; round++) {
                long before = NativeTestSupport.mallocInUseBytes().orElseThrow();
                for (int i = 0; i < 40_000; i++) {
                    try (Export e = m.export()) {
                        if ((i & 1) == 0) {
                            Shim.release(e.pointer());
                        }
                    }
                }
                growth.add(NativeTestSupport.mallocInUseBytes().orElseThrow() - before);
            }
            long least = growth.stream().mapToLong(Long::longValue).min().orElseThrow();
            assertTrue(least < 1 << 20, "malloc'd bytes grew in every round of 40,000 export/release cycles: " + growth);
        }
    }

    // ------------------------------------------------------------------ which memory may be exported

    @Test
    void heapExportIsRefusedSayingWhatToDo() {
        NdArray heap = NdArray.wrap(new float[] {1, 2, 3});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, heap::export);
        assertTrue(e.getMessage().contains("Java heap"), e.getMessage());
        assertTrue(e.getMessage().contains("allocate it off-heap"), e.getMessage());
        assertTrue(e.getMessage().contains("CriticalCall"), e.getMessage());
        assertThrows(IllegalArgumentException.class, heap::exportReadOnly);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void plainArenaExportIsRefusedSayingToUseABufferArena(boolean shared) {
        try (Arena plain = shared ? Arena.ofShared() : Arena.ofConfined()) {
            NdArray a = NdArray.allocate(plain, DType.FLOAT32, 4);
            long live = Accounting.liveExports();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, a::export);
            assertTrue(e.getMessage().contains("plain Arena.ofConfined() or Arena.ofShared()"), e.getMessage());
            assertTrue(e.getMessage().contains("BufferArena"), e.getMessage());
            assertEquals(live, Accounting.liveExports(), "nothing half-registered");
        }
    }

    @Test
    void globalMemoryExports() {
        NdArray g = NdArray.allocate(Arena.global(), DType.FLOAT32, 3);
        g.setFloat(7f, 1);
        try (Export e = g.export()) {
            assertEquals(g.address(), ExampleLibrary.bufAddress(e.pointer()));
            assertEquals(0, ExampleLibrary.scale(e.pointer(), 2f));
        }
        assertEquals(14f, g.getFloat(1));
    }

    /** The export alone keeps automatic memory reachable: C reads it after Java dropped every view. */
    @Test
    void automaticMemoryStaysAliveWhileExported() throws Exception {
        Export e = autoExport();
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(10);
        }
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment dst = scratch.allocate(4 * 1024);
            assertEquals(0, Shim.toContiguous(dst, e.pointer(), 4 * 1024, 'C'));
            for (int i = 0; i < 1024; i++) {
                assertEquals(i, dst.getAtIndex(ValueLayout.JAVA_FLOAT, i));
            }
        } finally {
            e.close();
        }
    }

    private static Export autoExport() {
        NdArray a = NdArray.allocate(Arena.ofAuto(), DType.FLOAT32, 1024);
        for (int i = 0; i < 1024; i++) {
            a.setFloat(i, i);
        }
        return a.export();
    }

    @Test
    void exportOfClosedMemoryIsRefusedAndRegistersNothing() {
        BufferArena arena = BufferArena.ofConfined();
        NdArray a = NdArray.allocate(arena, DType.FLOAT32, 4);
        arena.close();
        long live = Accounting.liveExports();
        IllegalStateException e = assertThrows(IllegalStateException.class, a::export);
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertEquals(live, Accounting.liveExports());
    }

    // ------------------------------------------------------------------ read-only on both sides

    @Test
    void readOnlyIsEnforcedOnBothSides() {
        try (BufferArena arena = BufferArena.ofConfined(); Arena scratch = Arena.ofConfined()) {
            NdArray m = iota(arena, 2, 3);
            MemorySegment src = scratch.allocate(24);
            try (Export ro = m.exportReadOnly(); Export viaView = m.asReadOnly().export()) {
                for (Export e : List.of(ro, viaView)) {
                    assertTrue(e.isReadOnly());
                    assertTrue(Shim.read(Shim.structAt(e.pointer().address())).readOnly(), "readonly = 1");
                    assertEquals(Shim.E_READONLY, Shim.fromContiguous(e.pointer(), src, 24, 'C'), "pb_from_contiguous refuses");
                    assertEquals(Shim.E_READONLY, ExampleLibrary.scale(e.pointer(), 5f), "a C consumer refuses");
                }
            }
            assertEquals(1f, m.getFloat(0, 1), "nothing was written");
            IllegalArgumentException java = assertThrows(IllegalArgumentException.class, () -> m.asReadOnly().setFloat(9f, 0, 1));
            assertTrue(java.getMessage().contains("read-only"), java.getMessage());
        }
    }

    // ------------------------------------------------------------------ heap arrays: one critical call

    @Test
    void criticalCallHandsAHeapFloatArrayToCForOneCall() throws Throwable {
        float[] src = new float[64];
        for (int i = 0; i < src.length; i++) {
            src[i] = i * 0.5f;
        }
        float[] dst = new float[64];
        NdArray from = NdArray.wrap(src).get("8:40");
        NdArray to = NdArray.wrap(dst).get("16:48");
        MemorySegment r = (MemorySegment) NativeTestSupport.MEMCPY_CRITICAL.invokeExact(CriticalCall.dataOf(to),
                CriticalCall.dataOf(from), 32L * 4);
        assertNotEquals(0, r.address());
        for (int i = 0; i < 32; i++) {
            assertEquals(src[8 + i], dst[16 + i], "dst[" + (16 + i) + "]");
        }
        assertEquals(0f, dst[15]);
        assertEquals(0f, dst[48]);
    }

    @Test
    void criticalCallRefusesViewsWhoseElementZeroIsNotTheirLowestByte() {
        NdArray reversed = NdArray.wrap(new float[8]).get("::-1");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CriticalCall.dataOf(reversed));
        assertTrue(e.getMessage().contains("negative strides"), e.getMessage());
    }

    @Test
    void manyExportsOfOneViewAreIndependent() {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = iota(arena, 4, 4);
            List<Export> exports = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                exports.add(i % 2 == 0 ? m.export() : m.transpose().exportReadOnly());
            }
            assertEquals(50, arena.liveExportCount());
            for (int i = 0; i < 50; i += 3) {
                Shim.release(exports.get(i).pointer());
            }
            assertEquals(50 - 17, arena.liveExportCount());
            exports.forEach(Export::close);
            assertEquals(0, arena.liveExportCount());
        }
    }
}
