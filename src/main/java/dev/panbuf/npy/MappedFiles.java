package dev.panbuf.npy;

import java.io.IOException;
import java.lang.ref.WeakReference;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The file mappings {@link Npy#map} and {@link Npy#create} made that are
 * still alive, by address: what {@link Npy#flush} needs to know that a
 * {@code MemorySegment} cannot say (a copy-on-write mapping looks writable
 * and mapped, exactly like a read-write one; and which file it maps), and
 * what lets an in-place write refuse to truncate a file this process maps.
 * An entry lives as long as its mapping's arena: dead ones are dropped when
 * met, and swept when the map has doubled since the last sweep.
 */
final class MappedFiles {

    /**
     * One mapping: where it lies, its arena's scope (weakly: an automatic
     * arena must stay collectable, and with it the mapping), how it was
     * mapped, the path it was mapped from and that file's identity.
     */
    record Mapping(long address, long byteSize, WeakReference<MemorySegment.Scope> scope, Npy.MapMode mode, Path path,
            Object fileKey) {

        boolean isAlive() {
            MemorySegment.Scope s = scope.get();
            return s != null && s.isAlive();
        }

        boolean contains(MemorySegment s) {
            return s.scope() == scope.get() && s.address() >= address && s.address() - address <= byteSize - s.byteSize();
        }

        /** Whether {@link #path} still names the file that was mapped. */
        boolean stillNamed() {
            try {
                return Objects.equals(fileKey, Files.readAttributes(path, BasicFileAttributes.class).fileKey());
            } catch (IOException e) {
                return false;
            }
        }
    }

    private static final ConcurrentSkipListMap<Long, Mapping> BY_ADDRESS = new ConcurrentSkipListMap<>();
    private static volatile int sweptAt = 16;

    private MappedFiles() {}

    static void register(MemorySegment segment, Npy.MapMode mode, Path path, Object fileKey) {
        BY_ADDRESS.put(segment.address(), new Mapping(segment.address(), segment.byteSize(), new WeakReference<>(segment.scope()),
                mode, path, fileKey));
        if (BY_ADDRESS.size() >= 2 * sweptAt) {
            BY_ADDRESS.values().removeIf(m -> !m.isAlive());
            sweptAt = Math.max(16, BY_ADDRESS.size());
        }
    }

    /** The live mapping {@code segment} lies in, or null when panbuf made none there. */
    static Mapping find(MemorySegment segment) {
        if (!segment.isNative()) {
            return null;
        }
        Map.Entry<Long, Mapping> e = BY_ADDRESS.floorEntry(segment.address());
        while (e != null) {
            Mapping m = e.getValue();
            if (!m.isAlive()) {
                BY_ADDRESS.remove(e.getKey(), m);
                e = BY_ADDRESS.floorEntry(segment.address());
                continue;
            }
            return m.contains(segment) ? m : null;
        }
        return null;
    }

    /** The live mappings of the file whose identity is {@code fileKey}. */
    static List<Mapping> of(Object fileKey) {
        List<Mapping> out = new ArrayList<>();
        if (fileKey == null) {
            return out;
        }
        for (Iterator<Mapping> it = BY_ADDRESS.values().iterator(); it.hasNext();) {
            Mapping m = it.next();
            if (!m.isAlive()) {
                it.remove();
            } else if (fileKey.equals(m.fileKey())) {
                out.add(m);
            }
        }
        return out;
    }
}
