package dev.panbuf.dlpack;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;
import dev.panbuf.Order;
import dev.panbuf.format.NumpyDescr;
import dev.panbuf.shim.DLPackShim;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.PaddingLayout;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DLPack from Java: export and import round trips (same address, the deleter
 * called exactly once when the importing arena closes, the memory pinned
 * until then), the refusals with their messages (and nothing pinned after
 * one), the version rules against a Java-made foreign producer, and the
 * generated layouts against the compiled shim.
 */
@Tag("native")   // also runs against the ASan+UBSan libpanbuf (./run-tests)
@ExtendWith(LeakCheck.class)
class DLPackTest {

    @Test
    void exportThenImportIsTheSameMemoryAndTheDeleterRunsOnceWhenTheArenaCloses() {
        try (BufferArena a = BufferArena.ofConfined()) {
            NdArray m = NdArray.allocate(a, DType.FLOAT32, 3, 4);
            m.setFloat(2.5f, 1, 2);
            NdArray[] views = {m, m.transpose(), m.get("::-1, 1::2"), m.broadcastTo(2, 3, 4)};
            for (NdArray v : views) {
                DLPackExport e = DLPack.export(v);
                assertTrue(e.isVersioned());
                long before = DLPack.liveImports();
                NdArray same;
                try (Arena b = Arena.ofConfined()) {
                    same = DLPack.importVersioned(e.handOff(), b);
                    assertEquals(v.address(), same.address(), v.describe());
                    assertArrayEquals(v.shape(), same.shape());
                    assertArrayEquals(v.byteStrides(), same.byteStrides());
                    assertEquals(v.isReadOnly(), same.isReadOnly());
                    assertEquals(v, same);
                    assertEquals(before + 1, DLPack.liveImports());
                    assertFalse(e.isDeleted());
                    LiveExportsException pinned = assertThrows(LiveExportsException.class, a::close);
                    assertTrue(pinned.getMessage().contains("1 live export"), pinned.getMessage());
                }
                assertTrue(e.isDeleted(), "closing the importing arena called the deleter");
                assertEquals(before, DLPack.liveImports());
                assertEquals(0, a.liveExportCount());
                e.close();   // handed off: nothing to do, and harmless
                assertThrows(IllegalStateException.class, same::toBytes);
            }
        }
    }

    @Test
    void writesAreSharedAndReadOnlyIsKept() {
        try (BufferArena a = BufferArena.ofConfined(); Arena b = Arena.ofConfined()) {
            NdArray m = NdArray.allocate(a, DType.INT16, 5);
            NdArray w = DLPack.importVersioned(DLPack.export(m).handOff(), b);
            w.setShort((short) 7, 3);
            assertEquals(7, m.getShort(3));
            DLPackExport ro = DLPack.export(m.asReadOnly());
            MemorySegment p = ro.handOff();
            assertEquals(DLPackShim.FLAG_READ_ONLY, DLPackShim.readVersioned(p.address()).flags());
            NdArray r = DLPack.importVersioned(p, b);
            assertTrue(r.isReadOnly());
            assertThrows(IllegalArgumentException.class, () -> r.setShort((short) 1, 0));
            NdArray legacy = DLPack.importLegacy(DLPack.exportLegacy(m.get("1:")).handOff(), b);
            assertEquals(7, legacy.getShort(2));
            assertEquals(m.address() + 2, legacy.address());
        }
    }

    @Test
    void aJavaOwnedExportIsDeletedByClose() {
        try (BufferArena a = BufferArena.ofConfined()) {
            NdArray m = NdArray.allocate(a, DType.UINT8, 16);
            DLPackExport e = DLPack.export(m);
            assertEquals(1, a.liveExportCount());
            e.close();
            assertTrue(e.isDeleted());
            e.close();
            assertEquals(0, a.liveExportCount());
            assertThrows(IllegalStateException.class, e::handOff);
        }
    }

    @Test
    void whatDLPackCannotCarryIsRefusedAndNothingStaysPinned() {
        try (BufferArena a = BufferArena.ofConfined()) {
            DType rec = NumpyDescr.parseDescr("[('a', '<i4'), ('b', '<i2')]");   // 6-byte records
            NdArray r = NdArray.allocate(a, rec, 4);
            IllegalArgumentException stride = assertThrows(IllegalArgumentException.class, () -> DLPack.export(r.field("a")));
            assertTrue(stride.getMessage().contains("byte stride 6 of axis 0 is not a multiple of the item size 4"),
                    stride.getMessage());
            IllegalArgumentException record = assertThrows(IllegalArgumentException.class, () -> DLPack.export(r));
            assertTrue(record.getMessage().contains("DLPack has no type for record dtype"), record.getMessage());
            NdArray big = NdArray.allocate(a, DType.parse(">f4"), 3);
            IllegalArgumentException order = assertThrows(IllegalArgumentException.class, () -> DLPack.export(big));
            assertTrue(order.getMessage().contains("not in the platform's byte order"), order.getMessage());
            NdArray m = NdArray.allocate(a, DType.FLOAT64, 3);
            IllegalArgumentException legacyRo = assertThrows(IllegalArgumentException.class,
                    () -> DLPack.exportLegacy(m.asReadOnly()));
            assertTrue(legacyRo.getMessage().contains("cannot say so"), legacyRo.getMessage());
            IllegalArgumentException heap = assertThrows(IllegalArgumentException.class,
                    () -> DLPack.export(NdArray.wrap(new double[3])));
            assertTrue(heap.getMessage().contains("heap"), heap.getMessage());
            assertEquals(0, a.liveExportCount(), "a refused export pins nothing");
        }
    }

