package dev.panbuf.python;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads Native Memory Tracking's "Other" category (where FFM allocations go)
 * in this JVM, through the DiagnosticCommand MBean. By reflection: the test
 * classes are patched into the dev.panbuf module, which does not read
 * java.management.
 */
final class NativeMemory {

    private static final Pattern OTHER = Pattern.compile("-\\s+Other \\(reserved=(\\d+)KB, committed=(\\d+)KB\\)");

    private NativeMemory() {}

    /** Committed bytes of NMT's "Other" category; -1 when NMT is off. */
    static long otherCommittedBytes() throws Exception {
        Class<?> factory = Class.forName("java.lang.management.ManagementFactory");
        Object server = factory.getMethod("getPlatformMBeanServer").invoke(null);
        Class<?> nameClass = Class.forName("javax.management.ObjectName");
        Object name = nameClass.getConstructor(String.class).newInstance("com.sun.management:type=DiagnosticCommand");
        Object text = Class.forName("javax.management.MBeanServerConnection")
                .getMethod("invoke", nameClass, String.class, Object[].class, String[].class)
                .invoke(server, name, "vmNativeMemory", new Object[] {new String[] {"summary"}},
                        new String[] {String[].class.getName()});
        Matcher m = OTHER.matcher(String.valueOf(text));
        return m.find() ? Long.parseLong(m.group(2)) * 1024 : -1;
    }
}
