package dev.panbuf.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** What the report says about the machine: CPU, caches, memory, OS, JDK, C compiler, load. */
final class Machine {

    private Machine() {}

    static String cpuModel() {
        return lines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse(System.getProperty("os.arch"));
    }

    static int cores() {
        return Runtime.getRuntime().availableProcessors();
    }

    /** {@code L1d 48K, L2 2048K, L3 260M} from sysfs, per core except the last level. */
    static String caches() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            Path dir = Path.of("/sys/devices/system/cpu/cpu0/cache/index" + i);
            if (!Files.isDirectory(dir)) {
                break;
            }
            String type = first(dir.resolve("type")).orElse("");
            if (type.equals("Instruction")) {
                continue;
            }
            out.add("L" + first(dir.resolve("level")).orElse("?") + (type.equals("Data") ? "d" : "") + " "
                    + size(first(dir.resolve("size")).orElse("?")));
        }
        return String.join(", ", out);
    }

    /** {@code 266240K} as {@code 260 MiB}, {@code 48K} as {@code 48 KiB}. */
    private static String size(String sysfs) {
        if (!sysfs.endsWith("K")) {
            return sysfs;
        }
        long kib = Long.parseLong(sysfs.substring(0, sysfs.length() - 1));
        return kib % 1024 == 0 ? kib / 1024 + " MiB" : kib + " KiB";
    }

    static String memory() {
        return lines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal")).findFirst()
                .map(l -> {
                    long kib = Long.parseLong(l.replaceAll("[^0-9]", ""));
                    return String.format("%.1f GiB", kib / 1048576.0);
                }).orElse("?");
    }

    static String os() {
        return System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch");
    }

    static String jdk() {
        return System.getProperty("java.vm.vendor") + " " + System.getProperty("java.vm.name") + " "
                + System.getProperty("java.runtime.version");
    }

    static String compiler() {
        try {
            Process p = new ProcessBuilder(System.getenv().getOrDefault("CC", "cc"), "--version").redirectErrorStream(true).start();
            String first = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().findFirst().orElse("?");
            p.waitFor();
            return first;
        } catch (IOException e) {
            return "?";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "?";
        }
    }

    /** The 1, 5 and 15 minute load averages: how busy the machine was around the run. */
    static String loadAverage() {
        return first(Path.of("/proc/loadavg")).map(l -> String.join(" ", List.of(l.split(" ")).subList(0, 3))).orElse("?");
    }

    private static Optional<String> first(Path file) {
        return lines(file).stream().findFirst().map(String::strip);
    }

    private static List<String> lines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            return List.of();
        }
    }
}
