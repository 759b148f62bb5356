package dev.panbuf.jcstress;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.Export;
import dev.panbuf.LiveExportsException;
import dev.panbuf.NdArray;
import dev.panbuf.shim.Shim;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

import java.lang.foreign.MemorySegment;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * C owns an export ({@code handOff()}) and releases it with
 * {@code pb_release} on one thread while Java closes the shared arena on
 * another: Java sees the release (through the flag C sets) or refuses the
 * close; it never frees memory C still holds.
 */
@JCStressTest
@Outcome(id = "1, 1, 2", expect = ACCEPTABLE, desc = "C released first; the close succeeded")
@Outcome(id = "1, 0, 1", expect = ACCEPTABLE, desc = "close first: refused; closed after C's release")
@Outcome(expect = FORBIDDEN, desc = "export not released, or the arena could not be closed after it")
@State
public class NativeReleaseVersusClose {

    final BufferArena arena = BufferArena.ofShared();
    final Export export = NdArray.allocate(arena, DType.UINT8, 16).export();
    final MemorySegment owned = export.handOff();

    @Actor
    public void cReleases() {
        Shim.release(owned);
    }

    @Actor
    public void closer(III_Result r) {
        try {
            arena.close();
            r.r2 = 1;
        } catch (LiveExportsException busy) {
            r.r2 = 0;
        }
    }

    @Arbiter
    public void check(III_Result r) {
        r.r1 = export.isReleased() ? 1 : 0;
        if (arena.isClosed()) {
            r.r3 = 2;
            return;
        }
        try {
            arena.close();
            r.r3 = 1;
        } catch (LiveExportsException stillPinned) {
            r.r3 = 0;
        }
    }
}
