package dev.panbuf.npy;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.LeakCheck;
import dev.panbuf.NdArray;
import dev.panbuf.Order;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * {@code Npy.flush}: it really forces a {@code READ_WRITE} mapping's edits to
 * the device, the whole view, a slice, or a byte range, and nothing else.
 * The oracle is the kernel's own count of the mapping's dirty pages
 * ({@code Shared_Dirty + Private_Dirty} in {@code /proc/self/smaps}): writing
 * a page makes it dirty, and only writing it back (msync) makes it clean
 * again. That needs a file system with write-back; on tmpfs, whose pages are
 * never written anywhere, these tests use the build folder instead. Then what
 * flush refuses, and what it does for each other kind of view.
 */
@ExtendWith(LeakCheck.class)
class NpyFlushTest {

    private static final long PAGE = 4096;
    /** 4 MiB of int32: 1,024 pages. */
    private static final long COUNT = 1L << 20;

    private Path dir;

    @BeforeEach
    void folderWithWriteBack() throws IOException {
        for (Path base : new Path[] {Path.of(System.getProperty("java.io.tmpdir")), Path.of("target").toAbsolutePath()}) {
            Files.createDirectories(base);
            if (!Files.getFileStore(base).type().equals("tmpfs")) {
                dir = Files.createTempDirectory(base, "npy-flush-");
                return;
            }
        }
        assumeFalse(true, "both java.io.tmpdir and target/ are on tmpfs, whose pages are never written back");
    }

    @AfterEach
    void removeFolder() throws IOException {
        if (dir != null) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    private Path file() throws IOException {
        Path f = dir.resolve("data.npy");
        try (Arena arena = Arena.ofConfined()) {
            Npy.write(f, NdArray.allocate(arena, DType.INT32, COUNT));
        }
        return f;
    }

    /** Dirty kB of the mapping that holds {@code segment}'s first byte, as the kernel counts them. */
    static long dirtyKiB(MemorySegment segment) throws IOException {
        long address = segment.address();
        Pattern header = Pattern.compile("^([0-9a-f]+)-([0-9a-f]+) ");
        boolean inside = false;
        long kib = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"), StandardCharsets.UTF_8)) {
            Matcher m = header.matcher(line);
            if (m.find()) {
                inside = Long.parseUnsignedLong(m.group(1), 16) <= address && address < Long.parseUnsignedLong(m.group(2), 16);
            } else if (inside && (line.startsWith("Shared_Dirty:") || line.startsWith("Private_Dirty:"))) {
                kib += Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return kib;
    }

    /**
     * The pages of one mapping that are dirty, by address: what the kernel's
     * count must equal. The data of a {@code .npy} file starts 128 bytes into
     * a page, so a byte range of the data touches the pages its addresses do,
     * not the ones its offsets suggest.
     */
    private static final class DirtyPages {
        final java.util.TreeSet<Long> pages = new java.util.TreeSet<>();
        final MemorySegment segment;

        DirtyPages(MemorySegment segment) {
            this.segment = segment;
        }

        /** Writes one int every 4096 bytes of the view's data, dirtying every page that holds one. */
        DirtyPages dirtyAll(NdArray m) throws IOException {
            for (long i = 0; i < COUNT; i += PAGE / 4) {
                m.setInt((int) i + 1, i);
                pages.add(Math.floorDiv(segment.address() + 4 * i, PAGE));
            }
            check("every written page is dirty before the flush");
            return this;
        }

        /** What flushing {@code [byteOffset, byteOffset + byteSize)} of the segment must clean. */
        void flushed(long byteOffset, long byteSize) {
            if (byteSize > 0) {
                long first = Math.floorDiv(segment.address() + byteOffset, PAGE);
                long last = Math.floorDiv(segment.address() + byteOffset + byteSize - 1, PAGE);
                pages.subSet(first, true, last, true).clear();
            }
        }

        void check(String what) throws IOException {
            assertEquals(4 * pages.size(), dirtyKiB(segment), what);
        }
    }

    @Test
    void flushWritesBackEveryDirtyPageOfTheMapping() throws IOException {
        Path f = file();
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = Npy.map(f, arena, Npy.MapMode.READ_WRITE);
            DirtyPages model = new DirtyPages(m.segment()).dirtyAll(m);
            assertEquals(1024, model.pages.size());
            Npy.flush(m);
            assertEquals(0, dirtyKiB(m.segment()), "no dirty page is left");
        }
        try (Arena arena = Arena.ofConfined()) {
            NdArray back = Npy.read(f, arena);
            assertEquals(1025, back.getInt(1024));
        }
    }

    @Test
    void flushOfASliceWritesBackOnlyItsPages() throws IOException {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = Npy.map(file(), arena, Npy.MapMode.READ_WRITE);
            DirtyPages model = new DirtyPages(m.segment()).dirtyAll(m);
            Npy.flush(m.get(":" + COUNT / 4));            // the first quarter
            model.flushed(0, COUNT);
            model.check("after the first quarter");
            assertTrue(model.pages.size() > 700 && model.pages.size() < 800, model.pages.size() + " pages left");
            Npy.flush(m.get("::-1").get(":" + COUNT / 4)); // the last quarter, reversed
            model.flushed(3 * COUNT, COUNT);
            model.check("after the last quarter, reversed");
            Npy.flush(m.reshape(1024, 1024).get(":, 1")); // a strided column: one int in every page
            model.flushed(4, 4 * COUNT - 4 * 1024 + 4);
            model.check("after a column");
            assertEquals(0, dirtyKiB(m.segment()));
        }
    }

