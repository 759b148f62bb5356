package dev.panbuf;

import dev.panbuf.dlpack.DLPack;
import dev.panbuf.dlpack.DLPackExport;
import dev.panbuf.shim.Shim;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The hostile but legal call sequences of the safety review (issue 11), each
 * once a way to crash the JVM, lose a write or write through read-only
 * memory with nothing but panbuf's public API. {@link HostileSequencesTest}
 * runs each in a child JVM, so that if one still crashed the test run would
 * report the crash instead of dying. A scenario returns normally when panbuf
 * behaved as documented and throws otherwise; the process prints
 * {@code PASS <name>} and exits 0, or exits 1 with the reason.
 *
 * <p>Usage: {@code HostileScenarios <name>}.
 */
public final class HostileScenarios {

    interface Scenario {
        void run() throws Exception;
    }

    static final Map<String, Scenario> ALL = new LinkedHashMap<>();

    static {
        ALL.put("importOfAJavaOwnedExportIsRefused", HostileScenarios::importOfAJavaOwnedExportIsRefused);
        ALL.put("aPointerIsImportedAtMostOnce", HostileScenarios::aPointerIsImportedAtMostOnce);
        ALL.put("anImportPinsTheExportingArena", HostileScenarios::anImportPinsTheExportingArena);
        ALL.put("dlpackImportOfAJavaOwnedTensorIsRefused", HostileScenarios::dlpackImportOfAJavaOwnedTensorIsRefused);
        ALL.put("dlpackTensorIsImportedAtMostOnce", HostileScenarios::dlpackTensorIsImportedAtMostOnce);
        ALL.put("selfImportLetsTheArenaClose", HostileScenarios::selfImportLetsTheArenaClose);
        ALL.put("dlpackSelfImportLetsTheArenaClose", HostileScenarios::dlpackSelfImportLetsTheArenaClose);
        ALL.put("reExportOfAnImportKeepsItUntilReleased", HostileScenarios::reExportOfAnImportKeepsItUntilReleased);
        ALL.put("staleExportPointerCannotReadFreedMemory", HostileScenarios::staleExportPointerCannotReadFreedMemory);
        ALL.put("readOnlyViewsHandOutReadOnlySegments", HostileScenarios::readOnlyViewsHandOutReadOnlySegments);
        ALL.put("readOnlyDLPackImportIsReadOnlyEverywhere", HostileScenarios::readOnlyDLPackImportIsReadOnlyEverywhere);
        ALL.put("criticalCallRefusesReadOnlyViewsForWriting", HostileScenarios::criticalCallRefusesReadOnlyViewsForWriting);
        ALL.put("growableBufferLosesNoWriteToAMove", HostileScenarios::growableBufferLosesNoWriteToAMove);
    }

    private HostileScenarios() {}

    public static void main(String[] args) throws Exception {
        Scenario s = ALL.get(args[0]);
        if (s == null) {
            throw new IllegalArgumentException("unknown scenario " + args[0] + "; known: " + ALL.keySet());
        }
        try {
            s.run();
        } catch (Throwable t) {
            System.out.println("FAIL " + args[0] + ": " + t);
            t.printStackTrace(System.out);
            System.out.flush();
            System.exit(1);
        }
        System.out.println("PASS " + args[0]);
        System.out.flush();
    }

    // ------------------------------------------------------------------ checks

