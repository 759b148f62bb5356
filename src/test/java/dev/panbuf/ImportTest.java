package dev.panbuf;

import dev.panbuf.NativeTestSupport.Producer;
import dev.panbuf.shim.Shim;
import dev.panbuf.shim.bindings.panbuf_h;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Imports ({@link NdArray#fromPbBuffer}): validated before a byte is touched,
 * refused with the offending values and nothing half-registered, released
 * through the producer's own callback exactly once when the importing arena
 * closes (rule 5), read-only kept read-only (rule 7), and a release callback
 * that throws never takes the JVM down.
 */
@Tag("native")
@ExtendWith(LeakCheck.class)
class ImportTest {

    // ------------------------------------------------------------------ rule 5

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"confined BufferArena", "shared BufferArena", "confined Arena", "shared Arena"})
    void importIsReleasedThroughTheProducerExactlyOnceWhenTheArenaCloses(String kind) {
        try (Producer p = new Producer(3, 4).publish()) {
            long imports = Accounting.liveImports();
            Arena arena = switch (kind) {
                case "confined BufferArena" -> BufferArena.ofConfined();
                case "shared BufferArena" -> BufferArena.ofShared();
                case "confined Arena" -> Arena.ofConfined();
                default -> Arena.ofShared();
            };
            NdArray v = NdArray.fromPbBuffer(p.pointer(), arena);
            assertArrayEquals(new long[] {3, 4}, v.shape());
            assertArrayEquals(new long[] {16, 4}, v.byteStrides());
            assertEquals(DType.FLOAT32, v.dtype());
            assertEquals(p.data.address(), v.address(), "no copy");
            assertEquals(7f, v.getFloat(1, 3));
            v.setFloat(-1f, 2, 0);
            assertEquals(-1f, p.data.getAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 8), "writes reach the producer's memory");
            assertEquals(imports + 1, Accounting.liveImports());
            assertEquals(0, p.releases.get(), "not released while the arena is open");
            arena.close();
            assertEquals(1, p.releases.get(), "released once, through the producer's callback");
            assertEquals(imports, Accounting.liveImports());
            assertEquals(Shim.MAGIC_RELEASED, Shim.magic(p.pointer()));
            IllegalStateException closed = assertThrows(IllegalStateException.class, () -> v.getFloat(0, 0));
            assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
        }
    }

    @Test
    void stridedImportSeesTheSameElements() {
        try (Producer p = new Producer(4, 6)) {
            p.shape = new long[] {2, 3};
            p.strides = new long[] {-48, 8};       // rows 3 and 1, every other column
            p.bufOffset = 3 * 24 + 4;              // element [3, 1]
            p.len = 24;
            p.publish();
            try (BufferArena arena = BufferArena.ofConfined()) {
                NdArray v = NdArray.fromPbBuffer(p.pointer(), arena);
                assertArrayEquals(new float[] {19, 21, 23, 7, 9, 11}, v.toFloatArray());
            }
            assertEquals(1, p.releases.get());
        }
    }

    @Test
    void nullStridesMeanCContiguous() {
        try (Producer p = new Producer(2, 3)) {
            p.strides = null;
            p.publish();
            try (BufferArena arena = BufferArena.ofConfined()) {
                NdArray v = NdArray.fromPbBuffer(p.pointer(), arena);
                assertArrayEquals(new long[] {12, 4}, v.byteStrides());
                assertEquals(5f, v.getFloat(1, 2));
            }
        }
    }

    @Test
    void anExportReimportedIsReleasedWhenTheImportingArenaCloses() {
        BufferArena owner = BufferArena.ofConfined();
        NdArray m = NdArray.allocate(owner, DType.FLOAT32, 2, 2);
        m.setFloat(4f, 1, 1);
        Export e = m.export();
        MemorySegment handedOff = e.handOff();   // the importer now owns the release
        try (BufferArena importer = BufferArena.ofConfined()) {
            NdArray back = NdArray.fromPbBuffer(handedOff, importer);
            assertEquals(4f, back.getFloat(1, 1));
            assertThrows(LiveExportsException.class, owner::close);
        }
        assertTrue(e.isReleased());
        owner.close();
    }

    @Test
    void readOnlyImportGivesAReadOnlyView() {
        try (Producer p = new Producer(2, 2)) {
            p.readOnly = true;
            p.publish();
            try (BufferArena arena = BufferArena.ofConfined()) {
                NdArray v = NdArray.fromPbBuffer(p.pointer(), arena);
                assertTrue(v.isReadOnly());
                assertTrue(v.segment().isReadOnly(), "not even segment() can write");
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> v.setFloat(1f, 0, 0));
                assertTrue(e.getMessage().contains("read-only"), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> v.fillFloat(2f));
                try (Export again = v.export()) {
                    assertTrue(Shim.read(Shim.structAt(again.pointer().address())).readOnly(), "re-exported read-only");
                }
                assertEquals(3f, v.getFloat(1, 1));
            }
        }
    }

    // ------------------------------------------------------------------ bad inputs

    static Stream<Arguments> badBuffers() {
        return Stream.of(
                bad("NULL buf with len", p -> p.nullBuf = true, "NULL buf with len 48"),
                bad("NULL shape with ndim > 0", p -> p.nullShape = true, "NULL shape with ndim 2"),
                bad("ndim 65", p -> p.ndim = 65, "ndim 65 exceeds 64"),
                bad("negative ndim", p -> p.ndim = -1, "ndim -1 is negative"),
                bad("negative dimension", p -> p.shape = new long[] {3, -4}, "shape[1] is -4 (shape (3, -4))"),
                bad("extent past the end", p -> {
                    p.shape = new long[] {4, 4};
                    p.len = 64;
                }, "reachable bytes [base+0, base+64) outside [base, base+48)"),
                bad("negative stride before base", p -> {
                    p.strides = new long[] {-16, 4};
                    p.bufOffset = 16;
                }, "reachable bytes [base-16, base+32) outside [base, base+48)"),
                bad("buf outside", p -> p.bufOffset = 48, "buf is base+48, outside [base, base+48)"),
                bad("stride overflow", p -> p.strides = new long[] {Long.MAX_VALUE / 2, 4}, "overflows int64"),
                bad("len mismatch", p -> p.len = 50, "len 50 but product(shape) * itemsize is 48 (shape (3, 4), itemsize 4)"),
                bad("itemsize 0", p -> p.itemSize = 0, "itemsize 0 is not positive"),
                bad("format of another size", p -> p.format = "<d", "format \"<d\" describes 8-byte items but itemsize is 4"),
                bad("invalid format", p -> p.format = "T{<f", "format \"T{<f\" is not a valid struct string"),
                bad("negative base_len", p -> p.baseLen = -1, "base_len -1 is negative"),
                bad("NULL base", p -> p.nullBase = true, "NULL base with base_len 48"),
                bad("abi_version 0", p -> p.abiVersion = 0, "abi_version 0, this libpanbuf knows 1 to"),
                bad("abi_version from the future", p -> p.abiVersion = 99, "abi_version 99, this libpanbuf knows 1 to"),
                bad("not yet live", p -> p.magic = 0, "magic is 0x0, a live pb_buffer has 0x50425546"),
                bad("released", p -> p.magic = Shim.MAGIC_RELEASED, "it was already released"));
    }

    private static Arguments bad(String name, Consumer<Producer> breakIt, String fragment) {
        return Arguments.of(name, breakIt, fragment);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badBuffers")
    void invalidBufferIsRefusedWithItsValuesAndNothingRegistered(String name, Consumer<Producer> breakIt, String fragment) {
        try (Producer p = new Producer(3, 4)) {
            breakIt.accept(p);
            p.publish();
            long imports = Accounting.liveImports();
            BufferArena arena = BufferArena.ofConfined();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> NdArray.fromPbBuffer(p.pointer(), arena));
            String msg = e.getMessage();
            assertTrue(msg.contains(fragment), "message names the values: expected '" + fragment + "' in: " + msg);
            assertTrue(msg.contains("pb_buffer at 0x" + Long.toHexString(p.pointer().address())), msg);
            assertTrue(msg.endsWith("; nothing was imported"), msg);
            assertEquals(imports, Accounting.liveImports(), "nothing counted");
            arena.close();   // nothing registered in the arena: closing it releases nothing
            assertEquals(0, p.releases.get(), "a refused buffer is not released: it is still the producer's");
        }
    }

    @Test
    void nullAndMisalignedPointersAreRefused() {
        try (Arena arena = Arena.ofConfined()) {
            IllegalArgumentException nul = assertThrows(IllegalArgumentException.class,
                    () -> NdArray.fromPbBuffer(MemorySegment.NULL, arena));
            assertEquals("cannot import a NULL pb_buffer pointer", nul.getMessage());
            MemorySegment odd = arena.allocate(Shim.STRUCT_BYTES + 8, 8).asSlice(3);
            IllegalArgumentException mis = assertThrows(IllegalArgumentException.class, () -> NdArray.fromPbBuffer(odd, arena));
            assertTrue(mis.getMessage().contains("not 8-byte aligned"), mis.getMessage());
        }
    }

    @Test
    void importIntoAClosedArenaIsRefused() {
        try (Producer p = new Producer(1, 1).publish()) {
            BufferArena arena = BufferArena.ofConfined();
            arena.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> NdArray.fromPbBuffer(p.pointer(), arena));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
            assertEquals(0, p.releases.get());
        }
    }

    @Test
    void importIntoAnotherThreadsConfinedArenaRegistersNothing() throws Exception {
        try (Producer p = new Producer(1, 1).publish(); BufferArena arena = BufferArena.ofConfined()) {
            long imports = Accounting.liveImports();
            Throwable[] thrown = new Throwable[1];
            Thread t = new Thread(() -> {
                try {
                    NdArray.fromPbBuffer(p.pointer(), arena);
                } catch (Throwable e) {
                    thrown[0] = e;
                }
            });
            t.start();
            t.join();
            assertInstanceOf(WrongThreadException.class, thrown[0]);
            assertEquals(imports, Accounting.liveImports());
        }
    }

    // ------------------------------------------------------------------ release: twice, throwing callbacks

    @Test
    void releasedByCBeforeTheArenaClosesIsNotReleasedAgain() {
        try (Producer p = new Producer(2, 2).publish()) {
            BufferArena arena = BufferArena.ofConfined();
            NdArray.fromPbBuffer(p.pointer(), arena);
            Shim.release(p.pointer());   // someone released it early (a contract violation, but harmless here)
            Shim.release(p.pointer());   // and again
            assertEquals(1, p.releases.get());
            arena.close();               // pb_release once more: magic says released, nothing happens
            assertEquals(1, p.releases.get());
        }
    }

    @Test
    void aThrowingReleaseCallbackSurfacesAtCloseAfterEveryOtherCleanupRan() {
        try (Producer bad = new Producer(2, 2).publish(); Producer good = new Producer(2, 2).publish()) {
            bad.throwOnRelease = new IllegalStateException("producer exploded");
            long imports = Accounting.liveImports();
            long open = Accounting.openArenas();
            BufferArena arena = BufferArena.ofShared();
            AtomicInteger userCleanups = new AtomicInteger();
            MemorySegment.ofAddress(good.data.address()).reinterpret(1, arena, s -> userCleanups.incrementAndGet());
            NdArray.fromPbBuffer(good.pointer(), arena);
            NdArray v = NdArray.fromPbBuffer(bad.pointer(), arena);
            MemorySegment.ofAddress(good.data.address()).reinterpret(1, arena, s -> userCleanups.incrementAndGet());
            IllegalStateException e = assertThrows(IllegalStateException.class, arena::close);
            assertTrue(e.getMessage().contains("release callback of the pb_buffer at 0x"
                    + Long.toHexString(bad.pointer().address()) + " threw"), e.getMessage());
            assertEquals("producer exploded", e.getCause().getMessage());
            assertEquals(1, bad.releases.get());
            assertEquals(1, good.releases.get(), "the other import was released");
            assertEquals(2, userCleanups.get(), "every other cleanup ran");
            assertTrue(arena.isClosed(), "the arena ends closed");
            assertEquals(imports, Accounting.liveImports());
            assertEquals(open, Accounting.openArenas());
            assertThrows(IllegalStateException.class, () -> v.getFloat(0, 0));
            IllegalStateException again = assertThrows(IllegalStateException.class, arena::close);
            assertTrue(again.getMessage().startsWith("Already closed"), again.getMessage());
        }
    }

    @Test
    void aThrowingUserCleanupStillClosesTheArenaAndRunsTheRest() {
        try (Producer p = new Producer(2, 2).publish()) {
            BufferArena arena = BufferArena.ofConfined();
            List<String> ran = new ArrayList<>();
            NdArray v = NdArray.fromPbBuffer(p.pointer(), arena);
            MemorySegment.ofAddress(p.data.address()).reinterpret(1, arena, s -> ran.add("first"));
            MemorySegment.ofAddress(p.data.address()).reinterpret(1, arena, s -> {
                throw new IllegalArgumentException("user cleanup failed");
            });
            MemorySegment.ofAddress(p.data.address()).reinterpret(1, arena, s -> ran.add("last"));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, arena::close);
            assertEquals("user cleanup failed", e.getMessage());
            // FFM runs every cleanup; their order depends on what else the arena holds, so it is not asserted.
            assertEquals(2, ran.size(), ran.toString());
            assertTrue(ran.containsAll(List.of("first", "last")), ran.toString());
            assertEquals(1, p.releases.get());
            assertTrue(arena.isClosed());
            assertThrows(IllegalStateException.class, () -> v.getFloat(0, 0));
        }
    }

    /** A plain FFM arena behaves the same: the cleanup failure surfaces, the arena is closed. */
    @Test
    void aThrowingReleaseCallbackInAPlainArena() {
        try (Producer p = new Producer(1, 1).publish()) {
            p.throwOnRelease = new UnsupportedOperationException("nope");
            Arena arena = Arena.ofConfined();
            NdArray.fromPbBuffer(p.pointer(), arena);
            IllegalStateException e = assertThrows(IllegalStateException.class, arena::close);
            assertInstanceOf(UnsupportedOperationException.class, e.getCause());
            assertFalse(arena.scope().isAlive());
        }
    }

    /**
     * When C releases the buffer by itself (no Java {@code Shim.release} on
     * the stack), what the callback throws cannot go anywhere: panbuf's upcall
     * logs it instead of letting it into C, which would end the JVM.
     */
    @Test
    void aThrowingCallbackReleasedStraightFromCDoesNotKillTheJvm() throws Exception {
        try (Producer p = new Producer(1, 1).publish()) {
            p.throwOnRelease = new IllegalStateException("thrown into C (logged, not rethrown): expected by the test");
            Thread c = new Thread(() -> panbuf_h.pb_release(p.pointer()));   // the raw C entry point
            c.start();
            c.join();
            assertEquals(1, p.releases.get());
            assertEquals(Shim.MAGIC_RELEASED, Shim.magic(p.pointer()));
        }
    }

    /**
     * An Error from one producer's callback must not cost the other imports
     * of the arena their release: FFM skips the remaining cleanups after an
     * Error, so the import's cleanup hands it on wrapped.
     */
    @Test
    void anErrorFromOneReleaseCallbackDoesNotSkipTheOthers() {
        try (Producer first = new Producer(1, 1).publish(); Producer failing = new Producer(1, 1).publish()) {
            failing.alsoOnRelease = s -> {
                throw new StackOverflowError("deep producer");
            };
            long imports = Accounting.liveImports();
            BufferArena arena = BufferArena.ofConfined();
            NdArray.fromPbBuffer(first.pointer(), arena);
            NdArray.fromPbBuffer(failing.pointer(), arena);   // registered last: its cleanup runs first
            IllegalStateException e = assertThrows(IllegalStateException.class, arena::close);
            assertInstanceOf(StackOverflowError.class, e.getCause());
            assertTrue(e.getMessage().contains("failed with java.lang.StackOverflowError: deep producer"), e.getMessage());
            assertEquals(1, failing.releases.get());
            assertEquals(1, first.releases.get(), "the other import was still released");
            assertTrue(arena.isClosed());
            assertEquals(imports, Accounting.liveImports());
        }
    }

    /** An Error from the callback is rethrown as it is, not wrapped. */
    @Test
    void anErrorFromTheCallbackIsRethrownUnwrapped() {
        try (Producer p = new Producer(1, 1).publish()) {
            AssertionError boom = new AssertionError("boom");
            p.alsoOnRelease = s -> {
                throw boom;
            };
            AssertionError e = assertThrows(AssertionError.class, () -> Shim.release(p.pointer()));
            assertSame(boom, e);
            assertEquals(1, p.releases.get());
        }
    }
}
