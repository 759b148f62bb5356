package dev.panbuf;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Threads read views of a shared {@link BufferArena} in a hot loop while
 * another thread closes it (or, for a {@link GrowableBuffer}, grows it so
 * its memory moves away): every read returns the right value or throws
 * {@link IllegalStateException} saying the memory is closed, never a value
 * from freed memory, and once the close has returned no read succeeds.
 *
 * <p>The readers use each way panbuf reads memory: the fixed-arity typed
 * accessors, the varargs accessor, a view's {@link VarHandle}, a slice, and
 * bulk copies ({@code toArray}). The JDK runs its handshake tests (the
 * mechanism that makes a shared arena's close safe against running readers)
 * in every JIT mode; so does panbuf: besides the normal run, ./run-tests runs
 * this class under {@code -Xint}, C1 only ({@code -XX:TieredStopAtLevel=1})
 * and C2 only ({@code -XX:-TieredCompilation}), the {@code jit-*} surefire
 * executions. {@code -Dpanbuf.stress.millis} sets how long each test races.
 */
@Tag("jit-stress")
@ExtendWith(LeakCheck.class)
class ConcurrentCloseStressTest {

    private static final long MILLIS = Long.getLong("panbuf.stress.millis", 1500);
    private static final int READERS = 3;
    private static final int ELEMENTS = 256;

    private static long expected(long i) {
        return i * 0x9E3779B97F4A7C15L + 17;
    }

    /** How one reader reads element i of a (256,) int64 view; returns the value read. */
    private interface Read {
        long at(NdArray view, VarHandle handle, long i);
    }

    private static final List<Read> READS = List.of(
            (v, h, i) -> v.getLong(i),
            (v, h, i) -> v.getLong(new long[] {i}),
            (v, h, i) -> (long) h.get(i),
            (v, h, i) -> v.get(Slice.of(i, i + 1)).getLong(0),
            (v, h, i) -> ((long[]) v.get(Slice.of(i, Math.min(i + 8, ELEMENTS))).toArray())[0]);

    @Test
    void readsRacingACloseOfASharedBufferArenaSeeTheValueOrClosed() throws Exception {
        long arenas = Accounting.openArenas();
        Race race = new Race();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MILLIS);
        int rounds = 0;
        while (System.nanoTime() < deadline || rounds < 3) {
            BufferArena arena = BufferArena.ofShared();
            NdArray view = NdArray.allocate(arena, DType.INT64, ELEMENTS);
            for (long i = 0; i < ELEMENTS; i++) {
                view.setLong(expected(i), i);
            }
            race.run(view, arena::close);
            // after the close returned, nothing reads
            IllegalStateException closed = assertThrows(IllegalStateException.class, () -> view.getLong(0));
            assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
            rounds++;
        }
        race.shutdown();
        assertEquals(arenas, Accounting.openArenas(), "every arena closed");
        assertTrue(race.valuesRead.get() > 0 && race.closedSeen.get() > 0,
                "the race happened: " + race.valuesRead + " values read, " + race.closedSeen + " reads refused in " + rounds
                        + " rounds");
    }

    @Test
    void readsRacingARelocationOfAGrowableBufferSeeTheValueOrClosed() throws Exception {
        Race race = new Race();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(MILLIS / 2);
        int rounds = 0;
        while (System.nanoTime() < deadline || rounds < 3) {
            try (GrowableBuffer buffer = GrowableBuffer.ofShared(8L * ELEMENTS)) {
                buffer.resize(8L * ELEMENTS);
                NdArray view = buffer.view(DType.INT64);
                for (long i = 0; i < ELEMENTS; i++) {
                    view.setLong(expected(i), i);
                }
                race.run(view, () -> buffer.resize(64L * ELEMENTS));   // past the capacity: the memory moves
                assertThrows(IllegalStateException.class, () -> view.getLong(0));
                assertEquals(expected(ELEMENTS - 1), buffer.view(DType.INT64).getLong(ELEMENTS - 1), "contents moved along");
            }
            rounds++;
        }
        race.shutdown();
        assertTrue(race.valuesRead.get() > 0 && race.closedSeen.get() > 0,
                "the race happened: " + race.valuesRead + " values read, " + race.closedSeen + " refused");
    }

    /** One round: readers spin on the view until they see it closed; the closer ends it mid-way. */
    private static final class Race {
        final ExecutorService pool = Executors.newFixedThreadPool(READERS + 1);
        final AtomicLong valuesRead = new AtomicLong();
        final AtomicLong closedSeen = new AtomicLong();

        void run(NdArray view, Runnable close) throws Exception {
            VarHandle handle = view.varHandle();
            CountDownLatch started = new CountDownLatch(READERS);
            List<Future<?>> readers = new ArrayList<>();
            for (int t = 0; t < READERS; t++) {
                int id = t;
                readers.add(pool.submit(() -> {
                    started.countDown();
                    long i = id;
                    long n = 0;
                    while (true) {
                        Read read = READS.get((int) (n++ % READS.size()));
                        long value;
                        try {
                            value = read.at(view, handle, i);
                        } catch (IllegalStateException closed) {
                            assertTrue(closed.getMessage().contains("closed") || closed.getMessage().contains("Closed"),
                                    closed.getMessage());
                            closedSeen.incrementAndGet();
                            return null;
                        }
                        assertEquals(expected(i), value, "element " + i + ": a value that was never written");
                        valuesRead.incrementAndGet();
                        i = (i + 7) % ELEMENTS;
                    }
                }));
            }
            started.await();
            // let the readers run (and the JIT compile them) for a random moment
            long spin = ThreadLocalRandom.current().nextLong(50_000, 2_000_000);
            long until = System.nanoTime() + spin;
            while (System.nanoTime() < until) {
                Thread.onSpinWait();
            }
            pool.submit(close).get(30, TimeUnit.SECONDS);
            for (Future<?> r : readers) {
                r.get(30, TimeUnit.SECONDS);
            }
        }

        void shutdown() throws InterruptedException {
            pool.shutdown();
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void aViewOfAClosedArenaKeepsThrowingInEveryJitMode() {
        // A tight loop that the JIT compiles while the memory is open, then runs after the close.
        Arena arena = BufferArena.ofShared();
        NdArray view = NdArray.allocate(arena, DType.FLOAT64, 64);
        view.fillDouble(1.0);
        double sum = 0;
        for (int round = 0; round < 20_000; round++) {
            for (long i = 0; i < 64; i++) {
                sum += view.getDouble(i);
            }
        }
        assertEquals(20_000 * 64.0, sum);
        arena.close();
        for (int round = 0; round < 1000; round++) {
            long i = round % 64;
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> view.getDouble(i));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }
}