    static void check(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    /** Runs {@code action}, which must throw {@code type} with a message containing {@code part}. */
    static <T extends Throwable> T expect(Class<T> type, String part, Scenario action) throws Exception {
        try {
            action.run();
        } catch (Throwable t) {
            if (type.isInstance(t) && String.valueOf(t.getMessage()).contains(part)) {
                return type.cast(t);
            }
            throw new AssertionError("expected " + type.getSimpleName() + " containing \"" + part + "\", got " + t, t);
        }
        throw new AssertionError("expected " + type.getSimpleName() + " containing \"" + part + "\", nothing was thrown");
    }

    static NdArray iota(Arena arena, long n) {
        NdArray a = NdArray.allocate(arena, DType.INT64, n);
        for (long i = 0; i < n; i++) {
            a.setLong(i * 10, i);
        }
        return a;
    }

    // ------------------------------------------------------------------ 1, 2, 3, 7: imports

    /** Issue 11, item 1: once the JVM read arena1's freed memory through the import. */
    static void importOfAJavaOwnedExportIsRefused() throws Exception {
        BufferArena arena1 = BufferArena.ofConfined();
        BufferArena arena2 = BufferArena.ofConfined();
        NdArray m = iota(arena1, 8);
        Export e = m.export();
        expect(IllegalArgumentException.class, "still owned by Java: an import would give it a second owner",
                () -> NdArray.fromPbBuffer(e.pointer(), arena2));
        e.close();
        arena1.close();
        arena2.close();
        check(Accounting.liveImports() == 0, "nothing was imported");
    }

    /** Issue 11, item 2: two imports of one handed-off pointer each released it. */
    static void aPointerIsImportedAtMostOnce() throws Exception {
        BufferArena arena1 = BufferArena.ofConfined();
        BufferArena arena2 = BufferArena.builder().name("arena2").build();
        BufferArena arena3 = BufferArena.ofConfined();
        NdArray m = iota(arena1, 8);
        MemorySegment p = m.export().handOff();
        NdArray first = NdArray.fromPbBuffer(p, arena2);
        expect(IllegalArgumentException.class, "already imported into arena2: a pointer is imported at most once",
                () -> NdArray.fromPbBuffer(p, arena3));
        arena3.close();
        check(first.getLong(7) == 70, "the first import reads the exported memory");
        arena2.close();   // releases the export
        arena1.close();
        expect(IllegalStateException.class, "Already closed", () -> first.getLong(0));
    }

    /** The import holds the export: the exporting arena refuses to close until the import is released. */
    static void anImportPinsTheExportingArena() throws Exception {
        BufferArena arena1 = BufferArena.builder().name("arena1").build();
        BufferArena arena2 = BufferArena.builder().name("arena2").build();
        NdArray m = iota(arena1, 8);
        NdArray imported = NdArray.fromPbBuffer(m.export().handOff(), arena2);
        LiveExportsException refused = expect(LiveExportsException.class,
                "(imported into arena2, which releases it when it closes)", arena1::close);
        check(refused.getMessage().startsWith("cannot close arena1: it has 1 live export"), refused.getMessage());
        imported.setLong(-1, 3);   // still valid memory
        check(m.getLong(3) == -1, "the import and the export share memory");
        arena2.close();
        arena1.close();
        check(arena1.isClosed(), "closed once the import was released");
    }

    /** Issue 11, item 3: the same through DLPack. */
    static void dlpackImportOfAJavaOwnedTensorIsRefused() throws Exception {
        BufferArena arena1 = BufferArena.builder().name("arena1").build();
        BufferArena arena2 = BufferArena.ofConfined();
        NdArray m = iota(arena1, 8);
        DLPackExport dx = DLPack.export(m);
        expect(IllegalArgumentException.class, "is still owned by Java: an import would give it a second owner",
                () -> DLPack.importVersioned(dx.pointer(), arena2));
        check(!dx.isDeleted(), "a refused import of a Java-owned tensor does not call its deleter");
        LiveExportsException refused = expect(LiveExportsException.class, "DLPackExport.close() deletes it", arena1::close);
        check(refused.getMessage().contains("held by the DLManagedTensorVersioned at 0x"), refused.getMessage());
        dx.close();
        arena1.close();
        arena2.close();
    }

    static void dlpackTensorIsImportedAtMostOnce() throws Exception {
        BufferArena arena1 = BufferArena.builder().name("arena1").build();
        BufferArena arena2 = BufferArena.builder().name("arena2").build();
        BufferArena arena3 = BufferArena.ofConfined();
        NdArray m = iota(arena1, 8);
        MemorySegment p = DLPack.export(m).handOff();
        NdArray first = DLPack.importVersioned(p, arena2);
        expect(IllegalArgumentException.class, "is already imported into arena2: a tensor is imported at most once",
                () -> DLPack.importVersioned(p, arena3));
        arena3.close();
        expect(LiveExportsException.class, "imported into arena2, which deletes it when it closes", arena1::close);
        check(first.getLong(4) == 40, "the first import still reads the memory");
        arena2.close();
        arena1.close();
    }

    /** Issue 11, item 7: an arena that imported its own export could never close. */
    static void selfImportLetsTheArenaClose() throws Exception {
        BufferArena arena = BufferArena.ofConfined();
        NdArray m = iota(arena, 8);
        NdArray same = NdArray.fromPbBuffer(m.export().handOff(), arena);
        check(same.getLong(2) == 20, "the import reads the arena's own memory");
        arena.close();
        check(arena.isClosed(), "the import was released first, then the export was gone");
        check(Accounting.liveExports() == 0 && Accounting.liveImports() == 0, Accounting.summary());
    }

    static void dlpackSelfImportLetsTheArenaClose() throws Exception {
        BufferArena arena = BufferArena.ofShared();
        NdArray m = iota(arena, 8);
        NdArray same = DLPack.importVersioned(DLPack.export(m).handOff(), arena);
        check(same.getLong(3) == 30, "the import reads the arena's own memory");
        arena.close();
        check(arena.isClosed(), "closed");
    }

    /** An import whose memory is exported again is not released under that export's consumer. */
    static void reExportOfAnImportKeepsItUntilReleased() throws Exception {
        BufferArena arena = BufferArena.builder().name("self").build();
        NdArray m = iota(arena, 8);
        NdArray same = NdArray.fromPbBuffer(m.export().handOff(), arena);
        Export again = same.export();
        LiveExportsException refused = expect(LiveExportsException.class, "of the memory of import #", arena::close);
        check(refused.getMessage().contains("(owned by Java: Export.close() releases it)"), refused.getMessage());
        check(same.getLong(5) == 50, "still readable after the refused close");
        again.close();
        arena.close();
        check(arena.isClosed(), "closed once the re-export was released");
    }

    /** The pointer of a released export is an address only: Java cannot read the freed struct through it. */
    static void staleExportPointerCannotReadFreedMemory() throws Exception {
        try (BufferArena arena = BufferArena.ofConfined()) {
            Export e = iota(arena, 8).export();
            MemorySegment p = e.pointer();
            check(p.byteSize() == 0, "a zero-length segment");
            e.close();
            expect(IndexOutOfBoundsException.class, "Out of bound access", () -> p.get(ValueLayout.JAVA_LONG, 0));
            expect(IllegalStateException.class, "is already released", e::pointer);
        }
    }

    // ------------------------------------------------------------------ 6: read-only

    static void readOnlyViewsHandOutReadOnlySegments() throws Exception {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = iota(arena, 8);
            for (NdArray ro : new NdArray[] {m.asReadOnly(), m.broadcastTo(3, 8), m.asReadOnly().get("::2"),
                    m.asReadOnly().transpose(), NdArray.asStrided(m.segment(), DType.INT64, 0, new long[] {4},
                    new long[] {0})}) {
                check(ro.isReadOnly(), "read-only view");
                check(ro.segment().isReadOnly(), "its segment is read-only: " + ro.describe());
                expect(IllegalArgumentException.class, "read-only", () -> ro.segment().set(ValueLayout.JAVA_LONG, 0, 99));
                NdArray rewrapped = NdArray.of(ro.segment(), DType.INT64);
                check(rewrapped.isReadOnly(), "rewrapping the segment keeps it read-only");
                expect(IllegalArgumentException.class, "read-only", () -> rewrapped.setLong(99, 0));
            }
            check(m.getLong(0) == 0 && m.getLong(7) == 70, "nothing was written");
        }
    }

