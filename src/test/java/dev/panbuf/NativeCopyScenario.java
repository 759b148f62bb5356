package dev.panbuf;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;

/**
 * Child JVM for {@link NativeCopyTest}: one large transposed copy between
 * native memories, then prints whether the C kernel was on, how many copies
 * it made and whether the result is the transpose.
 */
final class NativeCopyScenario {

    private NativeCopyScenario() {}

    public static void main(String[] args) {
        try (Arena arena = Arena.ofConfined()) {
            NdArray a = NdArray.allocate(arena, DType.FLOAT32, 300, 200);   // 234 KiB
            for (long i = 0; i < 300 * 200; i++) {
                a.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
            }
            NdArray out = NdArray.allocate(arena, DType.FLOAT32, 200, 300);
            a.transpose().copyTo(out);
            boolean equal = true;
            for (int i = 0; i < 300; i++) {
                for (int j = 0; j < 200; j++) {
                    equal &= a.getFloat(i, j) == out.getFloat(j, i);
                }
            }
            System.out.println("kernel=" + Copier.nativeKernelEnabled() + " copies=" + Copier.NATIVE_COPIES.sum()
                    + " equal=" + equal);
        }
    }
}
