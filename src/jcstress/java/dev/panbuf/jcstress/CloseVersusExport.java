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
 * Export and close race on a shared arena: exactly one wins. Either the
 * export succeeds and the close throws LiveExportsException (then the
 * memory is still there for C: the arbiter checks the export's first
 * element through the view), or the close succeeds and the export throws
 * IllegalStateException. Both succeeding would hand C freed memory.
 */
@JCStressTest
@Outcome(id = "1, 0, 1", expect = ACCEPTABLE, desc = "export won; close refused; memory intact")
@Outcome(id = "0, 1, 1", expect = ACCEPTABLE, desc = "close won; export refused")
@Outcome(id = "1, 1, .*", expect = FORBIDDEN, desc = "both succeeded: C holds freed memory")
@Outcome(expect = FORBIDDEN, desc = "neither, or another exception")
@State
public class CloseVersusExport {

    final BufferArena arena = BufferArena.ofShared();
    final NdArray view = NdArray.allocate(arena, DType.INT32, 8);
    volatile Export export;

    public CloseVersusExport() {
        view.setInt(42, 0);
    }

    @Actor
    public void exporter(III_Result r) {
        try {
            export = view.export();
            r.r1 = 1;
        } catch (IllegalStateException closed) {
            r.r1 = 0;
        }
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
    public void cleanUp(III_Result r) {
        r.r3 = 1;
        Export e = export;
        if (e != null) {
            if (arena.isClosed() || view.getInt(0) != 42) {
                r.r3 = 0;   // the exported memory is gone
            }
            e.close();
        }
        if (!arena.isClosed()) {
            arena.close();
        }
    }
}
