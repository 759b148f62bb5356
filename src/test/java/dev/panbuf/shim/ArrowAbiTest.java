package dev.panbuf.shim;

import org.junit.jupiter.api.Test;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.PaddingLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The jextract layouts of the Arrow C data interface structs agree with the
 * compiled shim (sizeof and every offsetof), and both with the specification's
 * field order.
 */
class ArrowAbiTest {

    private static final Map<String, List<String>> FIELDS = Map.of(
            "ArrowSchema", List.of("format", "name", "metadata", "flags", "n_children", "children", "dictionary",
                    "release", "private_data"),
            "ArrowArray", List.of("length", "null_count", "offset", "n_buffers", "n_children", "buffers", "children",
                    "dictionary", "release", "private_data"),
            "ArrowArrayStream", List.of("get_schema", "get_next", "get_last_error", "release", "private_data"));

    @Test
    void everyArrowStructMatchesTheCompiledShim() {
        for (var entry : FIELDS.entrySet()) {
            String type = entry.getKey();
            GroupLayout layout = ArrowShim.layout(type);
            assertEquals(ArrowShim.nativeSizeOf(type), layout.byteSize(), "sizeof " + type);
            List<String> named = new ArrayList<>();
            for (MemoryLayout member : layout.memberLayouts()) {
                if (member instanceof PaddingLayout) {
                    continue;
                }
                String name = member.name().orElseThrow();
                named.add(name);
                assertEquals(ArrowShim.nativeOffsetOf(type, name),
                        layout.byteOffset(MemoryLayout.PathElement.groupElement(name)), type + "." + name);
            }
            assertEquals(entry.getValue(), named, "field order of " + type);
        }
    }

    @Test
    void specificationSizesOnLp64() {
        assertEquals(72, ArrowShim.SCHEMA_BYTES);
        assertEquals(80, ArrowShim.ARRAY_BYTES);
        assertEquals(40, ArrowShim.STREAM_BYTES);
        assertEquals(-1, ArrowShim.nativeSizeOf("ArrowDeviceArray"));
        assertEquals(-1, ArrowShim.nativeOffsetOf("ArrowArray", "no_such_field"));
    }
}
