package dev.panbuf.arrow;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON metadata of {@code arrow.fixed_shape_tensor}
 * ({@code {"shape":[2,3],"dim_names":[...],"permutation":[...]}}): a small
 * strict JSON reader, enough to find the two integer arrays panbuf needs and
 * to refuse anything malformed with the position of the problem.
 */
final class TensorMetadata {

    private final String text;
    private int at;

    private TensorMetadata(String text) {
        this.text = text;
    }

    /** The "shape" array; refused when missing or not integers. */
    static long[] shape(String json) {
        long[] shape = integers(json, "shape");
        if (shape == null) {
            throw new ArrowImport.Refusal("arrow.fixed_shape_tensor metadata " + quote(json) + " has no \"shape\"", true);
        }
        return shape;
    }

    /** The "permutation" array, or null when absent. */
    static long[] permutation(String json) {
        return integers(json, "permutation");
    }

    private static long[] integers(String json, String key) {
        Object top = new TensorMetadata(json).document();
        if (!(top instanceof Map<?, ?> map)) {
            throw new ArrowImport.Refusal("arrow.fixed_shape_tensor metadata " + quote(json) + " is not a JSON object", true);
        }
        Object value = map.get(key);
        if (value == null) {
            return null;
        }
        if (!(value instanceof List<?> list)) {
            throw new ArrowImport.Refusal("arrow.fixed_shape_tensor metadata " + quote(json) + ": \"" + key
                    + "\" is not an array", true);
        }
        long[] out = new long[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Long n)) {
                throw new ArrowImport.Refusal("arrow.fixed_shape_tensor metadata " + quote(json) + ": \"" + key
                        + "\" holds " + list.get(i) + ", not an integer", true);
            }
            out[i] = n;
        }
        return out;
    }

    private static String quote(String json) {
        String s = json.length() > 200 ? json.substring(0, 200) + "..." : json;
        return "'" + ArrowImport.printable(s).replace("\\u0022", "\"") + "'";
    }

    private Object document() {
        Object v = value(0);
        skipSpace();
        if (at != text.length()) {
            throw error("trailing characters");
        }
        return v;
    }

    private ArrowImport.Refusal error(String what) {
        return new ArrowImport.Refusal("arrow.fixed_shape_tensor metadata " + quote(text) + " is not valid JSON: " + what
                + " at character " + at, true);
    }

    private void skipSpace() {
        while (at < text.length() && " \t\r\n".indexOf(text.charAt(at)) >= 0) {
            at++;
        }
    }

    private Object value(int depth) {
        if (depth > 16) {
            throw error("nesting deeper than 16");
        }
        skipSpace();
        if (at >= text.length()) {
            throw error("unexpected end");
        }
        char c = text.charAt(at);
        if (c == '{') {
            at++;
            Map<String, Object> map = new LinkedHashMap<>();
            skipSpace();
            if (at < text.length() && text.charAt(at) == '}') {
                at++;
                return map;
            }
            while (true) {
                skipSpace();
                String key = string();
                skipSpace();
                expect(':');
                map.put(key, value(depth + 1));
                skipSpace();
                if (at < text.length() && text.charAt(at) == ',') {
                    at++;
                    continue;
                }
                expect('}');
                return map;
            }
        }
        if (c == '[') {
            at++;
            List<Object> list = new ArrayList<>();
            skipSpace();
            if (at < text.length() && text.charAt(at) == ']') {
                at++;
                return list;
            }
            while (true) {
                list.add(value(depth + 1));
                skipSpace();
                if (at < text.length() && text.charAt(at) == ',') {
                    at++;
                    continue;
                }
                expect(']');
                return list;
            }
        }
        if (c == '"') {
            return string();
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            int start = at;
            at++;
            while (at < text.length() && "0123456789.eE+-".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
            String number = text.substring(start, at);
            try {
                return Long.parseLong(number);
            } catch (NumberFormatException e) {
                try {
                    return Double.parseDouble(number);
                } catch (NumberFormatException e2) {
                    at = start;
                    throw error("bad number " + quote(number));
                }
            }
        }
        for (String word : new String[] {"true", "false", "null"}) {
            if (text.startsWith(word, at)) {
                at += word.length();
                return word;
            }
        }
        throw error("unexpected character '" + ArrowImport.printable(String.valueOf(c)) + "'");
    }

    private void expect(char c) {
        if (at >= text.length() || text.charAt(at) != c) {
            throw error("expected '" + c + "'");
        }
        at++;
    }

    private String string() {
        expect('"');
        StringBuilder b = new StringBuilder();
        while (at < text.length()) {
            char c = text.charAt(at++);
            if (c == '"') {
                return b.toString();
            }
            if (c == '\\') {
                if (at >= text.length()) {
                    break;
                }
                char e = text.charAt(at++);
                switch (e) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'r' -> b.append('\r');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'u' -> {
                        if (at + 4 > text.length()) {
                            throw error("short \\u escape");
                        }
                        try {
                            b.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                        } catch (NumberFormatException ex) {
                            throw error("bad \\u escape");
                        }
                        at += 4;
                    }
                    default -> b.append(e);
                }
            } else {
                b.append(c);
            }
        }
        throw error("unterminated string");
    }
}
