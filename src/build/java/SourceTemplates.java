import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Expands panbuf's source templates ({@code *.java.template}) into Java
 * sources: the build's way of writing code once per primitive type, as the
 * JDK writes {@code X-Buffer.java.template} once and its {@code Spp}
 * preprocessor makes {@code HeapFloatBuffer}, {@code DirectIntBuffer}, ...
 * Maven runs it in {@code generate-sources}; the output goes under
 * {@code target/generated-sources} and is never committed.
 *
 * <pre>java SourceTemplates.java TEMPLATE_DIR OUTPUT_DIR [TEMPLATE_DIR OUTPUT_DIR ...]</pre>
 *
 * <h2>The template language</h2>
 * A line whose first non-blank characters are {@code #} is a directive; every
 * other line is text, copied with each {@code $name$} replaced by the value of
 * the variable {@code name} ({@code $$} is a literal {@code $}). An unknown
 * variable, a stray {@code #end} or a file that ends inside a block stops the
 * build with the template's name and line.
 * <ul>
 * <li>{@code ## ...} a comment, dropped.</li>
 * <li>{@code #makes PATH name=value ...} one output file (a path below the
 *     output folder) and the variables it is expanded with; a template makes
 *     one file per {@code #makes} line, all before its first text line. So
 *     the template says which files it makes.</li>
 * <li>{@code #table NAME} then {@code #row name=value ...} lines, then
 *     {@code #end}: a list of variable sets.</li>
 * <li>{@code #for NAME} ... {@code #end}: the text between, once per row of
 *     the table, with the row's variables added (they hide outer ones).</li>
 * <li>{@code #if[cond]} ... {@code #else} ... {@code #end}: text kept when
 *     {@code cond} holds. {@code cond} is {@code name=value},
 *     {@code name!=value} (value may list alternatives, {@code a|b}), or a
 *     bare {@code name} (defined, and neither empty nor {@code false}).</li>
 * </ul>
 * Values are single words or double-quoted strings ({@code \"} and
 * {@code \\} escaped). Each generated file opens with a line naming its
 * template, and is written only when its content changes, so that an
 * unchanged template recompiles nothing.
 */
public final class SourceTemplates {

    private SourceTemplates() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length == 0 || args.length % 2 != 0) {
            throw new IllegalArgumentException("usage: java SourceTemplates.java TEMPLATE_DIR OUTPUT_DIR [TEMPLATE_DIR OUTPUT_DIR ...]");
        }
        for (int i = 0; i < args.length; i += 2) {
            expandFolder(Path.of(args[i]), Path.of(args[i + 1]));
        }
    }

    private static void expandFolder(Path templates, Path output) throws IOException {
        if (!Files.isDirectory(templates)) {
            throw new IllegalArgumentException("no template folder " + templates);
        }
        Set<Path> made = new TreeSet<>();
        List<Path> files;
        try (Stream<Path> walk = Files.walk(templates)) {
            files = walk.filter(p -> p.getFileName().toString().endsWith(".java.template")).sorted().toList();
        }
        for (Path template : files) {
            for (Map.Entry<String, String> out : new Template(templates, template).expand().entrySet()) {
                Path target = output.resolve(out.getKey());
                if (!made.add(target)) {
                    throw new IllegalStateException(template + ": " + out.getKey() + " is made by two templates");
                }
                writeIfChanged(target, out.getValue());
            }
        }
        // A file that no template makes any more must not linger and compile.
        if (Files.isDirectory(output)) {
            try (Stream<Path> walk = Files.walk(output)) {
                for (Path old : walk.filter(p -> p.toString().endsWith(".java") && !made.contains(p)).toList()) {
                    Files.delete(old);
                }
            }
        }
    }

    private static void writeIfChanged(Path target, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (Files.exists(target) && java.util.Arrays.equals(Files.readAllBytes(target), bytes)) {
            return;
        }
        Files.createDirectories(target.getParent());
        Files.write(target, bytes);
    }

    /** One template file, parsed into its outputs, tables and body. */
    private static final class Template {
        private final String name;
        private final List<String> lines;
        private final Map<String, Map<String, String>> makes = new LinkedHashMap<>();
        private final Map<String, List<Map<String, String>>> tables = new HashMap<>();
        private int bodyStart;

        Template(Path root, Path file) {
            // Named from the project folder (Maven's working directory) when it lies below it.
            Path cwd = Path.of("").toAbsolutePath();
            Path absolute = file.toAbsolutePath().normalize();
            this.name = (absolute.startsWith(cwd) ? cwd.relativize(absolute) : root.relativize(file)).toString();
            try {
                this.lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            readHeader();
        }

        /** The {@code #makes} lines (and comments) before the first other line. */
        private void readHeader() {
            int i = 0;
            for (; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.startsWith("##") || line.isEmpty()) {
                    continue;
                }
                if (!line.startsWith("#makes ")) {
                    break;
                }
                List<String> words = words(line.substring("#makes ".length()), i);
                if (words.isEmpty()) {
                    throw error(i, "#makes needs a path");
                }
                makes.put(words.get(0), assignments(words.subList(1, words.size()), i));
            }
            if (makes.isEmpty()) {
                throw error(0, "a template opens with at least one '#makes PATH name=value ...' line");
            }
            bodyStart = i;
        }

        Map<String, String> expand() {
            Map<String, String> out = new LinkedHashMap<>();
            for (Map.Entry<String, Map<String, String>> make : makes.entrySet()) {
                StringBuilder text = new StringBuilder();
                text.append("// Generated from ").append(name).append(" by SourceTemplates (src/build/java):")
                        .append(" edit the template, not this file.\n");
                Map<String, String> vars = new HashMap<>(make.getValue());
                vars.put("template", name);
                int end = block(bodyStart, vars, true, text, false);
                if (end != lines.size()) {
                    throw error(end, "#end without a block to close");
                }
                out.put(make.getKey(), text.toString());
            }
            return out;
        }

        /**
         * Expands lines from {@code from} until the {@code #end} or {@code #else}
         * closing this block (or the file's end at top level); returns the index
         * of that closing line. Nothing is written when {@code emit} is false, but
         * the lines are still parsed, so that a mistake shows whatever the variables.
         */
        private int block(int from, Map<String, String> vars, boolean emit, StringBuilder out, boolean nested) {
            int i = from;
            while (i < lines.size()) {
                String raw = lines.get(i);
                String line = raw.strip();
                if (!line.startsWith("#")) {
                    if (emit) {
                        out.append(substitute(raw, vars, i)).append('\n');
                    }
                    i++;
                } else if (line.startsWith("##")) {
                    i++;
                } else if (line.equals("#end") || line.equals("#else")) {
                    if (!nested) {
                        throw error(i, line + " without a block to close");
                    }
                    return i;
                } else if (line.startsWith("#if[") && line.endsWith("]")) {
                    boolean holds = emit && holds(line.substring(4, line.length() - 1), vars, i);
                    int close = block(i + 1, vars, holds, out, true);
                    if (lines.get(close).strip().equals("#else")) {
                        close = block(close + 1, vars, emit && !holds, out, true);
                        if (!lines.get(close).strip().equals("#end")) {
                            throw error(close, "a second #else");
                        }
                    }
                    i = close + 1;
                } else if (line.startsWith("#for ")) {
                    String table = line.substring("#for ".length()).strip();
                    List<Map<String, String>> rows = tables.get(table);
                    if (rows == null) {
                        throw error(i, "no #table " + table + " above this line");
                    }
                    int close = -1;
                    for (Map<String, String> row : rows) {
                        Map<String, String> inner = new HashMap<>(vars);
                        inner.putAll(row);
                        close = block(i + 1, inner, emit, out, true);
                    }
                    if (rows.isEmpty()) {
                        close = block(i + 1, vars, false, out, true);
                    }
                    if (!lines.get(close).strip().equals("#end")) {
                        throw error(close, "#else inside #for");
                    }
                    i = close + 1;
                } else if (line.startsWith("#table ")) {
                    i = table(i);
                } else {
                    throw error(i, "unknown directive " + line);
                }
            }
            if (nested) {
                throw error(from - 1, "block not closed by #end before the end of the file");
            }
            return i;
        }

        private int table(int at) {
            String tableName = lines.get(at).strip().substring("#table ".length()).strip();
            List<Map<String, String>> rows = new ArrayList<>();
            int i = at + 1;
            for (; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.equals("#end")) {
                    tables.put(tableName, rows);
                    return i + 1;
                }
                if (line.startsWith("#row ")) {
                    rows.add(assignments(words(line.substring("#row ".length()), i), i));
                } else if (!line.startsWith("##") && !line.isEmpty()) {
                    throw error(i, "a #table holds only #row lines");
                }
            }
            throw error(at, "#table " + tableName + " not closed by #end");
        }

        private boolean holds(String cond, Map<String, String> vars, int at) {
            int ne = cond.indexOf("!=");
            int eq = cond.indexOf('=');
            if (eq < 0) {
                String value = value(cond.strip(), vars, at);
                return !value.isEmpty() && !value.equals("false");
            }
            boolean negate = ne >= 0 && ne + 1 == eq;
            String key = cond.substring(0, negate ? ne : eq).strip();
            String value = value(key, vars, at);
            boolean any = false;
            for (String alternative : cond.substring(eq + 1).split("\\|", -1)) {
                any |= alternative.strip().equals(value);
            }
            return any != negate;
        }

        private String value(String key, Map<String, String> vars, int at) {
            String value = vars.get(key);
            if (value == null) {
                throw error(at, "unknown variable " + key + " (known here: " + new TreeSet<>(vars.keySet()) + ")");
            }
            return value;
        }

        private String substitute(String text, Map<String, String> vars, int at) {
            StringBuilder out = new StringBuilder(text.length());
            int i = 0;
            while (i < text.length()) {
                char c = text.charAt(i);
                if (c != '$') {
                    out.append(c);
                    i++;
                    continue;
                }
                int close = text.indexOf('$', i + 1);
                if (close < 0) {
                    throw error(at, "a lone $ (write $$ for a literal one)");
                }
                if (close == i + 1) {
                    out.append('$');
                } else {
                    out.append(value(text.substring(i + 1, close), vars, at));
                }
                i = close + 1;
            }
            return out.toString();
        }

        private Map<String, String> assignments(List<String> words, int at) {
            Map<String, String> vars = new LinkedHashMap<>();
            for (String word : words) {
                int eq = word.indexOf('=');
                if (eq <= 0) {
                    throw error(at, "expected name=value, got " + word);
                }
                vars.put(word.substring(0, eq), word.substring(eq + 1));
            }
            return vars;
        }

        /** Splits on blanks; a double-quoted part keeps its blanks ({@code name="a b"} is one word, {@code name=a b}). */
        private List<String> words(String text, int at) {
            List<String> words = new ArrayList<>();
            StringBuilder word = new StringBuilder();
            boolean quoted = false;
            boolean any = false;
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (quoted && c == '\\' && i + 1 < text.length()) {
                    word.append(text.charAt(++i));
                } else if (c == '"') {
                    quoted = !quoted;
                    any = true;
                } else if (!quoted && Character.isWhitespace(c)) {
                    if (any) {
                        words.add(word.toString());
                        word.setLength(0);
                        any = false;
                    }
                } else {
                    word.append(c);
                    any = true;
                }
            }
            if (quoted) {
                throw error(at, "unclosed \"");
            }
            if (any) {
                words.add(word.toString());
            }
            return words;
        }

        private IllegalStateException error(int line, String message) {
            return new IllegalStateException(name + ":" + (line + 1) + ": " + message);
        }
    }
}
