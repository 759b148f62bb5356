package dev.panbuf.fuzz;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A campaign of {@link LifetimeSequences}, meant to run in a child JVM: a
 * crash (the worst finding) then leaves its hs_err file and, in
 * {@code trace}, the steps of the sequence that caused it, written before
 * each step ran.
 *
 * <p>Usage: {@code LifetimeCampaign <first seed> <max sequences> <steps per sequence> <seconds> <trace file> [all]}.
 * Prints {@code SEQUENCES=n STEPS=m} and exits 0, or prints {@code FINDING seed=s} with the sequence and exits 1;
 * with {@code all}, it goes on after a finding (each sequence starts afresh), prints the first line of
 * each, and exits 1 at the end if there was any: to survey what a broken build gets wrong.
 */
public final class LifetimeCampaign {

    private LifetimeCampaign() {}

    public static void main(String[] args) throws IOException {
        long seed = Long.parseLong(args[0]);
        long maxSequences = Long.parseLong(args[1]);
        int steps = Integer.parseInt(args[2]);
        long deadline = System.nanoTime() + Long.parseLong(args[3]) * 1_000_000_000L;
        Path tracePath = Path.of(args[4]);
        Files.createDirectories(tracePath.toAbsolutePath().getParent());
        boolean all = args.length > 5 && args[5].equals("all");
        long sequences = 0;
        long total = 0;
        long findings = 0;
        for (long s = seed; sequences < maxSequences && System.nanoTime() < deadline; s++, sequences++) {
            try (Writer trace = Files.newBufferedWriter(tracePath, StandardCharsets.UTF_8)) {
                trace.write("seed " + s + "\n");
                total += LifetimeSequences.run(LifetimeSequences.seeded(s, steps), trace);
            } catch (AssertionError e) {
                if (all) {
                    findings++;
                    System.out.println("FINDING seed=" + s + ": " + e.getMessage().lines().findFirst().orElse(""));
                    continue;
                }
                System.out.println("FINDING seed=" + s + ": " + e.getMessage());
                if (e.getCause() != null) {
                    e.getCause().printStackTrace(System.out);
                }
                System.out.flush();
                System.exit(1);
            }
        }
        System.out.println("SEQUENCES=" + sequences + " STEPS=" + total);
        System.out.println(LifetimeSequences.pythonUsed());
        LifetimeSequences.STATS.forEach((what, n) -> System.out.println("  " + what + ": " + n.sum()));
        System.out.flush();
        if (findings > 0) {
            System.out.println("FINDINGS=" + findings);
            System.exit(1);
        }
        System.out.flush();
    }
}
