package dev.panbuf.shim;

import org.junit.jupiter.api.Test;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.PaddingLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java bindings and the compiled shim agree on the pb_buffer ABI: the
 * generated layout's size and every field offset equal what the C compiler
 * laid out (the shim reports sizeof and offsetof).
 */
class AbiTest {

    /** Field names of the header, in order; the first 11 are Py_buffer's. */
    private static final List<String> FIELDS = List.of("buf", "obj", "len", "itemsize", "readonly", "ndim", "format",
            "shape", "strides", "suboffsets", "internal", "magic", "abi_version", "base", "base_len", "release");

    @Test
    void structSizeMatchesTheCompiledShim() {
        assertEquals(Shim.nativeStructBytes(), Shim.structLayout().byteSize());
        assertEquals(Shim.nativeStructBytes(), Shim.STRUCT_BYTES);
    }

    @Test
    void everyFieldOffsetMatchesTheCompiledShim() {
        GroupLayout layout = Shim.structLayout();
        List<String> named = new ArrayList<>();
        for (MemoryLayout member : layout.memberLayouts()) {
            if (member instanceof PaddingLayout) {
                continue;
            }
            String name = member.name().orElseThrow();
            named.add(name);
            long javaOffset = layout.byteOffset(MemoryLayout.PathElement.groupElement(name));
            assertEquals(Shim.nativeOffsetOf(name), javaOffset, "offset of pb_buffer." + name);
        }
        assertEquals(FIELDS, named, "field order of the generated layout");
    }

    @Test
    void pyBufferPrefixHasCPythonsLp64Offsets() {
        // Py_buffer on LP64: 8-byte pointers and Py_ssize_t, two ints, then pointers.
        long[] expected = {0, 8, 16, 24, 32, 36, 40, 48, 56, 64, 72};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], Shim.nativeOffsetOf(FIELDS.get(i)), "Py_buffer field " + FIELDS.get(i));
        }
        assertEquals(80, Shim.nativeOffsetOf("magic"), "panbuf fields start right after Py_buffer (80 bytes)");
    }

    @Test
    void unknownFieldNameHasNoOffset() {
        assertEquals(-1, Shim.nativeOffsetOf("no_such_field"));
    }

    @Test
    void abiVersionIsPositive() {
        assertTrue(Shim.ABI_VERSION >= 1);
    }
}
