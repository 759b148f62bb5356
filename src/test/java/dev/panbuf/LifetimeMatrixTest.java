package dev.panbuf;

import dev.panbuf.NativeTestSupport.Producer;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every public operation that touches memory × every kind of memory, run by
 * the owner while open (the baseline), after the memory is closed, and from a
 * thread that does not own it: the lifetime matrix of DESIGN.md "Lifetimes"
 * rule 1, checked the way the JDK checks FFM (exception type and the message
 * fragment FFM uses: "closed", "outside owning thread").
 */
@ExtendWith(LeakCheck.class)
class LifetimeMatrixTest {

    /** What an operation must do. */
    enum Outcome { OK, CLOSED, WRONG_THREAD, REFUSED }

    enum Scenario { OPEN, AFTER_CLOSE, WRONG_THREAD }

    /** One array of a memory kind, shape (2, 3) float32 holding 0..5, and how to end its memory. */
    record Subject(NdArray view, Runnable close, Runnable cleanup) {}

    /**
     * A kind of memory: whether it can be closed, whether one thread owns it,
     * whether panbuf may export it.
     */
    record Kind(String name, boolean closable, boolean confined, boolean exportable, Supplier<Subject> make) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** A named public operation on a view. {@code touchesMemory} false: never throws for lifetime reasons. */
    record Op(String name, boolean touchesMemory, boolean exports, Consumer<NdArray> run) {}

    private static NdArray filled(NdArray a) {
        for (long i = 0; i < 2; i++) {
            for (long j = 0; j < 3; j++) {
                a.setFloat(i * 3 + j, i, j);
            }
        }
        return a;
    }

    private static Subject inArena(Arena arena) {
        return new Subject(filled(NdArray.allocate(arena, DType.FLOAT32, 2, 3)), arena::close, () -> {
            if (arena.scope().isAlive()) {
                arena.close();
            }
        });
    }

    static List<Kind> kinds() {
        return List.of(
                new Kind("confined BufferArena", true, true, true, () -> inArena(BufferArena.ofConfined())),
                new Kind("shared BufferArena", true, false, true, () -> inArena(BufferArena.ofShared())),
                new Kind("plain confined Arena", true, true, false, () -> inArena(Arena.ofConfined())),
                new Kind("plain shared Arena", true, false, false, () -> inArena(Arena.ofShared())),
                new Kind("heap float[]", false, false, false, () -> new Subject(filled(NdArray.wrap(new float[6], 2, 3)), null,
                        () -> { })),
                new Kind("automatic arena", false, false, true, () -> new Subject(filled(NdArray.allocate(Arena.ofAuto(),
                        DType.FLOAT32, 2, 3)), null, () -> { })),
                new Kind("mapped file", true, true, true, LifetimeMatrixTest::mapped),
                new Kind("imported C memory", true, true, true, LifetimeMatrixTest::imported),
                new Kind("GrowableBuffer", true, true, true, LifetimeMatrixTest::growable),
                new Kind("GrowableBuffer after relocation", true, true, true, LifetimeMatrixTest::relocated));
    }

