package dev.panbuf;

import dev.panbuf.NativeTestSupport.NmtCategory;
import dev.panbuf.shim.Shim;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Soak: a million export/release cycles and ten million allocate/close cycles
 * leave the JVM's native memory exactly where it was (Native Memory Tracking,
 * category "Other", where FFM's arena memory is counted: 0 bytes and 0
 * allocations of difference), glibc's malloc without growth (the export blocks
 * that C allocates, which NMT cannot see), and panbuf's {@link Accounting} at
 * zero. Run by ./run-tests in its own surefire execution ("soak"), with
 * -Dpanbuf.leakDetection=simple, as a service would run.
 */
@Tag("soak")
@ExtendWith(LeakCheck.class)
class SoakTest {

    private static final int EXPORT_CYCLES = 1_000_000;
    private static final int ALLOCATE_CYCLES = 10_000_000;
    /** The NMT categories FFM allocations land in. */
    private static final String CATEGORY = "Other";

    @Test
    void millionsOfCyclesLeaveNativeMemoryWhereItStarted() throws Exception {
        // warm up: one-time allocations (the export cell slab, class init, JIT) happen here, not below
        exportCycles(50_000);
        allocateCycles(200_000);
        settle();

        long arenas0 = Accounting.openArenas();
        long bytes0 = Accounting.arenaBytes();
        long exports0 = Accounting.liveExports();
        long imports0 = Accounting.liveImports();
        Map<String, NmtCategory> before = NativeTestSupport.nativeMemory();
        Optional<Long> malloc0 = NativeTestSupport.mallocInUseBytes();

        long t0 = System.nanoTime();
        exportCycles(EXPORT_CYCLES);
        long t1 = System.nanoTime();
        allocateCycles(ALLOCATE_CYCLES);
        long t2 = System.nanoTime();
        settle();

        Map<String, NmtCategory> after = NativeTestSupport.nativeMemory();
        Optional<Long> malloc1 = NativeTestSupport.mallocInUseBytes();
        System.out.printf("soak: %,d export/release cycles in %.2f s (%.0f ns/cycle); %,d BufferArena allocate/close cycles"
                        + " in %.2f s (%.0f ns/cycle)%n", EXPORT_CYCLES, (t1 - t0) / 1e9, (double) (t1 - t0) / EXPORT_CYCLES,
                ALLOCATE_CYCLES, (t2 - t1) / 1e9, (double) (t2 - t1) / ALLOCATE_CYCLES);
        System.out.printf("soak: NMT %s before %s, after %s; malloc in use before %s, after %s; %s%n", CATEGORY,
                before.get(CATEGORY), after.get(CATEGORY), malloc0.map(Object::toString).orElse("n/a"),
                malloc1.map(Object::toString).orElse("n/a"), Accounting.summary());

        NmtCategory b = before.get(CATEGORY);
        NmtCategory a = after.get(CATEGORY);
        assertEquals(b.committed(), a.committed(), "NMT " + CATEGORY + " committed bytes: before " + b + ", after " + a);
        assertEquals(b.mallocBytes(), a.mallocBytes(), "NMT " + CATEGORY + " malloc'd bytes");
        assertEquals(b.mallocCount(), a.mallocCount(), "NMT " + CATEGORY + " allocation count");
        if (malloc0.isPresent() && malloc1.isPresent()) {
            // a leaked export block would be ~150 bytes x 1,000,000; the JVM's own malloc use moves by far less
            long grown = malloc1.get() - malloc0.get();
            assertTrue(grown < 16L << 20, "glibc malloc in use grew by " + grown + " bytes");
        }
        assertEquals(arenas0, Accounting.openArenas());
        assertEquals(bytes0, Accounting.arenaBytes());
        assertEquals(exports0, Accounting.liveExports());
        assertEquals(imports0, Accounting.liveImports());
    }

    /** What a program that hands one buffer to C over and over does; the three ways it can be released. */
    private static void exportCycles(int cycles) {
        try (BufferArena arena = BufferArena.ofShared()) {
            NdArray frame = NdArray.allocate(arena, DType.FLOAT32, 480, 640);
            NdArray roi = frame.get("100:200, 300:500");
            for (int i = 0; i < cycles; i++) {
                Export e = ((i & 1) == 0 ? frame : roi).export();
                switch (i % 3) {
                    case 0 -> e.close();
                    case 1 -> {
                        Shim.release(e.pointer());   // C released it; Java's close is then a no-op
                        e.close();
                    }
                    default -> Shim.release(e.handOff());
                }
            }
            assertEquals(0, arena.liveExportCount());
        }
    }

    /** What a program that makes a short-lived scratch array per request does. */
    private static void allocateCycles(int cycles) {
        long sink = 0;
        for (int i = 0; i < cycles; i++) {
            try (BufferArena arena = BufferArena.ofConfined()) {
                NdArray scratch = NdArray.allocate(arena, DType.FLOAT32, 16);
                scratch.setFloat(i, 15);
                sink += (long) scratch.getFloat(15);
            }
        }
        assertTrue(sink != 1);
    }

    /** Lets the garbage collector and the leak detector's cleaner finish with what the cycles dropped. */
    private static void settle() throws InterruptedException {
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(50);
        }
    }
}