    /** A foreign producer made in Java: a tensor over {@code data} whose deleter counts its calls. */
    private static final class Foreign {
        final AtomicInteger deletes = new AtomicInteger();
        final Arena arena = Arena.ofShared();
        final MemorySegment deleter = DLPackShim.deleterStub(arena, self -> deletes.incrementAndGet());

        MemorySegment versioned(int major, int minor, long flags, DLPackShim.Tensor t) {
            return DLPackShim.newVersioned(arena, major, minor, flags, deleter, t);
        }

        MemorySegment legacy(DLPackShim.Tensor t) {
            return DLPackShim.newLegacy(arena, deleter, t);
        }
    }

    private static DLPackShim.Tensor tensor(MemorySegment data, int device, int code, int bits, int lanes, long[] shape,
                                            long[] strides, long byteOffset) {
        return new DLPackShim.Tensor(data.address(), device, 0, shape == null ? 1 : shape.length, code, bits, lanes,
                shape, strides, byteOffset);
    }

    @Test
    void foreignTensorsFollowDLPacksVersionRules() {
        Foreign f = new Foreign();
        try (Arena data = Arena.ofConfined()) {
            MemorySegment mem = data.allocate(8 * 12, 8);
            for (int i = 0; i < 12; i++) {
                mem.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i, i * 10L);
            }
            DLPackShim.Tensor t = tensor(mem, DLPackShim.DEVICE_CPU, DLPackShim.CODE_INT, 64, 1, new long[] {3, 4},
                    new long[] {4, 1}, 0);
            // a newer minor version of 1.x is accepted
            try (Arena b = Arena.ofConfined()) {
                NdArray v = DLPack.importVersioned(f.versioned(1, 7, 0, t), b);
                assertEquals(110L, v.getLong(2, 3));
                assertEquals(mem.address(), v.address());
                assertEquals(0, f.deletes.get());
            }
            assertEquals(1, f.deletes.get(), "deleter called exactly once, when the arena closed");
            // another major version is refused, and handed back to its producer
            IllegalArgumentException major = assertThrows(IllegalArgumentException.class, () -> {
                try (Arena b = Arena.ofConfined()) {
                    DLPack.importVersioned(f.versioned(2, 0, 0, t), b);
                }
            });
            assertTrue(major.getMessage().contains("has version 2.0; panbuf reads major version 1"), major.getMessage());
            assertEquals(2, f.deletes.get());
            // read-only flag, negative strides and byte_offset
            DLPackShim.Tensor reversed = tensor(mem, DLPackShim.DEVICE_CPU, DLPackShim.CODE_INT, 64, 1, new long[] {3},
                    new long[] {-4}, 8 * 11);
            try (Arena b = Arena.ofConfined()) {
                NdArray v = DLPack.importVersioned(f.versioned(1, 0, DLPackShim.FLAG_READ_ONLY, reversed), b);
                assertTrue(v.isReadOnly());
                assertArrayEquals(new long[] {110, 70, 30}, v.toLongArray());
                assertArrayEquals(new long[] {-32}, v.byteStrides());
            }
            // NULL strides (before DLPack 1.0) mean compact row-major; legacy tensors too
            try (Arena b = Arena.ofConfined()) {
                NdArray v = DLPack.importLegacy(f.legacy(tensor(mem, DLPackShim.DEVICE_CPU, DLPackShim.CODE_FLOAT, 64, 1,
                        new long[] {2, 6}, null, 0)), b);
                assertArrayEquals(new long[] {48, 8}, v.byteStrides());
                assertEquals(DType.FLOAT64, v.dtype());
            }
            assertEquals(4, f.deletes.get());
            record Bad(DLPackShim.Tensor t, String message) {}
            List<Bad> bad = List.of(
                    new Bad(tensor(mem, 2, DLPackShim.CODE_INT, 64, 1, new long[] {2}, new long[] {1}, 0), "device type 2"),
                    new Bad(tensor(mem, 1, DLPackShim.CODE_COMPLEX, 64, 1, new long[] {2}, new long[] {1}, 0),
                            "complex64 (code 5, 64 bits) has no panbuf dtype"),
                    new Bad(tensor(mem, 1, DLPackShim.CODE_BFLOAT, 16, 1, new long[] {2}, new long[] {1}, 0), "bfloat16"),
                    new Bad(tensor(mem, 1, DLPackShim.CODE_FLOAT, 32, 4, new long[] {2}, new long[] {1}, 0), "4 lanes"),
                    new Bad(tensor(MemorySegment.NULL, 1, DLPackShim.CODE_INT, 8, 1, new long[] {2}, new long[] {1}, 0),
                            "data is NULL"),
                    new Bad(tensor(mem, 1, DLPackShim.CODE_INT, 8, 1, new long[] {-1}, new long[] {1}, 0), "negative"),
                    new Bad(tensor(mem, 1, DLPackShim.CODE_INT, 64, 1, new long[] {2, Long.MAX_VALUE / 4},
                            new long[] {Long.MAX_VALUE / 4, 1}, 0), "address"));
            int expected = 4;
            for (Bad c : bad) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
                    try (Arena b = Arena.ofConfined()) {
                        DLPack.importVersioned(f.versioned(1, 1, 0, c.t), b);
                    }
                });
                assertTrue(e.getMessage().contains(c.message) && e.getMessage().contains("its deleter was called"),
                        e.getMessage());
                assertEquals(++expected, f.deletes.get(), "a refused tensor is handed back exactly once: " + c.message);
            }
            // zero-size tensors may have NULL data
            try (Arena b = Arena.ofConfined()) {
                NdArray v = DLPack.importVersioned(f.versioned(1, 1, 0, tensor(MemorySegment.NULL, 1, DLPackShim.CODE_UINT, 8,
                        1, new long[] {0, 3}, new long[] {3, 1}, 0)), b);
                assertEquals(0, v.elementCount());
            }
            assertEquals(expected + 1, f.deletes.get());
            IllegalArgumentException nul = assertThrows(IllegalArgumentException.class,
                    () -> DLPack.importVersioned(MemorySegment.NULL, Arena.ofAuto()));
            assertTrue(nul.getMessage().contains("NULL"));
        } finally {
            f.arena.close();
        }
    }

    @Test
    void randomViewsRoundTripThroughDLPack() {
        SplittableRandom rnd = new SplittableRandom(20261126L);
        DType[] types = {DType.BOOL, DType.INT8, DType.UINT16, DType.INT32, DType.FLOAT32, DType.FLOAT64, DType.UINT64,
            DType.FLOAT16};
        try (BufferArena a = BufferArena.ofConfined()) {
            NdArray base = NdArray.allocate(a, DType.UINT8, 4096);
            for (int i = 0; i < 4096; i++) {
                base.setByte((byte) rnd.nextInt(256), i);
            }
            for (int round = 0; round < 500; round++) {
                DType t = types[rnd.nextInt(types.length)];
                int ndim = rnd.nextInt(4);
                long[] shape = new long[ndim];
                for (int k = 0; k < ndim; k++) {
                    shape[k] = rnd.nextInt(1, 6);
                }
                NdArray v = NdArray.allocate(a, t, rnd.nextBoolean() ? Order.C : Order.F, shape);
                if (ndim > 0 && rnd.nextBoolean()) {
                    v = v.get(rnd.nextBoolean() ? "::-1" : "::2");
                }
                if (rnd.nextBoolean()) {
                    v = v.asReadOnly();
                }
                try (Arena b = Arena.ofConfined()) {
                    DLPackExport e = rnd.nextBoolean() || v.isReadOnly() ? DLPack.export(v) : DLPack.exportLegacy(v);
                    NdArray w = e.isVersioned() ? DLPack.importVersioned(e.handOff(), b) : DLPack.importLegacy(e.handOff(), b);
                    assertEquals(v.address(), w.address());
                    assertArrayEquals(v.byteStrides(), w.byteStrides());
                    assertEquals(v.dtype(), w.dtype());
                    assertEquals(v.isReadOnly(), w.isReadOnly());
                }
            }
            assertEquals(0, a.liveExportCount());
        }
    }

    @Test
    void generatedLayoutsMatchTheCompiledShim() {
        for (String type : List.of("pb_dl_version", "pb_dl_device", "pb_dl_data_type", "pb_dl_tensor", "pb_dl_managed_tensor",
                "pb_dl_managed_tensor_versioned")) {
            GroupLayout layout = DLPackShim.layout(type);
            assertEquals(DLPackShim.nativeSizeOf(type), layout.byteSize(), "sizeof " + type);
            for (MemoryLayout member : layout.memberLayouts()) {
                if (member instanceof PaddingLayout) {
                    continue;
                }
                String field = member.name().orElseThrow();
                assertEquals(DLPackShim.nativeOffsetOf(type, field),
                        layout.byteOffset(MemoryLayout.PathElement.groupElement(field)), type + "." + field);
            }
        }
        assertEquals(80, DLPackShim.VERSIONED_BYTES);
        assertEquals(64, DLPackShim.LEGACY_BYTES);
    }
}
