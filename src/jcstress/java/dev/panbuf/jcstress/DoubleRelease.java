package dev.panbuf.jcstress;

import dev.panbuf.shim.Shim;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.I_Result;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Two threads call {@code pb_release} on the same live {@code pb_buffer}:
 * exactly one release takes effect, so the producer's release callback
 * runs once. Zero would leak; two would be a double free.
 *
 * <p>Every state gets its own struct, a copy of one made by
 * {@link Shim#newStruct} (so they share one upcall stub), with its own counter.
 */
@JCStressTest
@Outcome(id = "1", expect = org.openjdk.jcstress.annotations.Expect.ACCEPTABLE, desc = "released exactly once")
@Outcome(expect = org.openjdk.jcstress.annotations.Expect.FORBIDDEN, desc = "released twice (double free) or never")
@State
public class DoubleRelease {

    private static final Map<Long, AtomicInteger> COUNTERS = new ConcurrentHashMap<>();
    private static final Arena ARENA = Arena.ofShared();   // the upcall stub; lives as long as the fork
    private static final MemorySegment TEMPLATE = Shim.newStruct(ARENA, self -> COUNTERS.get(self.address()).incrementAndGet());

    final MemorySegment struct = Arena.ofAuto().allocate(Shim.STRUCT_BYTES, 8);
    final AtomicInteger releases = new AtomicInteger();

    public DoubleRelease() {
        MemorySegment.copy(TEMPLATE, 0, struct, 0, Shim.STRUCT_BYTES);   // the release function pointer
        MemorySegment data = Arena.ofAuto().allocate(4, 8);
        MemorySegment shape = Arena.ofAuto().allocate(ValueLayout.JAVA_LONG, 1);
        shape.set(ValueLayout.JAVA_LONG, 0, 4);
        Shim.fill(struct, data.address(), 4, 1, false, 1, MemorySegment.NULL, shape, MemorySegment.NULL, Shim.MAGIC_LIVE,
                Shim.ABI_VERSION, data.address(), 4);
        COUNTERS.put(struct.address(), releases);
    }

    @Actor
    public void first() {
        Shim.release(struct);
    }

    @Actor
    public void second() {
        Shim.release(struct);
    }

    @Arbiter
    public void count(I_Result r) {
        r.r1 = releases.get();
        COUNTERS.remove(struct.address());
    }
}