    @Test
    void flushOfAByteRangeWritesBackOnlyThoseBytesPages() throws IOException {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = Npy.map(file(), arena, Npy.MapMode.READ_WRITE);
            DirtyPages model = new DirtyPages(m.segment()).dirtyAll(m);
            for (long[] range : new long[][] {{0, 2 << 20}, {(3 << 20) + 1, 1}, {4 << 20, 0}, {(3 << 20) + 5000, 9000},
                {0, 4 << 20}}) {
                Npy.flush(m, range[0], range[1]);
                model.flushed(range[0], range[1]);
                model.check("after flushing " + range[1] + " bytes from byte " + range[0]);
            }
            assertEquals(0, dirtyKiB(m.segment()));
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class,
                    () -> Npy.flush(m, (4 << 20) - 8, 16));
            assertEquals("flush range: byteOffset 4194296 and byteSize 16 are not inside the view's memory of 4194304 bytes;"
                    + " give a range within [0, 4194304)", e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> Npy.flush(m, -1, 1));
            assertThrows(IndexOutOfBoundsException.class, () -> Npy.flush(m, 1, Long.MAX_VALUE));
        }
    }

    @Test
    void createdFilesFlushToo() throws IOException {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = Npy.create(dir.resolve("new.npy"), DType.INT32, Order.C, arena, COUNT);
            new DirtyPages(m.segment()).dirtyAll(m);
            Npy.flush(m);
            assertEquals(0, dirtyKiB(m.segment()));
        }
    }

    @Test
    void aReadOnlyMappingHasNothingToFlush() throws IOException {
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = Npy.map(file(), arena, Npy.MapMode.READ_ONLY);
            Npy.flush(m);
            Npy.flush(m, 0, 16);
            assertEquals(0, dirtyKiB(m.segment()));
        }
    }

    @Test
    void aCopyOnWriteMappingIsRefusedItsEditsNeverReachTheFile() throws IOException {
        Path f = file();
        try (BufferArena arena = BufferArena.ofConfined()) {
            NdArray m = Npy.map(f, arena, Npy.MapMode.COPY_ON_WRITE);
            m.setInt(7, 0);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.flush(m.get("1:")));
            assertEquals("cannot flush a COPY_ON_WRITE mapping of " + f + ": its edits stay in this process's memory and"
                    + " never reach the file; save them with Npy.write(path, view), or map the file READ_WRITE to edit it",
                    e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Npy.flush(m, 0, 4));
        }
    }

    @Test
    void memoryThatIsNotAMappedFileIsRefused() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = NdArray.allocate(arena, DType.INT32, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npy.flush(a));
            assertEquals("cannot flush " + a.describe() + ": its memory is not a mapped file (flush forces the edits of a"
                    + " view from Npy.map(..., READ_WRITE) or Npy.create to its file); to store this array, write it with"
                    + " Npy.write(path, view)", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Npy.flush(NdArray.wrap(new int[] {1, 2})));
            Npy.flush(NdArray.allocate(arena, DType.INT32, 0));   // no elements: nothing to force
        }
    }

    @Test
    void aClosedOrForeignMappingThrowsAsFfmDoes() throws Exception {
        Path f = file();
        BufferArena arena = BufferArena.ofConfined();
        NdArray m = Npy.map(f, arena, Npy.MapMode.READ_WRITE);
        AtomicReference<Throwable> t = new AtomicReference<>();
        Thread other = Thread.ofPlatform().start(() -> {
            try {
                Npy.flush(m);
            } catch (Throwable x) {
                t.set(x);
            }
        });
        other.join();
        assertInstanceOf(WrongThreadException.class, t.get());
        arena.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Npy.flush(m));
        assertEquals("Already closed", e.getMessage());
    }

    @Test
    void aMappingOfAReplacedFileIsForcedAndTheFlushSaysTheEditsHaveNoName() throws IOException {
        Path f = file();
        try (BufferArena arena = BufferArena.ofConfined(); Arena scratch = Arena.ofConfined()) {
            NdArray m = Npy.map(f, arena, Npy.MapMode.READ_WRITE);
            Npy.write(f, NdArray.allocate(scratch, DType.INT8, 3));   // replaces the file: m keeps the old one
            new DirtyPages(m.segment()).dirtyAll(m);
            IOException e = assertThrows(IOException.class, () -> Npy.flush(m));
            assertEquals("the edits were forced to the file that " + f + " named when it was mapped, but that path now"
                    + " names another file or none (it was replaced, moved or deleted since; Npy.write and Npy.create"
                    + " replace a file, they do not write into it): the edits are in a file without that name. Save them"
                    + " with Npy.write(path, view)", e.getMessage());
            assertEquals(0, dirtyKiB(m.segment()), "forced all the same");
            assertEquals(3, Npy.read(f, scratch).elementCount());
        }
    }

    @Test
    void aMappingPanbufDidNotMakeIsForcedAsFfmForcesIt() throws IOException {
        Path f = file();
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE);
             Arena arena = Arena.ofConfined()) {
            MemorySegment s = ch.map(FileChannel.MapMode.READ_WRITE, 0, ch.size(), arena);
            NdArray v = NdArray.of(s.asSlice(128), DType.INT32, COUNT);
            new DirtyPages(v.segment()).dirtyAll(v);
            Npy.flush(v);
            assertEquals(0, dirtyKiB(s));
        }
    }
}
