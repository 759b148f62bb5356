package dev.panbuf;

import dev.panbuf.NativeTestSupport.NmtCategory;
import dev.panbuf.shim.Shim;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Soak: a million export/release cycles and ten million allocate/view/close
 * cycles, each spread over {@value #THREADS} threads (exports of one shared
 * arena, a third of them released by a separate "C side" thread), leave the
 * JVM's native memory exactly where it was (Native Memory Tracking,
 * category "Other", where FFM's arena memory is counted: 0 bytes and 0
 * allocations of difference), glibc's malloc without growth (the export blocks
 * that C allocates, which NMT cannot see; see {@link #ROUNDS}), and panbuf's {@link Accounting} at
 * zero. Run by ./run-tests in its own surefire execution ("soak"), with
 * -Dpanbuf.leakDetection=simple, as a service would run.
 */
@Tag("soak")
@ExtendWith(LeakCheck.class)
class SoakTest {

    private static final int EXPORT_CYCLES = 1_000_000;
    private static final int ALLOCATE_CYCLES = 10_000_000;
    /** Worker threads; the export cycles add one more that releases handed-off buffers, as a C consumer would. */
    private static final int THREADS = 2;
    /** The NMT categories FFM allocations land in. */
    private static final String CATEGORY = "Other";

    /**
     * Rounds measured at most. A leak grows with every round; a one-time native
     * allocation that happens to land inside a round (once in three loaded CI
     * runs: 4,144 bytes in one allocation, while panbuf's counters were exact)
     * does not come back, so the next round must then end exactly where it
     * started. Each round prints the pool of release flags too, to tell the two apart.
     */
    private static final int ROUNDS = 3;

    @Test
    void millionsOfCyclesLeaveNativeMemoryWhereItStarted() throws Exception {
        // warm up: one-time allocations (the export cell slab, class init, JIT) happen here, not below
        exportCycles(50_000);
        allocateCycles(200_000);
        settle();

        List<String> rounds = new ArrayList<>();
        for (int round = 1; round <= ROUNDS; round++) {
            long arenas0 = Accounting.openArenas();
            long bytes0 = Accounting.arenaBytes();
            long exports0 = Accounting.liveExports();
            long imports0 = Accounting.liveImports();
            int slabs0 = Export.Cells.slabs();
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
            int slabs1 = Export.Cells.slabs();
            System.out.printf("soak round %d: %,d view/export/release cycles on %d threads in %.2f s (%.0f ns/cycle); %,d"
                            + " BufferArena allocate/view/close cycles on %d threads in %.2f s (%.0f ns/cycle)%n", round,
                    EXPORT_CYCLES, THREADS, (t1 - t0) / 1e9, (double) (t1 - t0) / EXPORT_CYCLES, ALLOCATE_CYCLES, THREADS,
                    (t2 - t1) / 1e9, (double) (t2 - t1) / ALLOCATE_CYCLES);
            System.out.printf("soak round %d: NMT %s before %s, after %s; malloc in use before %s, after %s;"
                            + " release-flag slabs before %d, after %d; %s%n", round, CATEGORY, before.get(CATEGORY),
                    after.get(CATEGORY), malloc0.map(Object::toString).orElse("n/a"),
                    malloc1.map(Object::toString).orElse("n/a"), slabs0, slabs1, Accounting.summary());

            // panbuf's own counters are exact in every round.
            assertEquals(arenas0, Accounting.openArenas());
            assertEquals(bytes0, Accounting.arenaBytes());
            assertEquals(exports0, Accounting.liveExports());
            assertEquals(imports0, Accounting.liveImports());
            if (malloc0.isPresent() && malloc1.isPresent()) {
                // a leaked export block would be ~150 bytes x 1,000,000; the JVM's own malloc use moves by far less
                long grown = malloc1.get() - malloc0.get();
                assertTrue(grown < 16L << 20, "glibc malloc in use grew by " + grown + " bytes in round " + round);
            }
            NmtCategory b = before.get(CATEGORY);
            NmtCategory a = after.get(CATEGORY);
            if (a.committed() == b.committed() && a.mallocBytes() == b.mallocBytes() && a.mallocCount() == b.mallocCount()) {
                return;   // 0 bytes and 0 allocations of difference
            }
            rounds.add("round " + round + ": NMT " + CATEGORY + " before " + b + ", after " + a + " (release-flag slabs "
                    + slabs0 + " -> " + slabs1 + ")");
        }
        fail("native memory grew in every one of " + ROUNDS + " rounds, as a leak does:\n" + String.join("\n", rounds));
    }

    /**
     * What a program that hands one buffer to C over and over does, from
     * several threads at once: each cycle makes a view (the whole frame, a
     * region, or its transpose), exports it and releases it in one of three
     * ways: Java's close, C's pb_release then close, or a hand-off whose
     * pb_release runs on the C-side thread.
     */
    private static void exportCycles(int cycles) throws Exception {
        try (BufferArena arena = BufferArena.ofShared()) {
            NdArray frame = NdArray.allocate(arena, DType.FLOAT32, 480, 640);
            // A C consumer that keeps up: a short queue. The release flags of exports
            // live in a pool of never-freed 1024-cell slabs that grows with the peak
            // number of live exports (not with their count); a backlog past that
            // would grow it once, a step in NMT that a leak test must not see.
            BlockingQueue<MemorySegment> handedOff = new ArrayBlockingQueue<>(64);
            MemorySegment stop = MemorySegment.NULL;
            ExecutorService pool = Executors.newFixedThreadPool(THREADS + 1);
            try {
                Future<?> cSide = pool.submit(() -> {
                    for (MemorySegment p = handedOff.take(); !p.equals(stop); p = handedOff.take()) {
                        Shim.release(p);
                    }
                    return null;
                });
                onWorkers(pool, cycles, share -> {
                    for (int i = 0; i < share; i++) {
                        NdArray view = switch (i % 4) {
                            case 0, 2 -> frame;
                            case 1 -> frame.get(Slice.of(100, 200), Slice.of(300, 500));
                            default -> frame.transpose();
                        };
                        Export e = view.export();
                        switch (i % 3) {
                            case 0 -> e.close();
                            case 1 -> {
                                Shim.release(e.pointer());   // C released it; Java's close is then a no-op
                                e.close();
                            }
                            default -> handedOff.put(e.handOff());
                        }
                    }
                    return 0;
                });
                handedOff.put(stop);
                cSide.get();
            } finally {
                stopAndJoin(pool);
            }
            assertEquals(0, arena.liveExportCount());
        }
    }

    /** What a service that makes a short-lived scratch array and a view of it per request does, on several threads. */
    private static void allocateCycles(int cycles) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            long sink = onWorkers(pool, cycles, share -> {
                long sum = 0;
                for (int i = 0; i < share; i++) {
                    try (BufferArena arena = BufferArena.ofConfined()) {
                        NdArray scratch = NdArray.allocate(arena, DType.FLOAT32, 16);
                        scratch.setFloat(i, 15);
                        sum += (long) scratch.reshape(4, 4).transpose().getFloat(3, 3);
                    }
                }
                return sum;
            });
            assertTrue(sink != 1);
        } finally {
            stopAndJoin(pool);
        }
    }

    /** One worker's part of a soak phase: runs {@code cycles} cycles and returns a value the JIT cannot drop. */
    private interface Share {
        long run(int cycles) throws Exception;
    }

    /** Splits {@code cycles} over {@value #THREADS} workers on {@code pool}, waits for all, and sums what they return. */
    private static long onWorkers(ExecutorService pool, int cycles, Share share) throws Exception {
        List<Callable<Long>> workers = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int count = cycles / THREADS + (t < cycles % THREADS ? 1 : 0);
            workers.add(() -> share.run(count));
        }
        long sum = 0;
        for (Future<Long> f : pool.invokeAll(workers)) {
            sum += f.get();
        }
        return sum;
    }

    /** Stops the pool and waits until its threads have exited, so whatever they hold natively is freed before NMT looks. */
    private static void stopAndJoin(ExecutorService pool) throws InterruptedException {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(1, java.util.concurrent.TimeUnit.MINUTES), "soak threads did not stop");
    }

    /** Lets the garbage collector and the leak detector's cleaner finish with what the cycles dropped. */
    private static void settle() throws InterruptedException {
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(50);
        }
    }
}
