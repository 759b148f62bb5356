package dev.panbuf.jcstress;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.NdArray;
import dev.panbuf.shim.Shim;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import java.lang.foreign.MemorySegment;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * {@code Export.close()} races {@code handOff()}: exactly one owner ends
 * up releasing. Either Java's close releases and the hand-off is refused,
 * or C gets the buffer and Java's close leaves it alone (C, here the
 * arbiter, releases it). Both winning hands C a freed struct.
 */
@JCStressTest
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "close won: released by Java; hand-off refused")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "hand-off won: Java's close did nothing; C released")
@Outcome(expect = FORBIDDEN, desc = "both won (C holds a freed struct) or neither")
@State
public class CloseVersusHandOff {

    final BufferArena arena = BufferArena.ofShared();
    final Export export = NdArray.allocate(arena, DType.INT16, 4).export();
    volatile MemorySegment owned;

    @Actor
    public void javaCloses() {
        export.close();
    }

    @Actor
    public void handsOff(II_Result r) {
        try {
            owned = export.handOff();
            r.r2 = 1;
        } catch (IllegalStateException released) {
            r.r2 = 0;
        }
    }

    @Arbiter
    public void check(II_Result r) {
        r.r1 = export.isReleased() ? 1 : 0;
        MemorySegment c = owned;
        if (c != null) {
            Shim.release(c);
        }
        arena.close();
    }
}
