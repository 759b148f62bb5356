package dev.panbuf.arrow;

import dev.panbuf.shim.bindings.ArrowArray;
import dev.panbuf.shim.bindings.ArrowSchema;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A foreign Arrow producer written in Java, for tests: builds
 * {@code ArrowSchema} and {@code ArrowArray} structs with any field values
 * (valid or not) in an arena, with release callbacks that count their calls
 * and mark the struct released as the specification asks.
 */
public final class ForeignArrow {

    public static final AtomicInteger ARRAY_RELEASES = new AtomicInteger();
    public static final AtomicInteger SCHEMA_RELEASES = new AtomicInteger();

    private static final MemorySegment ARRAY_RELEASE = ArrowArray.release.allocate(self -> {
        ARRAY_RELEASES.incrementAndGet();
        ArrowArray.release(self.reinterpret(ArrowArray.sizeof()), MemorySegment.NULL);
    }, Arena.global());
    private static final MemorySegment SCHEMA_RELEASE = ArrowSchema.release.allocate(self -> {
        SCHEMA_RELEASES.incrementAndGet();
        ArrowSchema.release(self.reinterpret(ArrowSchema.sizeof()), MemorySegment.NULL);
    }, Arena.global());

    private final Arena arena;

    public ForeignArrow(Arena arena) {
        this.arena = arena;
    }

    public MemorySegment schema(String format, String name, Map<String, String> metadata, MemorySegment... children) {
        MemorySegment s = ArrowSchema.allocate(arena);
        ArrowSchema.format(s, format == null ? MemorySegment.NULL : cString(format));
        ArrowSchema.name(s, name == null ? MemorySegment.NULL : arena.allocateFrom(name));
        ArrowSchema.metadata(s, metadata == null ? MemorySegment.NULL : metadata(metadata));
        ArrowSchema.n_children(s, children.length);
        ArrowSchema.children(s, pointers(children));
        ArrowSchema.release(s, SCHEMA_RELEASE);
        return s;
    }

    /** The format's bytes as they are (ISO-8859-1: one byte per char), NUL-terminated. */
    private MemorySegment cString(String s) {
        byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
        MemorySegment m = arena.allocate(b.length + 1L);
        MemorySegment.copy(b, 0, m, ValueLayout.JAVA_BYTE, 0, b.length);
        return m;
    }

    public MemorySegment metadata(Map<String, String> pairs) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.nio.ByteBuffer four = java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.nativeOrder());
        out.writeBytes(four.putInt(0, pairs.size()).array().clone());
        for (var e : pairs.entrySet()) {
            for (String t : new String[] {e.getKey(), e.getValue()}) {
                byte[] b = t.getBytes(StandardCharsets.UTF_8);
                out.writeBytes(four.putInt(0, b.length).array().clone());
                out.writeBytes(b);
            }
        }
        byte[] all = out.toByteArray();
        MemorySegment m = arena.allocate(all.length);
        MemorySegment.copy(all, 0, m, ValueLayout.JAVA_BYTE, 0, all.length);
        return m;
    }

    public MemorySegment array(long length, long nullCount, long offset, MemorySegment[] buffers, MemorySegment... children) {
        MemorySegment a = ArrowArray.allocate(arena);
        ArrowArray.length(a, length);
        ArrowArray.null_count(a, nullCount);
        ArrowArray.offset(a, offset);
        ArrowArray.n_buffers(a, buffers.length);
        ArrowArray.buffers(a, pointers(buffers));
        ArrowArray.n_children(a, children.length);
        ArrowArray.children(a, pointers(children));
        ArrowArray.release(a, ARRAY_RELEASE);
        return a;
    }

    private MemorySegment pointers(MemorySegment[] items) {
        if (items.length == 0) {
            return MemorySegment.NULL;
        }
        MemorySegment p = arena.allocate(ValueLayout.ADDRESS, items.length);
        for (int i = 0; i < items.length; i++) {
            p.setAtIndex(ValueLayout.ADDRESS, i, items[i] == null ? MemorySegment.NULL : items[i]);
        }
        return p;
    }
}
