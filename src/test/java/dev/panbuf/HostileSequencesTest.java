package dev.panbuf;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs every {@link HostileScenarios} scenario in its own child JVM: each
 * was once a way to crash the JVM, lose writes or write read-only memory
 * through the public API (issue 11), so a regression shows up as a crash
 * report, not as a dead test run.
 */
class HostileSequencesTest {

    static Stream<String> scenarios() {
        return HostileScenarios.ALL.keySet().stream();
    }

    @ParameterizedTest
    @MethodSource("scenarios")
    void behavesAsDocumented(String scenario) throws Exception {
        ChildJvm.Result r = ChildJvm.run(HostileScenarios.class, List.of(), List.of(scenario), 300);
        assertFalse(r.crashed(), r::explain);
        assertEquals(0, r.exitCode(), r::explain);
        assertTrue(r.stdout().contains("PASS " + scenario), r::explain);
        assertFalse(r.stderr().contains("LEAK:"), r::explain);
    }
}
