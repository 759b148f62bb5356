package dev.panbuf.jcstress;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJ_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * A shared arena closed while another thread reads a view of it: the read
 * sees the value, or throws IllegalStateException; it never sees freed
 * memory (anything else), and the close always succeeds (no exports).
 */
@JCStressTest
@Outcome(id = "81985529216486895, 1", expect = ACCEPTABLE, desc = "read before the close")
@Outcome(id = "-1, 1", expect = ACCEPTABLE, desc = "closed first: IllegalStateException")
@Outcome(expect = FORBIDDEN, desc = "a read of freed memory, or a failed close")
@State
public class CloseVersusRead {

    static final long VALUE = 0x0123456789ABCDEFL;

    final BufferArena arena = BufferArena.ofShared();
    final NdArray view = NdArray.allocate(arena, DType.INT64, 4);

    public CloseVersusRead() {
        view.setLong(VALUE, 3);
    }

    @Actor
    public void reader(JJ_Result r) {
        try {
            r.r1 = view.getLong(3);
        } catch (IllegalStateException closed) {
            r.r1 = -1;
        }
    }

    @Actor
    public void closer(JJ_Result r) {
        try {
            arena.close();
            r.r2 = 1;
        } catch (RuntimeException e) {
            r.r2 = 0;
        }
    }
}
