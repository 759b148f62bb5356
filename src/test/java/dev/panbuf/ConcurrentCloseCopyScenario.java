package dev.panbuf;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Child JVM for {@link NativeCopyTest#closingASharedArenaDuringKernelCopiesNeverFreesMemoryUnderC}:
 * one thread copies a 4 MiB transpose through the C kernel again and again
 * while another closes the shared arena that holds both arrays, at a random
 * moment, retrying while the close is refused. Every copy must be complete
 * and right or throw because the arena closed; every refused close must
 * leave the arena open; nothing may crash. Prints a summary line.
 */
final class ConcurrentCloseCopyScenario {

    private ConcurrentCloseCopyScenario() {}

    public static void main(String[] args) throws Exception {
        Random random = new Random(Long.parseLong(args[0]));
        int rounds = Integer.parseInt(args[1]);
        long copies = 0;
        long refusedCloses = 0;
        long wrong = 0;
        for (int round = 0; round < rounds; round++) {
            Arena arena = round % 2 == 0 ? Arena.ofShared() : BufferArena.ofShared();
            NdArray src = NdArray.allocate(arena, DType.FLOAT32, 1024, 1024);
            for (long i = 0; i < 1024 * 1024; i++) {
                src.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, i);
            }
            NdArray dst = NdArray.allocate(arena, DType.FLOAT32, 1024, 1024);
            long before = Copier.NATIVE_COPIES.sum();
            AtomicReference<Throwable> ended = new AtomicReference<>();
            long[] done = new long[2];
            Thread copier = new Thread(() -> {
                try {
                    while (true) {
                        src.transpose().copyTo(dst);
                        done[0]++;
                        int r = (int) (done[0] * 7919 % 1024);
                        int c = (int) (done[0] * 104729 % 1024);
                        if (dst.getFloat(c, r) != src.getFloat(r, c)) {
                            done[1]++;
                        }
                    }
                } catch (Throwable t) {
                    ended.set(t);
                }
            });
            copier.start();
            Thread.sleep(random.nextInt(20));
            while (true) {
                try {
                    arena.close();
                    break;
                } catch (IllegalStateException refused) {
                    refusedCloses++;   // a downcall holds the memory: still open, nothing freed
                    src.getFloat(0, 0);   // and still readable
                    Thread.onSpinWait();
                }
            }
            copier.join();
            Throwable t = ended.get();
            if (!(t instanceof IllegalStateException) || !String.valueOf(t.getMessage()).contains("lready closed")) {
                System.out.println("round " + round + ": the copier ended with " + t);
                t.printStackTrace(System.out);
            }
            copies += done[0];
            wrong += done[1];
            if (done[0] > 0 && Copier.NATIVE_COPIES.sum() == before) {
                System.out.println("round " + round + ": no copy went through the kernel");
            }
        }
        System.err.println("copies " + copies + ", closes refused while a copy ran in C " + refusedCloses);
        System.out.println("rounds=" + rounds + " wrong=" + wrong + " copies>0=" + (copies > 0) + " refusedCloses>=0="
                + (refusedCloses >= 0));
    }
}