    /** A read-only DLPack tensor gives memory that no object panbuf hands out can write. */
    static void readOnlyDLPackImportIsReadOnlyEverywhere() throws Exception {
        try (BufferArena arena1 = BufferArena.ofConfined(); BufferArena arena2 = BufferArena.ofConfined()) {
            NdArray m = iota(arena1, 8);
            NdArray in = DLPack.importVersioned(DLPack.export(m.asReadOnly()).handOff(), arena2);
            check(in.isReadOnly() && in.segment().isReadOnly(), "read-only view and segment");
            expect(IllegalArgumentException.class, "read-only", () -> in.segment().set(ValueLayout.JAVA_LONG, 8, 1));
            expect(IllegalArgumentException.class, "read-only", () -> NdArray.of(in.segment(), DType.INT64).setLong(1, 1));
            check(m.getLong(1) == 10, "nothing was written");
        }
    }

    static void criticalCallRefusesReadOnlyViewsForWriting() throws Exception {
        long[] data = {1, 2, 3, 4};
        NdArray ro = NdArray.wrap(data).asReadOnly();
        expect(IllegalArgumentException.class, "CriticalCall.dataOf: this array is read-only and the C function could"
                + " write through the pointer", () -> CriticalCall.dataOf(ro));
        MemorySegment in = CriticalCall.readOnlyDataOf(ro);
        check(in.isReadOnly(), "readOnlyDataOf gives a read-only segment");
        check(CriticalCall.readOnlyDataOf(NdArray.wrap(data)).isReadOnly(), "also for a writable view");
        check(data[3] == 4, "unchanged");
    }

