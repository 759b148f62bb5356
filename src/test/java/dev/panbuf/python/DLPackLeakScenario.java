package dev.panbuf.python;

import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.dlpack.DLPack;
import dev.panbuf.dlpack.DLPackExport;
import dev.panbuf.internal.Leaks;

import java.lang.foreign.Arena;

/**
 * A child JVM's program for {@link LeakSiteTest}: drops a DLPack export
 * while Java owns it (neither closed nor handed off), and another that was
 * handed off, lets the garbage collector find them, and prints the line that
 * made the first and how many leaks were reported (exactly one).
 */
public final class DLPackLeakScenario {

    private DLPackLeakScenario() {}

    public static void main(String[] args) throws Exception {
        NdArray m = NdArray.allocate(Arena.ofAuto(), DType.INT32, 8);
        DLPackExport dropped = DLPack.export(m); int line = StackWalker.getInstance().walk(s -> s.findFirst()).orElseThrow().getLineNumber();
        DLPackExport handedOff = DLPack.export(m);
        handedOff.handOff();   // a consumer's now: not a leak
        System.out.println("LINE=" + line);
        System.out.println(dropped.isVersioned() + " " + handedOff.isVersioned());
        dropped = null;
        handedOff = null;
        for (int i = 0; i < 20 && Leaks.reportCount() < 1; i++) {
            System.gc();
            Thread.sleep(50);
        }
        System.gc();
        Thread.sleep(200);
        System.out.println("REPORTS=" + Leaks.reportCount());
    }
}
