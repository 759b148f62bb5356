package dev.panbuf;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Fails a test class when panbuf's leak detector reported anything while it
 * ran: collects garbage after the class and waits for the detector to see
 * what became unreachable. Tests run with -Dpanbuf.leakDetection=paranoid.
 */
public final class LeakCheck implements AfterAllCallback {

    private static long seen;

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        long before;
        synchronized (LeakCheck.class) {
            before = seen;
        }
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(20);
        }
        long now = LeakDetector.reportCount();
        synchronized (LeakCheck.class) {
            seen = now;
        }
        assertEquals(before, now, "panbuf reported " + (now - before) + " leak(s) while " + context.getDisplayName()
                + " ran; see the LEAK: lines in the log");
    }
}
