package dev.panbuf.jcstress;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Two threads call {@code Export.close()} on the same export: both return,
 * the second harmlessly (only one of them wins the state change and calls
 * {@code pb_release}; two calls would free the struct twice, which the
 * sanitizer build or a crash would show), and the arena then closes.
 */
@JCStressTest
@Outcome(id = "1, 1, 1", expect = ACCEPTABLE, desc = "both returned; released; the arena closed")
@Outcome(expect = FORBIDDEN, desc = "a close threw, or the export stayed live")
@State
public class DoubleClose {

    final BufferArena arena = BufferArena.ofShared();
    final Export export = NdArray.allocate(arena, DType.FLOAT64, 2).export();

    @Actor
    public void first(III_Result r) {
        try {
            export.close();
            r.r1 = 1;
        } catch (RuntimeException e) {
            r.r1 = 0;
        }
    }

    @Actor
    public void second(III_Result r) {
        try {
            export.close();
            r.r2 = 1;
        } catch (RuntimeException e) {
            r.r2 = 0;
        }
    }

    @Arbiter
    public void check(III_Result r) {
        try {
            r.r3 = export.isReleased() ? 1 : 0;
            arena.close();
        } catch (LiveExportsException e) {
            r.r3 = 0;
        }
    }
}
