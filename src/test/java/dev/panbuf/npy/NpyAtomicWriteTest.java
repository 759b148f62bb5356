package dev.panbuf.npy;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.NdArray;
import dev.panbuf.Order;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static dev.panbuf.npy.NpyFiles.assertHolds;
import static dev.panbuf.npy.NpyFiles.holds;
import static dev.panbuf.npy.NpyFiles.names;
import static dev.panbuf.npy.NpyFiles.pattern;
import static dev.panbuf.npy.NpyFiles.writePattern;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code Npy.write} and {@code Npy.create} replace a file atomically: what
 * they refuse before touching anything (and with which message), what they
 * keep (permissions, owner, a symbolic link, a reader's old file), and what
 * each fault in the middle of a write leaves: the destination deleted,
 * replaced by a link or by another writer, the folder made read-only, the
 * source's arena closed from another thread, an I/O error. Every case ends
 * with the destination whole (old or new) and no temporary file. Faults are
 * injected at chosen moments through {@link Npy#hook}; a racing thread and a
 * second writer check the same without it.
 */
@ExtendWith(LeakCheck.class)
class NpyAtomicWriteTest {

    /** 8 MiB of int64: eight 1 MiB chunks, so a fault can land between two. */
    private static final long COUNT = 1L << 20;
    private static final long OLD = 1, NEW = 2;

    @TempDir
    Path dir;

    @AfterEach
    void noHook() {
        Npy.hook = null;
    }

    /** Runs {@code action} once, when an atomic write has written at least 2 MiB of its temporary file. */
    private static void midWrite(IoAction action) {
        AtomicBoolean done = new AtomicBoolean();
        Npy.hook = (step, temporary, written) -> {
            if (step.equals(AtomicReplace.STEP_DATA) && written >= 2 << 20 && !done.getAndSet(true)) {
                assertTrue(Files.exists(temporary), "the temporary file exists while it is written");
                action.run();
            }
        };
    }

    @FunctionalInterface
    interface IoAction {
        void run() throws IOException;
    }

    private Path old() throws IOException {
        Path f = dir.resolve("data.npy");
        writePattern(f, COUNT, OLD);
        return f;
    }

    // ------------------------------------------------------------------ what a write does

    @ParameterizedTest
    @EnumSource(Npy.WriteMode.class)
    void everyModeReplacesTheFileAndLeavesNothingElse(Npy.WriteMode mode) throws IOException {
        Path f = old();
        Object before = Files.readAttributes(f, "unix:ino").get("ino");
        try (Arena arena = Arena.ofConfined()) {
            Npy.write(f, pattern(arena, COUNT, NEW), mode);
        }
        assertHolds(f, COUNT, NEW);
        assertEquals(List.of("data.npy"), names(dir));
        Object after = Files.readAttributes(f, "unix:ino").get("ino");
        if (mode == Npy.WriteMode.IN_PLACE) {
            assertEquals(before, after, "in place keeps the file");
        } else {
            assertNotEquals(before, after, "an atomic replace is a new file");
        }
    }

    @Test
    void aReaderOfTheOldFileKeepsReadingIt() throws IOException {
        Path f = old();
        try (FileChannel reader = FileChannel.open(f, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            Npy.write(f, pattern(arena, COUNT / 2, NEW));
            ByteBuffer last = ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            reader.read(last, reader.size() - 8);
            assertEquals(NpyFiles.element(OLD, COUNT - 1), last.getLong(0), "the reader's file is the old one, whole");
            assertEquals(128 + 8 * COUNT, reader.size());
        }
        assertHolds(f, COUNT / 2, NEW);
    }

    @Test
    void permissionBitsOwnerAndGroupAreKept() throws IOException, InterruptedException {
        Path f = old();
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        boolean root = !NpyFiles.permissionBitsBind(dir);
        if (root) {
            Files.setAttribute(f, "unix:uid", 65534);
            Files.setAttribute(f, "unix:gid", 65534);
        }
        try (Arena arena = Arena.ofConfined()) {
            Npy.write(f, pattern(arena, COUNT, NEW));
        }
        assertHolds(f, COUNT, NEW);
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        if (root) {
            assertEquals(65534, Files.getAttribute(f, "unix:uid"));
            assertEquals(65534, Files.getAttribute(f, "unix:gid"));
        }
    }

    @Test
    void aNewFileGetsThePermissionsAnyNewFileGets() throws IOException {
        Path f = dir.resolve("new.npy");
        Path plain = Files.createFile(dir.resolve("plain"));
        try (Arena arena = Arena.ofConfined()) {
            Npy.write(f, pattern(arena, 16, NEW));
        }
        assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(f));
    }

    @Test
    void aSymbolicLinkStaysALinkAndTheFileItNamesIsReplaced() throws IOException {
        Path real = Files.createDirectory(dir.resolve("real"));
        Path links = Files.createDirectory(dir.resolve("links"));
        Path target = real.resolve("data.npy");
        writePattern(target, COUNT, OLD);
        Path link = Files.createSymbolicLink(links.resolve("data.npy"), Path.of("../real/data.npy"));
        try (Arena arena = Arena.ofConfined()) {
            Npy.write(link, pattern(arena, COUNT, NEW));
        }
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(Path.of("../real/data.npy"), Files.readSymbolicLink(link));
        assertHolds(target, COUNT, NEW);
        assertEquals(List.of("data.npy"), names(real));
        assertEquals(List.of("data.npy"), names(links));
    }

    @Test
    void createReplacesAtomicallyAndItsViewWritesTheNewFile() throws IOException {
        Path f = old();
        Object before = Files.readAttributes(f, "unix:ino").get("ino");
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray old = Npy.map(f, arena, Npy.MapMode.READ_ONLY);
            NdArray fresh = Npy.create(f, DType.INT32, Order.F, arena, 3, 4);
            fresh.setInt(42, 2, 3);
            assertNotEquals(before, Files.readAttributes(f, "unix:ino").get("ino"));
            assertEquals(NpyFiles.element(OLD, 7), old.getLong(7), "the old mapping keeps the old file");
            try (Arena scratch = Arena.ofConfined()) {
                NdArray back = Npy.read(f, scratch);
                assertEquals(42, back.getInt(2, 3));
                assertTrue(back.isContiguous(Order.F));
            }
        }
        assertEquals(List.of("data.npy"), names(dir));
    }

    @Test
    void createWithAClosedArenaLeavesTheFileAndNoTemporary() throws IOException {
        Path f = old();
        Arena closed = Arena.ofConfined();
        closed.close();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Npy.create(f, DType.INT32, Order.C, closed, 3, 4));
        assertEquals("Already closed", e.getMessage());
        assertHolds(f, COUNT, OLD);
        assertEquals(List.of("data.npy"), names(dir));
    }

    /**
     * Views of Java arrays other than {@code byte[]} have no {@code ByteBuffer}
     * view, and writing them once threw {@code UnsupportedOperationException}
     * ("Not an address to an heap-allocated byte array"), to a file and to a stream.
     */
    @Test
    void viewsOfJavaArraysOfEveryTypeAreWritten() throws IOException {
        List<NdArray> views = List.of(NdArray.wrap(new byte[] {1, -2, 3}), NdArray.wrap(new short[] {1, -2, 3}),
                NdArray.wrap(new char[] {'a', 'b'}), NdArray.wrap(new int[] {1, -2, 3, 4}, 2, 2),
                NdArray.wrap(new long[] {Long.MIN_VALUE, 5}), NdArray.wrap(new float[] {1.5f, -0f, Float.NaN}),
                NdArray.wrap(new double[] {1e300, -1, 0.25, 7}, 2, 2).transpose(),
                NdArray.wrap(new int[3 * 700_000], 3, 700_000).get("::-1, ::3"));   // > 1 MiB, copied in chunks
        try (Arena arena = Arena.ofConfined()) {
            int n = 0;
            for (NdArray v : views) {
                Path f = dir.resolve("heap" + n++ + ".npy");
                Npy.write(f, v);
                assertEquals(v, Npy.read(f, arena), v.describe());
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                Npy.write(out, v);
                assertArrayEquals(out.toByteArray(), Files.readAllBytes(f));
            }
        }
    }

    // ------------------------------------------------------------------ refused before anything is touched

    @Test
    void aDirectoryIsRefused() throws IOException {
        Path d = Files.createDirectory(dir.resolve("d.npy"));
        IOException e = assertThrows(IOException.class, () -> Npy.write(d, NdArray.wrap(new int[] {1})));
        assertEquals("cannot write " + d + ": " + d + " is a directory; name a file inside it", e.getMessage());
        assertEquals(List.of("d.npy"), names(dir));
        assertEquals(List.of(), names(d));
    }

    @Test
    void aDanglingSymbolicLinkIsRefusedAndLeftAlone() throws IOException {
        Path link = Files.createSymbolicLink(dir.resolve("data.npy"), Path.of("missing/x.npy"));
        IOException e = assertThrows(IOException.class, () -> Npy.write(link, NdArray.wrap(new int[] {1})));
        assertEquals("cannot write " + link + ": it is a symbolic link to missing/x.npy, which does not exist; create that"
                + " file first, or remove the link", e.getMessage());
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(List.of("data.npy"), names(dir));
    }

    @Test
    void aMissingFolderIsRefused() {
        Path f = dir.resolve("no/such/data.npy");
        IOException e = assertThrows(IOException.class, () -> Npy.write(f, NdArray.wrap(new int[] {1})));
        assertEquals("cannot write " + f + ": its folder " + f.getParent() + " does not exist; create it first"
                + " (Files.createDirectories)", e.getMessage());
        assertFalse(Files.exists(dir.resolve("no")));
    }

    @Test
    void aPathThroughAFileIsRefused() throws IOException {
        Path file = Files.createFile(dir.resolve("f.txt"));
        Path f = file.resolve("x.npy");
        IOException e = assertThrows(IOException.class, () -> Npy.write(f, NdArray.wrap(new int[] {1})));
        assertEquals("cannot write " + f + ": " + file + " is not a folder", e.getMessage());
        assertEquals(0, Files.size(file));
        Path loop = Files.createSymbolicLink(dir.resolve("loop"), Path.of("loop"));
        Path g = loop.resolve("x.npy");
        IOException l = assertThrows(IOException.class, () -> Npy.write(g, NdArray.wrap(new int[] {1})));
        assertEquals("cannot write " + g + ": Too many levels of symbolic links or unable to access attributes of"
                + " symbolic link; the path must name a file in a folder"
                + " this process can write", l.getMessage());
        assertEquals(List.of("f.txt", "loop"), names(dir));
    }

    @Test
    void aFifoIsRefusedWithoutOpeningIt() throws IOException, InterruptedException {
        Path fifo = dir.resolve("pipe.npy");
        String why = NpyFiles.run("mkfifo", fifo.toString());
        assumeTrue(why == null, "mkfifo failed: " + why);
        IOException e = assertThrows(IOException.class, () -> Npy.write(fifo, NdArray.wrap(new int[] {1})));
        assertEquals("cannot write " + fifo + ": " + fifo + " is not a regular file (a FIFO, socket or device), which cannot"
                + " be replaced by another file; write with Npy.WriteMode.IN_PLACE to write into it", e.getMessage());
        assertEquals(List.of("pipe.npy"), names(dir));
    }

    @Test
    void aReadOnlyFileIsRefusedWherePermissionBitsBindAndStaysReadOnlyWhereNot() throws IOException {
        Path f = old();
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("r--r--r--"));
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = pattern(arena, COUNT, NEW);
            if (Files.isWritable(f)) {
                // root: as an in-place write would, the write goes through; the file stays read-only
                Npy.write(f, a);
                assertHolds(f, COUNT, NEW);
            } else {
                IOException e = assertThrows(IOException.class, () -> Npy.write(f, a));
                assertTrue(e.getMessage().startsWith("cannot write " + f + ": " + f + " is read-only for this process"
                        + " (permissions r--r--r--, owner "), e.getMessage());
                assertHolds(f, COUNT, OLD);
            }
        }
        assertEquals("r--r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        assertEquals(List.of("data.npy"), names(dir));
    }

    @Test
    void aReadOnlyFolderIsRefusedBeforeAnythingIsTouchedAndInPlaceStillWorks() throws Exception {
        Path f = old();
        AutoCloseable undo = NpyFiles.makeReadOnly(dir);
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = pattern(arena, COUNT, NEW);
            IOException e = assertThrows(IOException.class, () -> Npy.write(f, a));
            assertEquals("cannot write " + f + ": its folder " + dir + " is not writable by this process, and an atomic"
                    + " replace first creates a temporary file there; make the folder writable, or write with"
                    + " Npy.WriteMode.IN_PLACE (not atomic: a crash during the write leaves a partial file)", e.getMessage());
            assertHolds(f, COUNT, OLD);
            assertEquals(List.of("data.npy"), names(dir));
            Npy.write(f, a, Npy.WriteMode.IN_PLACE);   // what the message offers
            assertHolds(f, COUNT, NEW);
        } finally {
            undo.close();
        }
    }

    @Test
    void closedOrForeignMemoryIsRefusedBeforeAnythingIsCreated() throws Exception {
        Path f = old();
        Arena closed = Arena.ofConfined();
        NdArray gone = pattern(closed, 16, NEW);
        closed.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Npy.write(f, gone));
        assertEquals("Already closed", e.getMessage());
        try (Arena confined = Arena.ofConfined()) {
            NdArray mine = pattern(confined, 16, NEW);
            AtomicReference<Throwable> t = new AtomicReference<>();
            Thread other = Thread.ofPlatform().start(() -> {
                try {
                    Npy.write(f, mine);
                } catch (Throwable x) {
                    t.set(x);
                }
            });
            other.join();
            assertInstanceOf(WrongThreadException.class, t.get());
        }
        assertHolds(f, COUNT, OLD);
        assertEquals(List.of("data.npy"), names(dir));
    }

    @Test
    void inPlaceIsRefusedWhileThisProcessMapsTheFile() throws IOException {
        Path f = old();
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = pattern(arena, COUNT, NEW);
            try (Arena mapping = Arena.ofConfined()) {
                NdArray m = Npy.map(f, mapping, Npy.MapMode.COPY_ON_WRITE);
                IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> Npy.write(f, m.get("::-1"), Npy.WriteMode.IN_PLACE));
                assertEquals("cannot write " + f + " in place: this process maps it (1 live mapping made by Npy.map or"
                        + " Npy.create: COPY_ON_WRITE), and truncating it would take the pages from under those mappings"
                        + " (the view being written may be one of them); write with Npy.WriteMode.ATOMIC_DURABLE (the"
                        + " mappings keep the old file), or close their arenas first", e.getMessage());
                assertThrows(IllegalStateException.class, () -> Npy.create(f, DType.INT8, Order.C, arena,
                        Npy.WriteMode.IN_PLACE, 3));
                assertHolds(f, COUNT, OLD);
                assertEquals(NpyFiles.element(OLD, COUNT - 1), m.getLong(COUNT - 1));
            }
            Npy.write(f, a, Npy.WriteMode.IN_PLACE);   // the mapping is gone: allowed
            assertHolds(f, COUNT, NEW);
        }
    }

    // ------------------------------------------------------------------ faults during the write

    @Test
    void anIoErrorDuringTheWriteLeavesTheFileAndRemovesTheTemporary() throws IOException {
        Path f = old();
        Npy.hook = (step, temporary, written) -> {
            if (written >= 3 << 20) {
                throw new IOException("injected failure");
            }
        };
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = pattern(arena, COUNT, NEW);
            IOException e = assertThrows(IOException.class, () -> Npy.write(f, a));
            assertEquals("cannot write " + f + ": writing its temporary file failed after 3145856 of 8388736 bytes"
                    + " (injected failure); " + f + " is unchanged and its temporary file was removed", e.getMessage());
        }
        assertHolds(f, COUNT, OLD);
        assertEquals(List.of("data.npy"), names(dir));
    }

    @Test
    void aDestinationDeletedDuringTheWriteStaysDeleted() throws IOException {
        Path f = old();
        String key = Files.readAttributes(f, java.nio.file.attribute.BasicFileAttributes.class).fileKey().toString();
        midWrite(() -> Files.delete(f));
        IOException e = writeFails(f);
        assertEquals("cannot write " + f + ": it changed while it was being written (it was the regular file " + key
                + ", it is now absent), so it was left as it is and the new data was discarded (its temporary file was"
                + " removed); write again if the new data should replace what is there now", e.getMessage());
        assertEquals(List.of(), names(dir));
    }

    @Test
    void aDestinationReplacedByASymbolicLinkDuringTheWriteIsLeftAlone() throws IOException {
        Path f = old();
        Path elsewhere = Files.createDirectory(dir.resolve("elsewhere")).resolve("victim.npy");
        writePattern(elsewhere, COUNT, 3);
        midWrite(() -> {
            Files.delete(f);
            Files.createSymbolicLink(f, elsewhere);
        });
        IOException e = writeFails(f);
        assertTrue(e.getMessage().contains(": it changed while it was being written (it was the regular file "),
                e.getMessage());
        assertTrue(e.getMessage().contains(", it is now a symbolic link to " + elsewhere + "), so it was left as it is"),
                e.getMessage());
        assertTrue(Files.isSymbolicLink(f));
        assertHolds(elsewhere, COUNT, 3);
        assertEquals(List.of("data.npy", "elsewhere"), names(dir));
        assertEquals(List.of("victim.npy"), names(elsewhere.getParent()));
    }

    @Test
    void aLinkedDestinationRepointedDuringTheWriteIsLeftAlone() throws IOException {
        Path a = dir.resolve("a.npy");
        Path b = dir.resolve("b.npy");
        writePattern(a, COUNT, OLD);
        writePattern(b, COUNT, 3);
        Path link = Files.createSymbolicLink(dir.resolve("current.npy"), a.getFileName());
        midWrite(() -> {
            Files.delete(link);
            Files.createSymbolicLink(link, b.getFileName());
        });
        IOException e = writeFails(link);
        assertTrue(e.getMessage().contains("it changed while it was being written"), e.getMessage());
        assertHolds(a, COUNT, OLD);
        assertHolds(b, COUNT, 3);
        assertEquals(b.getFileName(), Files.readSymbolicLink(link));
        assertEquals(List.of("a.npy", "b.npy", "current.npy"), names(dir));
    }

    @Test
    void aDestinationReplacedByAnotherWriterDuringTheWriteKeepsTheirFile() throws IOException {
        Path f = old();
        midWrite(() -> {
            Path theirs = dir.resolve("theirs");
            writePattern(theirs, COUNT, 3);
            Files.move(theirs, f, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        });
        IOException e = writeFails(f);
        assertTrue(e.getMessage().contains("it changed while it was being written"), e.getMessage());
        assertHolds(f, COUNT, 3);
        assertEquals(List.of("data.npy"), names(dir));
    }

    @Test
    void aFileCreatedWhileANewFileIsWrittenKeepsItsData() throws IOException {
        Path f = dir.resolve("data.npy");
        midWrite(() -> writePattern(f, COUNT, 3));
        IOException e = writeFails(f);
        assertTrue(e.getMessage().contains("(it was absent, it is now the regular file "), e.getMessage());
        assertHolds(f, COUNT, 3);
        assertEquals(List.of("data.npy"), names(dir));
    }

    @Test
    void aFolderMadeReadOnlyDuringTheWriteFailsTheMoveAndSaysWhereTheTemporaryFileIs() throws Exception {
        Path f = old();
        boolean bitsBind = NpyFiles.permissionBitsBind(dir);
        NpyFiles.makeReadOnly(dir).close();   // skips the test here, not inside the write, where that is impossible
        AtomicReference<AutoCloseable> undo = new AtomicReference<>();
        AtomicReference<Path> temporary = new AtomicReference<>();
        Npy.hook = (step, tmp, written) -> {
            if (step.equals(AtomicReplace.STEP_COMMIT)) {
                temporary.set(tmp);
                try {
                    undo.set(NpyFiles.makeReadOnly(dir));
                } catch (InterruptedException x) {
                    throw new IOException(x);
                }
            }
        };
        try {
            IOException e = writeFails(f);
            assertTrue(e.getMessage().startsWith("cannot write " + f + ": moving its temporary file " + temporary.get()
                    + " over " + f + " failed ("), e.getMessage());
            assertTrue(e.getMessage().endsWith("); " + f + " is unchanged and its temporary file " + temporary.get()
                    + " could not be removed (" + (bitsBind ? "Permission denied" : "Operation not"
                    + " permitted") + "): delete it, or call Npy.deleteStaleTemporaryFiles(" + dir + ") once this process"
                    + " has ended"), e.getMessage());
        } finally {
            if (undo.get() != null) {
                undo.get().close();
            }
        }
        assertHolds(f, COUNT, OLD);
        assertTrue(Npy.isTemporaryFile(temporary.get()));
        assertEquals(List.of(), Npy.deleteStaleTemporaryFiles(dir), "its writer (this process) is alive: kept");
        Files.delete(temporary.get());
        assertEquals(List.of("data.npy"), names(dir));
    }

    private IOException writeFails(Path f) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = pattern(arena, COUNT, NEW);
            return assertThrows(IOException.class, () -> Npy.write(f, a));
        }
    }

    @Test
    void theSourceArenaClosedFromAnotherThreadDuringTheWriteLeavesTheFileWhole() throws IOException {
        Path f = old();
        Arena shared = Arena.ofShared();
        NdArray a = pattern(shared, COUNT, NEW);
        midWrite(() -> {
            Thread closer = Thread.ofPlatform().start(shared::close);
            try {
                closer.join();
            } catch (InterruptedException x) {
                throw new IOException(x);
            }
        });
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Npy.write(f, a));
        assertEquals("cannot write " + f + ": the memory of the view being written was closed during the write, after"
                + " 2097280 of 8388736 bytes (Already closed); " + f + " is unchanged and its temporary file was removed",
                e.getMessage());
        assertFalse(shared.scope().isAlive());
        assertHolds(f, COUNT, OLD);
        assertEquals(List.of("data.npy"), names(dir));
    }

    /** No hook: a thread closes the source's arena at a random moment; the write completes or throws, never damages. */
    @Test
    void theSourceArenaClosedByARacingThreadNeverDamagesTheFile() throws Exception {
        long seed = Long.getLong("panbuf.race.seed", System.nanoTime());
        System.out.println("theSourceArenaClosedByARacingThreadNeverDamagesTheFile: seed " + seed
                + " (-Dpanbuf.race.seed=" + seed + " repeats it)");
        SplittableRandom rnd = new SplittableRandom(seed);
        Path f = dir.resolve("data.npy");
        long count = 4L << 20;   // 32 MiB
        writePattern(f, count, OLD);
        long expected = OLD;
        int completed = 0, refused = 0;
        for (int round = 0; round < 12; round++) {
            long seedOfRound = 10 + round;
            Arena shared = Arena.ofShared();
            NdArray a = pattern(shared, count, seedOfRound);
            CountDownLatch go = new CountDownLatch(1);
            long delayNanos = rnd.nextLong(TimeUnit.MILLISECONDS.toNanos(40));
            Thread closer = Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                java.util.concurrent.locks.LockSupport.parkNanos(delayNanos);
                while (true) {
                    try {
                        shared.close();
                        return;
                    } catch (IllegalStateException busy) {
                        Thread.onSpinWait();   // "acquired by 1 clients": a write system call is using it
                    }
                }
            });
            go.countDown();
            try {
                Npy.write(f, a, Npy.WriteMode.ATOMIC);
                expected = seedOfRound;
                completed++;
            } catch (IllegalStateException e) {
                assertTrue(e.getMessage().equals("Already closed") || e.getMessage().startsWith("cannot write " + f
                        + ": the memory of the view being written was closed during the write"), e.getMessage());
                refused++;
            }
            closer.join();
            assertHolds(f, count, expected);
            assertEquals(List.of("data.npy"), names(dir), "round " + round);
        }
        System.out.println("  " + completed + " writes completed before the close, " + refused + " were stopped by it");
    }

    /** Two writers of one file: each write lands whole or is refused because the other replaced the file first. */
    @Test
    void twoWritersOfOneFileNeverMixTheirData() throws Exception {
        Path f = dir.resolve("data.npy");
        long count = 1L << 19;
        writePattern(f, count, OLD);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        int[] refusals = new int[2];
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            int id = w;
            writers.add(Thread.ofPlatform().start(() -> {
                try (Arena arena = Arena.ofConfined()) {
                    NdArray a = pattern(arena, count, 100 + id);
                    for (int i = 0; i < 20; i++) {
                        try {
                            Npy.write(f, a, Npy.WriteMode.ATOMIC);
                        } catch (IOException e) {
                            if (!e.getMessage().contains("it changed while it was being written")) {
                                throw e;
                            }
                            refusals[id]++;
                        }
                    }
                } catch (Throwable t) {
                    failure.set(t);
                }
            }));
        }
        for (Thread t : writers) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertTrue(holds(f, count, 100) || holds(f, count, 101), "one writer's array, whole");
        assertEquals(List.of("data.npy"), names(dir));
    }

    // ------------------------------------------------------------------ temporary files

    @Test
    void temporaryFilesAreRecognisedByNameAndALongNameStillFits() throws IOException {
        String longName = "é".repeat(120) + ".npy";   // 244 UTF-8 bytes: its temporary name must be cut
        assertEquals(244, longName.getBytes(StandardCharsets.UTF_8).length);
        Path f = dir.resolve(longName);
        AtomicReference<Path> seen = new AtomicReference<>();
        Npy.hook = (step, temporary, written) -> seen.set(temporary);
        try (Arena arena = Arena.ofConfined()) {
            Npy.write(f, pattern(arena, 16, NEW));
        }
        Npy.hook = null;
        assertHolds(f, 16, NEW);
        String name = seen.get().getFileName().toString();
        assertTrue(name.startsWith("." + "é".repeat(100) + ".panbuf-tmp-" + ProcessHandle.current().pid() + "-"), name);
        assertTrue(name.getBytes(StandardCharsets.UTF_8).length <= 255, name);
        assertTrue(Npy.isTemporaryFile(seen.get()));
        assertEquals(List.of(longName), names(dir));
        for (String yes : List.of(".data.npy.panbuf-tmp-12-0123456789abcdef", "..panbuf-tmp-1-ffffffffffffffff")) {
            assertTrue(Npy.isTemporaryFile(dir.resolve(yes)), yes);
        }
        for (String no : List.of("data.npy", ".data.npy", "data.npy.panbuf-tmp-12-0123456789abcdef",
                ".data.npy.panbuf-tmp-12-0123456789abcde", ".data.npy.panbuf-tmp--0123456789abcdef",
                ".data.npy.panbuf-tmp-12-0123456789ABCDEF", ".data.npy.panbuf-tmp-12-0123456789abcdef.npy")) {
            assertFalse(Npy.isTemporaryFile(dir.resolve(no)), no);
        }
    }

    @Test
    void staleTemporaryFilesOfEndedWritersAreDeletedAndEverythingElseKept() throws Exception {
        Process ended = new ProcessBuilder("true").start();
        ended.waitFor();
        long dead = ended.pid();
        long alive = ProcessHandle.current().pid();
        Path stale = Files.createFile(dir.resolve(".data.npy.panbuf-tmp-" + dead + "-0123456789abcdef"));
        Path live = Files.createFile(dir.resolve(".data.npy.panbuf-tmp-" + alive + "-0123456789abcdef"));
        Path link = Files.createSymbolicLink(dir.resolve(".x.npy.panbuf-tmp-" + dead + "-0123456789abcdef"), stale);
        Path folder = Files.createDirectory(dir.resolve(".y.npy.panbuf-tmp-" + dead + "-0123456789abcdef"));
        Path other = Files.createFile(dir.resolve("data.npy"));
        assertEquals(List.of(stale), Npy.deleteStaleTemporaryFiles(dir));
        for (Path p : List.of(live, link, folder, other)) {
            assertTrue(Files.exists(p, LinkOption.NOFOLLOW_LINKS), p + " is kept");
        }
        assertEquals(List.of(), Npy.deleteStaleTemporaryFiles(dir));
    }

    @Test
    void aWrittenFileReadsBackExactlyInEveryMode() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = NdArray.allocate(arena, DType.FLOAT32, Order.F, 5, 7);
            for (int i = 0; i < 35; i++) {
                a.setFloat(i * 0.5f, i % 5, i / 5);
            }
            for (Npy.WriteMode mode : Npy.WriteMode.values()) {
                Path f = dir.resolve(mode + ".npy");
                Npy.write(f, a.transpose(), mode);
                assertEquals(a.transpose(), Npy.read(f, arena));
                java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
                Npy.write(out, a.transpose());
                assertArrayEquals(out.toByteArray(), Files.readAllBytes(f));
            }
        }
    }
}
