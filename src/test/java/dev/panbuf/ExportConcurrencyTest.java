package dev.panbuf;

import dev.panbuf.shim.Shim;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many threads export and release (from Java, from C, on other threads) while
 * another closes the shared arena, or grows the buffer: nothing crashes, a
 * live export's memory is never freed or moved under it, close either
 * succeeds once everything is released or throws {@link LiveExportsException},
 * and the accounting ends where it started.
 */
@Tag("native")
@ExtendWith(LeakCheck.class)
class ExportConcurrencyTest {

    private static final int THREADS = 8;

    @Test
    void exportersAndACloserRaceOnASharedArena() throws Exception {
        long exports0 = Accounting.liveExports();
        long arenas0 = Accounting.openArenas();
        long bytes0 = Accounting.arenaBytes();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS + 2);
        ExecutorService releasers = Executors.newFixedThreadPool(2);
        AtomicLong exportsMade = new AtomicLong();
        AtomicLong refusedCloses = new AtomicLong();
        AtomicLong exportsAfterClose = new AtomicLong();
        try {
            for (int round = 0; round < 60; round++) {
                BufferArena arena = BufferArena.ofShared();
                NdArray data = NdArray.allocate(arena, DType.INT64, 64);
                for (long i = 0; i < 64; i++) {
                    data.setLong(i * 7, i);
                }
                CountDownLatch start = new CountDownLatch(1);
                List<Future<?>> workers = new ArrayList<>();
                ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
                int seed = round;
                for (int t = 0; t < THREADS; t++) {
                    int id = t;
                    workers.add(pool.submit(() -> {
                        SplittableRandom rnd = new SplittableRandom(seed * 31L + id);
                        start.await();
                        for (int n = 0; n < 400; n++) {
                            Export e;
                            try {
                                e = (rnd.nextBoolean() ? data : data.get("1::3")).export();
                            } catch (IllegalStateException closed) {
                                assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
                                exportsAfterClose.incrementAndGet();
                                return null;   // the arena won: every later export is refused too
                            }
                            exportsMade.incrementAndGet();
                            // While exported, the memory must be there: Java reads it, C copies it
                            assertEquals(7L * 63, data.getLong(63));
                            try (Arena scratch = Arena.ofConfined()) {
                                long len = e.view().byteSize();
                                MemorySegment dst = scratch.allocate(len);
                                assertEquals(0, Shim.toContiguous(dst, e.pointer(), len, 'C'));
                                assertEquals(e.view().getLong(0), dst.get(ValueLayout.JAVA_LONG, 0));
                            }
                            switch (rnd.nextInt(3)) {
                                case 0 -> e.close();
                                case 1 -> Shim.release(e.pointer());   // C releases a Java-owned export
                                default -> {
                                    MemorySegment owned = e.handOff();
                                    releasers.submit(() -> Shim.release(owned)).get();   // C, on another thread
                                }
                            }
                        }
                        return null;
                    }));
                }
                Future<?> closer = pool.submit(() -> {
                    start.await();
                    while (true) {
                        try {
                            arena.close();
                            return null;
                        } catch (LiveExportsException busy) {
                            assertTrue(busy.liveExports() > 0);
                            assertTrue(busy.getMessage().startsWith("cannot close shared BufferArena: it has "), busy.getMessage());
                            refusedCloses.incrementAndGet();
                            Thread.onSpinWait();
                        }
                    }
                });
                start.countDown();
                for (Future<?> w : workers) {
                    try {
                        w.get(60, TimeUnit.SECONDS);
                    } catch (java.util.concurrent.ExecutionException ex) {
                        failures.add(ex.getCause());
                    }
                }
                closer.get(60, TimeUnit.SECONDS);
                assertTrue(failures.isEmpty(), "round " + round + ": " + failures);
                assertTrue(arena.isClosed());
                assertEquals(0, arena.liveExportCount());
            }
        } finally {
            pool.shutdownNow();
            releasers.shutdownNow();
        }
        assertEquals(exports0, Accounting.liveExports(), "every export retired");
        assertEquals(arenas0, Accounting.openArenas());
        assertEquals(bytes0, Accounting.arenaBytes());
        assertTrue(exportsMade.get() > 0 && refusedCloses.get() > 0,
                "the race happened: " + exportsMade + " exports, " + refusedCloses + " refused closes, "
                        + exportsAfterClose + " exports refused after close");
    }

    /** toString prints a closed marker, never throws, even when another thread closes the memory mid-print. */
    @Test
    void toStringRacingACloseNeverThrows() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        int closedMidPrint = 0;
        try {
            for (int round = 0; round < 300; round++) {
                BufferArena arena = BufferArena.ofShared();
                NdArray a = NdArray.allocate(arena, DType.FLOAT64, 1000);
                a.fillDouble(1.25);
                CountDownLatch printing = new CountDownLatch(1);
                Future<Integer> printer = pool.submit(() -> {
                    int closedSeen = 0;
                    for (int n = 0; n < 1000; n++) {
                        String text = a.toString();
                        printing.countDown();
                        if (text.endsWith("(memory closed)")) {
                            closedSeen++;
                            break;
                        }
                        assertTrue(text.startsWith("array([1.25, 1.25,"), text);
                    }
                    return closedSeen;
                });
                printing.await();
                arena.close();
                closedMidPrint += printer.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(closedMidPrint > 0, "the printer saw the close");
    }

    @Test
    void exportersAndAGrowerRaceOnASharedGrowableBuffer() throws Exception {
        long exports0 = Accounting.liveExports();
        long arenas0 = Accounting.openArenas();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS + 1);
        AtomicInteger refusedGrowths = new AtomicInteger();
        AtomicInteger growths = new AtomicInteger();
        AtomicInteger staleViews = new AtomicInteger();
        try (GrowableBuffer buf = GrowableBuffer.ofShared(64)) {
            buf.resize(64);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                workers.add(pool.submit(() -> {
                    start.await();
                    for (int n = 0; n < 500; n++) {
                        NdArray v = buf.view(DType.UINT8, 64);
                        Export e;
                        try {
                            e = v.export();
                        } catch (IllegalStateException moved) {
                            staleViews.incrementAndGet();   // relocated between view() and export()
                            continue;
                        }
                        try {
                            v.setByte((byte) 5, 63);       // the exported memory cannot move while exported
                            assertEquals(5, v.getByte(63));
                            assertEquals(0, Shim.validate(e.pointer()));
                        } finally {
                            e.close();
                        }
                    }
                    return null;
                }));
            }
            Future<?> grower = pool.submit(() -> {
                start.await();
                for (int n = 0; n < 300; n++) {
                    try {
                        buf.resize(buf.byteSize() + 64);
                        growths.incrementAndGet();
                    } catch (LiveExportsException busy) {
                        refusedGrowths.incrementAndGet();
                    }
                }
                return null;
            });
            start.countDown();
            for (Future<?> w : workers) {
                w.get(60, TimeUnit.SECONDS);
            }
            grower.get(60, TimeUnit.SECONDS);
            assertEquals(0, buf.liveExportCount());
            assertEquals(64 + 64L * growths.get(), buf.byteSize(), "every successful growth counted, no refused one");
        } finally {
            pool.shutdownNow();
        }
        assertEquals(exports0, Accounting.liveExports());
        assertEquals(arenas0, Accounting.openArenas());
        assertTrue(growths.get() + refusedGrowths.get() == 300, growths + " + " + refusedGrowths);
    }
}
