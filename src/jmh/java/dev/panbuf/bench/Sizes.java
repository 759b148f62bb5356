package dev.panbuf.bench;

/** Sizes written as benchmark parameters: {@code 64B}, {@code 4KiB}, {@code 64MiB}, {@code 1GiB}, or a plain number. */
final class Sizes {

    private Sizes() {}

    static long bytes(String size) {
        String s = size.strip();
        long unit = 1;
        String number = s;
        for (String[] suffix : new String[][] {{"GiB", "1073741824"}, {"MiB", "1048576"}, {"KiB", "1024"}, {"B", "1"}}) {
            if (s.endsWith(suffix[0])) {
                unit = Long.parseLong(suffix[1]);
                number = s.substring(0, s.length() - suffix[0].length());
                break;
            }
        }
        return Math.multiplyExact(Long.parseLong(number.strip()), unit);
    }

    /** {@link #bytes} as a Java array length for elements of {@code itemSize} bytes. */
    static int elements(String size, int itemSize) {
        return Math.toIntExact(bytes(size) / itemSize);
    }
}
