package dev.panbuf;

import dev.panbuf.fuzz.LifetimeCampaign;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The seeded lifetime campaign of the default test run: random sequences of
 * allocations, views, writes, exports ({@code pb_buffer}, DLPack, Arrow),
 * hand-offs, imports, releases from C,
 * closes and growth, with a second thread writing while the first closes or
 * grows, and memory shared with the test's Python and NumPy (NumPy views,
 * reads and writes from Python, {@code del} on other threads, Python code
 * trying to release what NumPy holds, imports back through the buffer
 * protocol and DLPack), checked against a model ({@link dev.panbuf.fuzz.LifetimeSequences}),
 * in a child JVM so that a crash is a finding with its crash report and the
 * sequence that caused it. More: {@code -Dpanbuf.lifetime.sequences=N},
 * {@code -Dpanbuf.lifetime.seed=S}; the Jazzer target {@code LifetimeFuzzTest}
 * explores further.
 */
class LifetimeSequencesTest {

    @Test
    void randomSequencesAgreeWithTheModel() throws Exception {
        long seed = Long.getLong("panbuf.lifetime.seed", 20261202L);
        long sequences = Long.getLong("panbuf.lifetime.sequences", 400L);
        Path trace = Path.of("target", "lifetime-campaign", "sequence.log").toAbsolutePath();
        ChildJvm.Result r = ChildJvm.run(LifetimeCampaign.class, List.of(), List.of(Long.toString(seed),
                Long.toString(sequences), "120", "600", trace.toString()), 900);
        assertFalse(r.crashed(), () -> r.explain() + "\nthe crashing sequence is in " + trace);
        assertEquals(0, r.exitCode(), r::explain);
        assertTrue(r.stdout().contains("SEQUENCES=" + sequences), r::explain);
        assertFalse(r.stderr().contains("LEAK:"), r::explain);
        assertTrue(r.stdout().contains("Arrow import:"), () -> "no Arrow import ran: " + r.explain());
        if (dev.panbuf.python.Python.isAvailable() && dev.panbuf.python.Python.get().numpyVersion().isPresent()) {
            assertTrue(r.stdout().contains("Python steps with"), () -> "the Python steps did not run: " + r.explain());
            assertTrue(r.stdout().contains("import from Python through DLPack"), r::explain);
        }
        System.out.println("lifetime campaign, seed " + seed + ": " + r.stdout().strip());
    }
}