    // ------------------------------------------------------------------ 5: lost writes

    /**
     * Issue 11, item 5: a writer of a shared GrowableBuffer that retakes its
     * view on {@code IllegalStateException} lost writes that landed in the old
     * memory after the copy. Every write that returned must be in the buffer.
     */
    static void growableBufferLosesNoWriteToAMove() throws Exception {
        int rounds = 40;
        int elements = 1 << 20;   // 4 MiB of int32 per round
        for (int round = 0; round < rounds; round++) {
            try (GrowableBuffer buf = GrowableBuffer.ofShared(4L * elements)) {
                buf.resize(4L * elements);
                AtomicBoolean writing = new AtomicBoolean(true);
                AtomicReference<Throwable> failure = new AtomicReference<>();
                Thread writer = new Thread(() -> {
                    try {
                        NdArray v = buf.view(DType.INT32);
                        for (int i = 0; i < elements; i++) {
                            while (true) {
                                try {
                                    v.setInt(i + 1, i);
                                    break;
                                } catch (IllegalStateException moved) {
                                    v = buf.view(DType.INT32).get(Slice.of(0, elements));
                                }
                            }
                        }
                    } catch (Throwable t) {
                        failure.set(t);
                    } finally {
                        writing.set(false);
                    }
                });
                writer.start();
                int appends = 0;
                while (writing.get() && appends < 12) {
                    buf.append(new byte[4096 * (1 << appends)]);   // doubles the capacity: every append moves
                    appends++;
                }
                writer.join();
                if (failure.get() != null) {
                    throw new AssertionError("the writer failed", failure.get());
                }
                NdArray all = buf.view(DType.INT32).get(Slice.of(0, elements));
                for (int i = 0; i < elements; i++) {
                    int got = all.getInt(i);
                    if (got != i + 1) {
                        throw new AssertionError("round " + round + ": element " + i + " holds " + got + ", but the write of "
                                + (i + 1) + " returned normally (" + appends + " moves)");
                    }
                }
            }
        }
    }

    /** Lets the shim's C side release a handed-off export, as C code would (for the lifetime fuzzer). */
    static void releaseFromC(MemorySegment pbBuffer) {
        Shim.release(pbBuffer);
    }
}
