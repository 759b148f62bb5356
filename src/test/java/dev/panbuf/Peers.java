package dev.panbuf;

import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real peers some tests run against (NumPy, libpython, OpenBLAS). They
 * are required by default, so a run without them fails instead of passing by
 * skipping; {@code -Dpanbuf.requirePeers=false} turns a missing peer into a
 * skipped test for a quick local run.
 */
public final class Peers {

    private static final boolean REQUIRED = !"false".equals(System.getProperty("panbuf.requirePeers", "true"));

    private Peers() {}

    /** Fails (or, with -Dpanbuf.requirePeers=false, skips) unless {@code present}. */
    public static void require(boolean present, Supplier<String> missing) {
        if (present) {
            return;
        }
        String message = missing.get() + " (./run-tests installs it; -Dpanbuf.requirePeers=false skips such tests instead)";
        if (REQUIRED) {
            fail(message);
        }
        assumeTrue(false, message);
    }
}
