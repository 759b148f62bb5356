package dev.panbuf;

import dev.panbuf.arrow.Arrow;
import dev.panbuf.arrow.ArrowExport;
import dev.panbuf.arrow.ArrowStreamExport;
import dev.panbuf.arrow.Column;
import dev.panbuf.shim.ArrowShim;
import dev.panbuf.shim.Shim;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The leaking programs {@link LeakDetectionTest} runs in a child JVM (so their
 * reports cannot fail the test JVM's own leak check): each makes some
 * resources, drops them, collects garbage until the leak detector has had
 * its say, and prints {@code LEVEL=} and {@code REPORTS=} on stdout.
 *
 * <p>Usage: {@code LeakScenarios <export|arena|closed|handoff|arrow|arrowStream|arrowDone> <count>}.
 */
public final class LeakScenarios {

    /** Reachable to the end, so that only the scenario's own resources can be reported. */
    static BufferArena arena;

    private LeakScenarios() {}

    public static void main(String[] args) throws InterruptedException {
        String scenario = args[0];
        int count = Integer.parseInt(args[1]);
        arena = BufferArena.ofShared();
        NdArray memory = NdArray.allocate(arena, DType.FLOAT32, 16);
        switch (scenario) {
            case "export" -> leakExports(memory, count);
            case "arena" -> leakArenas(count);
            case "closed" -> closeExports(memory, count);
            case "handoff" -> handOffExports(memory, count);
            case "arrow" -> leakArrowExports(memory, count);
            case "arrowStream" -> leakArrowStreams(memory, count);
            case "arrowDone" -> releaseArrowExports(memory, count);
            default -> throw new IllegalArgumentException("unknown scenario " + scenario);
        }
        long expected = LeakDetector.LEVEL == LeakDetector.Level.PARANOID && List.of("export", "arena", "arrow", "arrowStream").contains(scenario)
                ? count : -1;
        long reports = awaitReports(expected);
        System.out.println("LEVEL=" + LeakDetector.LEVEL);
        System.out.println("REPORTS=" + reports);
        System.out.flush();
        // the process exits with its exports live on purpose: C never got them
    }

    static void leakExports(NdArray memory, int count) {
        for (int i = 0; i < count; i++) {
            memory.export();   // dropped without close(): Java owned it, so nobody ever releases it
        }
    }

    static void leakArenas(int count) {
        for (int i = 0; i < count; i++) {
            BufferArena a = BufferArena.ofConfined();
            a.allocate(100);   // never closed
        }
    }

    static void closeExports(NdArray memory, int count) {
        for (int i = 0; i < count; i++) {
            Export e = memory.export();
            if (i % 2 == 0) {
                e.close();
            } else {
                Shim.release(e.pointer());   // released by C: Java's handle may go without close()
            }
        }
    }

    static void handOffExports(NdArray memory, int count) {
        for (int i = 0; i < count; i++) {
            MemorySegment owned = memory.export().handOff();   // C's duty now
            Shim.release(owned);
        }
    }

    static void leakArrowExports(NdArray memory, int count) {
        for (int i = 0; i < count; i++) {
            Arrow.exportArray(memory);   // dropped while Java owns it: no consumer will ever release it
        }
    }

    static void leakArrowStreams(NdArray memory, int count) {
        for (int i = 0; i < count; i++) {
            Arrow.exportStream(List.of(List.of(Column.of("x", memory))).iterator());   // neither closed nor handed off
        }
    }

    /** Closed, released by the consumer after hand-off, or handed off: none of these is a leak. */
    static void releaseArrowExports(NdArray memory, int count) {
        for (int i = 0; i < count; i++) {
            Arrow.exportArray(memory).close();
            ArrowExport given = Arrow.exportArray(memory).handOff();
            ArrowShim.releaseArray(given.array().address());
            Arrow.exportStream(List.of(List.of(Column.of("x", memory))).iterator()).close();
            ArrowStreamExport stream = Arrow.exportStream(List.of(List.of(Column.of("x", memory))).iterator()).handOff();
            ArrowShim.releaseStream(stream.stream().address());
        }
    }

    /** Collects garbage until {@code expected} reports came (or, when -1, until the count stays put). */
    private static long awaitReports(long expected) throws InterruptedException {
        long last = -1;
        int stable = 0;
        for (int round = 0; round < 200; round++) {
            System.gc();
            Thread.sleep(25);
            long now = LeakDetector.reportCount();
            if (expected >= 0 && now >= expected) {
                return now;
            }
            stable = now == last ? stable + 1 : 0;
            last = now;
            if (expected < 0 && stable >= 8) {
                return now;
            }
        }
        return last;
    }
}