    private static Subject mapped() {
        try {
            Path file = Files.createTempFile("panbuf-matrix-", ".bin");
            Files.write(file, new byte[24]);
            BufferArena arena = BufferArena.ofConfined();
            MemorySegment m;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                m = ch.map(FileChannel.MapMode.READ_WRITE, 0, 24, arena);
            }
            return new Subject(filled(NdArray.of(m, DType.FLOAT32, 2, 3)), arena::close, () -> {
                if (!arena.isClosed()) {
                    arena.close();
                }
                try {
                    Files.deleteIfExists(file);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Subject imported() {
        Producer p = new Producer(2, 3).publish();
        BufferArena arena = BufferArena.ofConfined();
        NdArray v = NdArray.fromPbBuffer(p.pointer(), arena);
        return new Subject(v, arena::close, () -> {
            if (!arena.isClosed()) {
                arena.close();
            }
            assertEquals(1, p.releases.get(), "the producer's release ran once");
            p.close();
        });
    }

    private static Subject growable() {
        GrowableBuffer buf = GrowableBuffer.ofConfined(24);
        buf.resize(24);
        return new Subject(filled(buf.view(DType.FLOAT32, 2, 3)), buf::close, buf::close);
    }

    /** "Closing" is growing the buffer past its capacity: the view's memory moves away and is closed. */
    private static Subject relocated() {
        GrowableBuffer buf = GrowableBuffer.ofConfined(24);
        buf.resize(24);
        return new Subject(filled(buf.view(DType.FLOAT32, 2, 3)), () -> buf.resize(1000), buf::close);
    }

    static List<Op> ops() {
        NdArray other = filled(NdArray.wrap(new float[6], 2, 3));
        return List.of(
                new Op("getFloat(i, j)", true, false, v -> v.getFloat(1, 2)),
                new Op("getFloat(long...)", true, false, v -> v.getFloat(new long[] {0, 1})),
                new Op("setFloat(v, i, j)", true, false, v -> v.setFloat(9f, 1, 2)),
                new Op("get(slice).getFloat", true, false, v -> v.get(":, ::-1").transpose().getFloat(0, 1)),
                new Op("fillFloat", true, false, v -> v.fillFloat(3f)),
                new Op("fillBytes", true, false, v -> v.fillBytes(new byte[4])),
                new Op("copy()", true, false, NdArray::copy),
                new Op("copy(F, arena)", true, false, v -> v.copy(Order.F, Arena.ofAuto())),
                new Op("copyTo (source)", true, false, v -> v.copyTo(NdArray.wrap(new float[6], 2, 3))),
                new Op("copyTo (destination)", true, false, v -> other.copyTo(v)),
                new Op("toArray", true, false, NdArray::toArray),
                new Op("toFloatArray", true, false, NdArray::toFloatArray),
                new Op("toBytes", true, false, NdArray::toBytes),
                new Op("toBytes(F)", true, false, v -> v.toBytes(Order.F)),
                new Op("export", true, true, v -> v.export().close()),
                new Op("exportReadOnly", true, true, v -> v.exportReadOnly().close()),
                new Op("varHandle get", true, false, v -> {
                    float f = (float) v.varHandle().get(1L, 2L);
                    assertTrue(f >= 0);
                }),
                new Op("varHandle set", true, false, v -> v.varHandle().set(0L, 0L, 4f)),
                new Op("equals", true, false, v -> v.equals(other)),
                new Op("hashCode", true, false, NdArray::hashCode),
                new Op("describe (no memory access)", false, false, NdArray::describe),
                new Op("shape/strides/isContiguous (no memory access)", false, false, v -> {
                    v.shape();
                    v.byteStrides();
                    v.isContiguous(Order.C);
                    v.transpose().reshape(6 / 2, 2);
                }));
    }

    static Outcome expected(Kind kind, Op op, Scenario scenario) {
        if (!op.touchesMemory()) {
            return Outcome.OK;
        }
        Outcome baseline = op.exports() && !kind.exportable() ? Outcome.REFUSED : Outcome.OK;
        return switch (scenario) {
            case OPEN -> baseline;
            case AFTER_CLOSE -> Outcome.CLOSED;
            case WRONG_THREAD -> kind.confined() ? Outcome.WRONG_THREAD : baseline;
        };
    }

    @TestFactory
    List<DynamicNode> everyOperationOnEveryMemoryKind() {
        List<DynamicNode> perKind = new ArrayList<>();
        for (Kind kind : kinds()) {
            List<DynamicNode> tests = new ArrayList<>();
            for (Scenario scenario : Scenario.values()) {
                if (scenario == Scenario.AFTER_CLOSE && !kind.closable()) {
                    continue;
                }
                for (Op op : ops()) {
                    tests.add(DynamicTest.dynamicTest(op.name() + " " + scenario.name().toLowerCase().replace('_', ' '),
                            () -> check(kind, op, scenario)));
                }
                tests.add(DynamicTest.dynamicTest("toString " + scenario.name().toLowerCase().replace('_', ' '),
                        () -> checkToString(kind, scenario)));
            }
            perKind.add(DynamicContainer.dynamicContainer(kind.name(), tests));
        }
        return perKind;
    }

    private static void check(Kind kind, Op op, Scenario scenario) throws InterruptedException {
        Subject s = kind.make().get();
        try {
            if (scenario == Scenario.AFTER_CLOSE) {
                s.close().run();
            }
            Throwable thrown = scenario == Scenario.WRONG_THREAD ? onAnotherThread(() -> op.run().accept(s.view()))
                    : attempt(() -> op.run().accept(s.view()));
            Outcome want = expected(kind, op, scenario);
            String what = op.name() + " on " + kind + " (" + scenario + ")";
            switch (want) {
                case OK -> assertNull(thrown, what + " must succeed, threw " + thrown);
                case CLOSED -> {
                    assertInstanceOf(IllegalStateException.class, thrown, what);
                    assertTrue(thrown.getMessage().contains("closed"), what + ": " + thrown.getMessage());
                }
                case WRONG_THREAD -> {
                    assertInstanceOf(WrongThreadException.class, thrown, what);
                    assertTrue(thrown.getMessage().contains("outside owning thread"), what + ": " + thrown.getMessage());
                }
                case REFUSED -> {
                    assertInstanceOf(IllegalArgumentException.class, thrown, what);
                    assertTrue(thrown.getMessage().startsWith("cannot export"), what + ": " + thrown.getMessage());
                }
            }
        } finally {
            s.cleanup().run();
        }
    }

    private static void checkToString(Kind kind, Scenario scenario) throws InterruptedException {
        Subject s = kind.make().get();
        try {
            if (scenario == Scenario.AFTER_CLOSE) {
                s.close().run();
            }
            AtomicReference<String> text = new AtomicReference<>();
            Throwable thrown = scenario == Scenario.WRONG_THREAD ? onAnotherThread(() -> text.set(s.view().toString()))
                    : attempt(() -> text.set(s.view().toString()));
            assertNull(thrown, "toString never throws");
            String want = switch (scenario) {
                case OPEN -> "array([[0., 1., 2.],";
                case AFTER_CLOSE -> "(memory closed)";
                case WRONG_THREAD -> kind.confined() ? "(memory owned by another thread)" : "array([[0., 1., 2.],";
            };
            assertTrue(text.get().contains(want), kind + " " + scenario + ": " + text.get());
        } finally {
            s.cleanup().run();
        }
    }

    private static Throwable attempt(Runnable r) {
        try {
            r.run();
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    private static Throwable onAnotherThread(Runnable r) throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> thrown.set(attempt(r)));
        t.join();
        return thrown.get();
    }

    /** Virtual threads are other threads too. */
    @TestFactory
    List<DynamicNode> virtualThreadsAreRefusedByConfinedMemory() {
        List<DynamicNode> out = new ArrayList<>();
        for (Kind kind : kinds()) {
            if (!kind.confined()) {
                continue;
            }
            out.add(DynamicTest.dynamicTest(kind.name(), () -> {
                Subject s = kind.make().get();
                try {
                    AtomicReference<Throwable> thrown = new AtomicReference<>();
                    Thread.ofVirtual().start(() -> thrown.set(attempt(() -> s.view().getFloat(0, 0)))).join();
                    assertInstanceOf(WrongThreadException.class, thrown.get());
                } finally {
                    s.cleanup().run();
                }
            }));
        }
        return out;
    }

    // ------------------------------------------------------------------ GrowableBuffer's own operations

    @TestFactory
    List<DynamicNode> growableBufferOperationsAfterCloseAndFromAnotherThread() {
        record GOp(String name, Consumer<GrowableBuffer> run) {}
        List<GOp> gops = List.of(new GOp("append", b -> b.append(new byte[] {1})), new GOp("resize", b -> b.resize(8)),
                new GOp("segment", GrowableBuffer::segment), new GOp("view", b -> b.view(DType.UINT8)),
                new GOp("view(shape)", b -> b.view(DType.UINT8, 2, 2)), new GOp("byteSize", GrowableBuffer::byteSize),
                new GOp("capacity", GrowableBuffer::capacity));
        List<DynamicNode> out = new ArrayList<>();
        for (GOp g : gops) {
            out.add(DynamicTest.dynamicTest(g.name() + " after close", () -> {
                GrowableBuffer b = GrowableBuffer.ofShared(4);
                b.resize(4);
                b.close();
                Throwable t = attempt(() -> g.run().accept(b));
                assertInstanceOf(IllegalStateException.class, t);
                assertTrue(t.getMessage().contains("closed"), t.getMessage());
            }));
            out.add(DynamicTest.dynamicTest(g.name() + " wrong thread", () -> {
                try (GrowableBuffer b = GrowableBuffer.ofConfined(4)) {
                    b.resize(4);
                    Throwable t = onAnotherThread(() -> g.run().accept(b));
                    assertInstanceOf(WrongThreadException.class, t);
                    assertTrue(t.getMessage().contains("outside owning thread"), t.getMessage());
                    assertEquals(4, b.byteSize(), "nothing changed");
                    assertEquals(4, b.capacity());
                }
            }));
            out.add(DynamicTest.dynamicTest(g.name() + " shared, other thread", () -> {
                try (GrowableBuffer b = GrowableBuffer.ofShared(4)) {
                    b.resize(4);
                    assertNull(onAnotherThread(() -> g.run().accept(b)));
                }
            }));
        }
        return out;
    }
}
