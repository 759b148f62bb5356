package dev.panbuf.npy;

import dev.panbuf.LeakCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;

import static dev.panbuf.npy.NpyFiles.names;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Crash consistency, for real: a child JVM ({@link NpyWriterProcess}) writes
 * a large {@code .npy} file over an existing one and is killed with SIGKILL
 * ({@code Process.destroyForcibly()}) at a random moment of the write; after
 * every kill the destination must load as exactly the old array or exactly
 * the new one (every element checked), and whatever else is in the folder
 * must be a temporary file recognisable by name, which
 * {@link Npy#deleteStaleTemporaryFiles} then removes. Control trials with
 * {@link Npy.WriteMode#IN_PLACE} show that the check does see damage.
 * Then the faults a child must take: a file-size limit ({@code ulimit -f},
 * which the JVM meets as EFBIG, ignoring SIGXFSZ) and a full file system (a
 * small tmpfs in the child's own mount namespace, where it can make one), and a
 * bind-mounted destination (refused when the move fails: the mount table is
 * not read on every write).
 *
 * <p>Defaults: 256 MiB arrays on /dev/shm (page cache only, so fast), 50
 * trials, a seed from the clock, printed; {@code -Dpanbuf.crash.mib},
 * {@code -Dpanbuf.crash.trials}, {@code -Dpanbuf.crash.seed},
 * {@code -Dpanbuf.crash.dir} change them.
 */
@ExtendWith(LeakCheck.class)
class NpyCrashConsistencyTest {

    private static final long OLD_SEED = 1, NEW_SEED = 2;

    /** The folder for the kill test: -Dpanbuf.crash.dir, else the first of /dev/shm, java.io.tmpdir, target/ with room. */
    private static Path crashFolder(long bytes) throws IOException {
        String given = System.getProperty("panbuf.crash.dir");
        List<Path> candidates = given != null ? List.of(Path.of(given))
                : List.of(Path.of("/dev/shm"), Path.of(System.getProperty("java.io.tmpdir")), Path.of("target").toAbsolutePath());
        for (Path c : candidates) {
            if (Files.isDirectory(c) && Files.isWritable(c) && Files.getFileStore(c).getUsableSpace() > 5 * bytes) {
                return Files.createTempDirectory(c, "panbuf-crash-");
            }
        }
        throw new IOException("no folder with " + 5 * bytes + " bytes free among " + candidates);
    }

    static List<String> javaCommand(String... args) {
        String java = ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> classPath = new ArrayList<>();
        for (String prop : List.of("jdk.module.path", "java.class.path")) {
            String v = System.getProperty(prop);
            if (v != null && !v.isBlank()) {
                classPath.add(v);
            }
        }
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx64m", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
                "-Xshare:auto", "-cp", String.join(File.pathSeparator, classPath), NpyWriterProcess.class.getName()));
        cmd.addAll(Arrays.asList(args));
        return cmd;
    }

    /** A finished child: exit code and output. */
    record Run(int exitCode, String stdout) {}

    static Run run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child did not finish in 120 s: " + cmd);
        }
        return new Run(p.exitValue(), out);
    }

    private static void removeAll(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Test
    void writersKilledAtRandomMomentsLeaveTheOldOrTheNewFileWhole() throws Exception {
        long mib = Long.getLong("panbuf.crash.mib", 256);
        int trials = Integer.getInteger("panbuf.crash.trials", 50);
        long seed = Long.getLong("panbuf.crash.seed", System.nanoTime());
        long oldCount = (mib << 20) / 8;
        long newCount = oldCount - 4096;   // 32 KiB shorter: a mix of the two could not pass for either
        Path dir = crashFolder(mib << 20);
        System.out.printf(Locale.ROOT, "kill test: %d trials of %d MiB in %s (%s), seed %d (-Dpanbuf.crash.seed=%d repeats"
                + " the moments)%n", trials, mib, dir, Files.getFileStore(dir).type(), seed, seed);
        long started = System.nanoTime();
        try {
            Path oldSource = dir.resolve("source-old.npy");
            Path newSource = dir.resolve("source-new.npy");
            NpyFiles.writePattern(oldSource, oldCount, OLD_SEED);
            NpyFiles.writePattern(newSource, newCount, NEW_SEED);
            NpyFiles.assertHolds(oldSource, oldCount, OLD_SEED);
            NpyFiles.assertHolds(newSource, newCount, NEW_SEED);
            Path dest = dir.resolve("data.npy");
            Files.copy(oldSource, dest);
            List<String> fixed = names(dir);

            // How long a write takes here, now (the median of every write seen to finish, as the load changes):
            // the moments of the kills spread over 1.2 times that, from the moment the writer starts the write.
            List<Long> writes = new ArrayList<>();
            Killed calibration = killDuringWrite(javaCommand("write", dest.toString(), newSource.toString(),
                    "ATOMIC_DURABLE"), Long.MAX_VALUE);
            assertEquals(0, calibration.exitCode(), "the calibration write must finish");
            writes.add(calibration.writeNanos());
            assertTrue(sameBytes(dest, newSource));
            boolean destIsNew = true;

            SplittableRandom rnd = new SplittableRandom(seed);
            int old = 0, fresh = 0, completed = 0, temporaries = 0;
            int[][] byFifth = new int[5][2];   // [fifth of the kill window][old, new]
            for (int t = 0; t < trials; t++) {
                // Each trial replaces the array the destination holds by the other one.
                Path source = destIsNew ? oldSource : newSource;
                long window = median(writes) * 6 / 5;
                long delay = rnd.nextLong(window + 1);
                Killed k = killDuringWrite(javaCommand("write", dest.toString(), source.toString(), "ATOMIC_DURABLE"), delay);
                boolean isOld = sameBytes(dest, destIsNew ? newSource : oldSource);
                boolean isNew = !isOld && sameBytes(dest, source);
                assertTrue(isOld || isNew, "trial " + t + " (seed " + seed + ", killed " + delay / 1000 + " µs after the"
                        + " write began): " + dest + " is neither the old nor the new array; " + Files.size(dest) + " bytes");
                if (k.exitCode() == 0) {
                    completed++;
                    writes.add(k.writeNanos());
                }
                byFifth[(int) Math.min(4, 5 * delay / (window + 1))][isNew ? 1 : 0]++;
                if (isNew) {
                    fresh++;
                    destIsNew = !destIsNew;
                } else {
                    old++;
                }
                List<String> left = new ArrayList<>(names(dir));
                left.removeAll(fixed);
                for (String name : left) {
                    assertTrue(Npy.isTemporaryFile(dir.resolve(name)), "trial " + t + " left " + name
                            + ", which is not a recognisable temporary file");
                }
                temporaries += left.size();
                List<Path> deleted = Npy.deleteStaleTemporaryFiles(dir);
                assertEquals(left.size(), deleted.size(), "the killed writer's temporary files are stale: " + left);
                assertEquals(fixed, names(dir));
            }
            StringBuilder fifths = new StringBuilder();
            for (int[] f : byFifth) {
                fifths.append(fifths.isEmpty() ? "" : ", ").append(f[0]).append('/').append(f[1]);
            }
            System.out.printf(Locale.ROOT, "  a write took %.0f ms (median of %d); %d kills found the old array, %d the new"
                    + " one (%d writers had finished); old/new by fifth of the kill window: %s; %d killed writers left a"
                    + " temporary file, all recognised and deleted; %.1f s, load average %s%n",
                    median(writes) / 1e6, writes.size(), old, fresh, completed, fifths, temporaries,
                    (System.nanoTime() - started) / 1e9, loadAverage());
            assertTrue(old > 0 && temporaries > 0, "some kills must land during the write: " + old + " old, "
                    + temporaries + " temporary files");
            long writeNanos = median(writes);

            // Control: the same kills during an in-place write damage the file, and the check sees it.
            int damaged = 0;
            for (int t = 0; t < 4; t++) {
                Path source = destIsNew ? oldSource : newSource;
                long delay = writeNanos / 5 + rnd.nextLong(writeNanos / 2);
                killDuringWrite(javaCommand("write", dest.toString(), source.toString(), "IN_PLACE"), delay);
                boolean whole = sameBytes(dest, oldSource) || sameBytes(dest, newSource);
                damaged += whole ? 0 : 1;
                Files.copy(destIsNew ? newSource : oldSource, dest, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
            System.out.println("  control: " + damaged + " of 4 writers killed during an IN_PLACE write left a damaged file");
            assertTrue(damaged > 0, "killing in-place writers never damaged the file: the check may see nothing");
        } finally {
            removeAll(dir);
        }
    }

    /**
     * Whether two files hold the same bytes, every one of them: the sources were
     * written from the seeded generator and checked against it, so a file equal
     * to one is exactly that array (header included).
     */
    private static boolean sameBytes(Path a, Path b) throws IOException {
        try (FileChannel ca = FileChannel.open(a, StandardOpenOption.READ);
             FileChannel cb = FileChannel.open(b, StandardOpenOption.READ);
             Arena arena = Arena.ofConfined()) {
            long size = ca.size();
            if (size != cb.size()) {
                return false;
            }
            return size == 0 || MemorySegment.mismatch(ca.map(FileChannel.MapMode.READ_ONLY, 0, size, arena), 0, size,
                    cb.map(FileChannel.MapMode.READ_ONLY, 0, size, arena), 0, size) < 0;
        }
    }

    /** How a killed writer ended: its exit code, and how long its write took when it finished (else -1). */
    record Killed(int exitCode, long writeNanos) {}

    /**
     * Starts a writer, waits until it begins writing, kills it with SIGKILL
     * {@code delayNanos} later (or lets it finish, for {@code Long.MAX_VALUE}).
     */
    private static Killed killDuringWrite(List<String> cmd, long delayNanos) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder said = new StringBuilder();
        for (String line = out.readLine(); !"WRITING".equals(line); line = out.readLine()) {
            if (line == null) {
                p.destroyForcibly();
                throw new AssertionError("the writer ended without writing: " + said + cmd);
            }
            said.append(line).append('\n');
        }
        // What the writer says next (DONE, when it finished before the kill), read as it comes: killing a
        // process closes its streams.
        List<String> after = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    after.add(line);
                }
            } catch (IOException closed) {
                // killed
            }
        });
        if (delayNanos != Long.MAX_VALUE) {
            LockSupport.parkNanos(delayNanos);
            p.destroyForcibly();
        }
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("a writer did not end");
        }
        reader.join(10_000);
        long writeNanos = -1;
        synchronized (after) {
            for (String line : after) {
                if (line.startsWith("DONE ")) {
                    writeNanos = Long.parseLong(line.substring(5));
                }
            }
        }
        if (p.exitValue() == 0 && writeNanos < 0) {
            throw new AssertionError("the writer finished without saying DONE: " + said + after);
        }
        return new Killed(p.exitValue(), writeNanos);
    }

    /** The one-minute load average, for the report: a loaded machine makes every write slower. */
    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static long median(List<Long> values) {
        List<Long> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    // ------------------------------------------------------------------ file size and disk space

    @Test
    void aFileSizeLimitReachedMidWriteLeavesTheOldFileAndNoTemporary(@TempDir Path dir) throws Exception {
        Path dest = dir.resolve("data.npy");
        Path source = dir.resolve("source.npy");
        NpyFiles.writePattern(dest, 1 << 19, OLD_SEED);      // 4 MiB
        NpyFiles.writePattern(source, 1 << 23, NEW_SEED);    // 64 MiB
        List<String> cmd = new ArrayList<>(List.of("bash", "-c", "ulimit -f 16384 && exec \"$@\"", "bash"));   // 16 MiB
        cmd.addAll(javaCommand("write", dest.toString(), source.toString(), "ATOMIC_DURABLE"));
        Run r = run(cmd);
        assertEquals(3, r.exitCode(), "the child must throw (exit 3), not die of SIGXFSZ (exit 153): " + r.stdout());
        String threw = r.stdout().lines().filter(l -> l.startsWith("THREW ")).findFirst().orElseThrow();
        assertTrue(threw.matches("THREW java.io.IOException: cannot write \\Q" + dest + "\\E: writing its temporary file failed"
                + " after \\d+ of 67108992 bytes \\(File too large\\); \\Q" + dest + "\\E is unchanged and its temporary file"
                + " was removed"), threw);
        NpyFiles.assertHolds(dest, 1 << 19, OLD_SEED);
        assertEquals(List.of("data.npy", "source.npy"), names(dir));
    }

    @Test
    void aFullFileSystemLeavesTheOldFileAndNoTemporary(@TempDir Path dir) throws Exception {
        Path mount = Files.createDirectory(dir.resolve("small"));
        List<String> cmd = new ArrayList<>(List.of("unshare", "--mount", "--propagation", "private", "bash", "-c",
                "mount -t tmpfs -o size=4m tmpfs \"$0\" && exec \"$@\"", mount.toString()));
        cmd.addAll(javaCommand("full", mount.toString()));
        Run r = run(cmd);
        assumeTrue(r.stdout().contains("OLD_HOLDS"), "cannot mount a small tmpfs in a private mount namespace here"
                + " (unshare --mount needs CAP_SYS_ADMIN): " + r.stdout().strip());
        Path f = mount.resolve("data.npy");
        assertTrue(r.stdout().contains("THREW java.io.IOException: cannot write " + f + ": writing its temporary file failed"
                + " after "), r.stdout());
        assertTrue(r.stdout().contains(" bytes (No space left on device); " + f + " is unchanged and its temporary file was"
                + " removed\n"), r.stdout());
        assertTrue(r.stdout().contains("OLD_HOLDS true\n"), r.stdout());
        assertTrue(r.stdout().contains("NAMES [data.npy]\n"), r.stdout());
        assertEquals(List.of(), names(mount), "the tmpfs was the child's alone");
    }

    /**
     * A file of another user in a folder anyone may write: replacing it would
     * hand the file to the writer, so the write is refused (an in-place write
     * keeps the owner). Needs root, to start the writer as user 65534.
     */
    @Test
    void anotherUsersFileIsRefusedWhenItsOwnerCannotBeKept(@TempDir Path dir) throws Exception {
        assumeTrue(!NpyFiles.permissionBitsBind(dir), "needs root, to run the writer as another user");
        Path shared = Files.createDirectory(dir.resolve("shared"));
        Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path dest = shared.resolve("data.npy");
        Path source = shared.resolve("source.npy");
        NpyFiles.writePattern(dest, 1 << 10, OLD_SEED);
        NpyFiles.writePattern(source, 1 << 10, NEW_SEED);
        Files.setPosixFilePermissions(dest, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-rw-"));
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
        cmd.addAll(javaCommand("write", dest.toString(), source.toString(), "ATOMIC_DURABLE"));
        Run r = run(cmd);
        assumeTrue(r.stdout().contains("WRITING"), "cannot start a writer as user 65534 here: " + r.stdout().strip());
        assertEquals(3, r.exitCode(), r.stdout());
        java.nio.file.attribute.PosixFileAttributes owner = Files.readAttributes(dest,
                java.nio.file.attribute.PosixFileAttributes.class);
        assertTrue(r.stdout().contains("THREW java.io.IOException: cannot write " + dest + ": " + dest + " belongs to "
                + owner.owner().getName() + ":" + owner.group().getName() + ", and this process cannot give its replacement"
                + " that owner (Operation not permitted), so replacing it would change who owns the file; write as its"
                + " owner, or with Npy.WriteMode.IN_PLACE (not atomic); " + dest + " is unchanged and its temporary file was"
                + " removed\n"), r.stdout());
        NpyFiles.assertHolds(dest, 1 << 10, OLD_SEED);
        assertEquals(0, Files.getAttribute(dest, "unix:uid"));
        assertEquals(List.of("data.npy", "source.npy"), names(shared));
        cmd.set(cmd.size() - 1, "IN_PLACE");   // what the message offers: the file keeps its owner
        assertEquals(0, run(cmd).exitCode());
        NpyFiles.assertHolds(dest, 1 << 10, NEW_SEED);
        assertEquals(0, Files.getAttribute(dest, "unix:uid"));
    }

    @Test
    void aBindMountedDestinationIsRefusedAndLeftAlone(@TempDir Path dir) throws Exception {
        Path dest = dir.resolve("data.npy");
        Path other = dir.resolve("other.npy");
        Path source = dir.resolve("source.npy");
        NpyFiles.writePattern(dest, 1 << 10, OLD_SEED);
        NpyFiles.writePattern(other, 1 << 10, 3);
        NpyFiles.writePattern(source, 1 << 10, NEW_SEED);
        List<String> cmd = new ArrayList<>(List.of("unshare", "--mount", "--propagation", "private", "bash", "-c",
                "mount --bind \"$0\" \"$1\" && shift && exec \"$@\"", other.toString(), dest.toString()));
        cmd.addAll(javaCommand("write", dest.toString(), source.toString(), "ATOMIC_DURABLE"));
        Run r = run(cmd);
        assumeTrue(r.stdout().contains("WRITING"), "cannot bind-mount in a private mount namespace here: "
                + r.stdout().strip());
        assertEquals(3, r.exitCode(), r.stdout());
        assertTrue(r.stdout().contains("THREW java.io.IOException: cannot write " + dest + ": " + dest + " is a mount point"
                + " of its own (a bind-mounted file), which no file can be moved over (Device or resource busy); write with"
                + " Npy.WriteMode.IN_PLACE to write into it; " + dest + " is unchanged and its temporary file was removed\n"),
                r.stdout());
        NpyFiles.assertHolds(dest, 1 << 10, OLD_SEED);
        NpyFiles.assertHolds(other, 1 << 10, 3);
        assertEquals(List.of("data.npy", "other.npy", "source.npy"), names(dir));
    }
}
