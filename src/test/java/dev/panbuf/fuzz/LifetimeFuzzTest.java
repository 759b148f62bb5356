package dev.panbuf.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer drives {@link LifetimeSequences}: fuzzed bytes choose the steps (the
 * arenas, buffers, views, exports, imports, releases from C, closes, growth,
 * concurrent writes, and memory shared with Python when the user's Python
 * with NumPy is found) and the model checks each one. Run as a fuzzing
 * campaign by {@code scripts/fuzz}, in its own JVM, so that a crash is a
 * finding with its crash report and the input that caused it; in the normal
 * test run it replays its committed inputs.
 */
class LifetimeFuzzTest {

    @FuzzTest(maxDuration = "60s")
    void lifetimeSequencesAgreeWithTheModel(byte[] input) {
        LifetimeSequences.run(LifetimeSequences.fuzzed(new Fuzz.Input(input)), null);
    }
}
