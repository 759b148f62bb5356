package dev.panbuf.npy;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the Python literal a {@code .npy} header holds, as
 * {@code ast.literal_eval} would, for the part of the syntax that headers
 * use: dicts, lists, tuples (and parentheses), strings (with {@code u},
 * {@code r} and {@code b} prefixes, escapes, triple quotes and implicit
 * concatenation), integers (decimal, {@code 0x}, {@code 0o}, {@code 0b},
 * underscores, a sign; and Python 2's {@code L} suffix when the caller
 * allows it, as NumPy does for format versions 1.0 and 2.0), {@code True},
 * {@code False} and {@code None}. Nothing is evaluated.
 *
 * <p>One pass over the text, no backtracking: linear time. Nesting deeper
 * than {@link #MAX_DEPTH} is refused, so the recursion is bounded.
 * Comments, line continuations, floats, sets and expressions are refused
 * (NumPy never writes them).
 */
final class HeaderLiteral {

    /** Deepest nesting of brackets accepted. */
    static final int MAX_DEPTH = 72;

    /** A syntax error at a character index of the text. */
    static final class SyntaxError extends Exception {
        private static final long serialVersionUID = 1L;
        final int index;
        final String reason;

        SyntaxError(int index, String reason) {
            super(reason, null, false, false);
            this.index = index;
            this.reason = reason;
        }
    }

    /** A parsed value and the characters [start, end) it came from. */
    sealed interface Node permits Dict, Seq, Str, Bytes, Int, Const {
        int start();

        int end();

        /** What the value is, for messages ("a list", "the int 3"). */
        String describe();
    }

    record Entry(Node key, Node value) {}

    record Dict(List<Entry> entries, int start, int end) implements Node {
        @Override
        public String describe() {
            return "a dict";
        }
    }

    record Seq(boolean tuple, List<Node> items, int start, int end) implements Node {
        @Override
        public String describe() {
            return tuple ? "a tuple" : "a list";
        }
    }

    record Str(String value, int start, int end) implements Node {
        @Override
        public String describe() {
            return "the str '" + value + "'";
        }
    }

    record Bytes(int start, int end) implements Node {
        @Override
        public String describe() {
            return "a bytes literal";
        }
    }

    record Int(BigInteger value, int start, int end) implements Node {
        @Override
        public String describe() {
            return "the int " + value;
        }
    }

    record Const(String name, int start, int end) implements Node {
        @Override
        public String describe() {
            return name;
        }
    }

    private final String s;
    private final boolean longSuffix;
    private int i;

    private HeaderLiteral(String text, boolean longSuffix) {
        this.s = text;
        this.longSuffix = longSuffix;
    }

    /**
     * Parses the whole text as one literal; whitespace (spaces, tabs, newlines)
     * may surround it.
     *
     * @param longSuffix accept Python 2's {@code 123L} integers
     */
    static Node parse(String text, boolean longSuffix) throws SyntaxError {
        HeaderLiteral p = new HeaderLiteral(text, longSuffix);
        p.skipSpace();
        if (p.i == text.length()) {
            throw new SyntaxError(p.i, "the header is empty (expected a dict literal)");
        }
        Node n = p.value(0);
        p.skipSpace();
        if (p.i < text.length()) {
            throw new SyntaxError(p.i, "unexpected " + p.charName(p.i) + " after the end of the literal");
        }
        return n;
    }

    private Node value(int depth) throws SyntaxError {
        if (depth > MAX_DEPTH) {
            throw new SyntaxError(i, "literal nested deeper than " + MAX_DEPTH + " levels");
        }
        if (i >= s.length()) {
            throw new SyntaxError(i, "unexpected end of the header (expected a value)");
        }
        char c = s.charAt(i);
        switch (c) {
            case '{':
                return dict(depth);
            case '[':
                return seq(depth, ']', false);
            case '(':
                return seq(depth, ')', true);
            case '\'':
            case '"':
                return strings();
            case '-':
            case '+':
                return signed();
            default:
                break;
        }
        if (c >= '0' && c <= '9') {
            return integer(i, false);
        }
        if (isNameStart(c)) {
            int start = i;
            while (i < s.length() && isNameChar(s.charAt(i))) {
                i++;
            }
            String word = s.substring(start, i);
            if (i < s.length() && (s.charAt(i) == '\'' || s.charAt(i) == '"') && isStringPrefix(word)) {
                i = start;
                return strings();
            }
            return switch (word) {
                case "True", "False", "None" -> new Const(word, start, i);
                default -> throw new SyntaxError(start, "unexpected name '" + word + "' (only True, False and None"
                        + " may appear unquoted)");
            };
        }
        throw new SyntaxError(i, "unexpected " + charName(i) + " (expected a value)");
    }

    private Dict dict(int depth) throws SyntaxError {
        int start = i++;
        List<Entry> entries = new ArrayList<>();
        skipSpace();
        while (true) {
            if (i >= s.length()) {
                throw new SyntaxError(i, "unexpected end of the header inside the dict opened at character " + start);
            }
            if (s.charAt(i) == '}') {
                i++;
                return new Dict(entries, start, i);
            }
            Node key = value(depth + 1);
            skipSpace();
            expect(':', "after a dict key");
            skipSpace();
            Node val = value(depth + 1);
            entries.add(new Entry(key, val));
            skipSpace();
            if (i < s.length() && s.charAt(i) == ',') {
                i++;
                skipSpace();
            } else if (i < s.length() && s.charAt(i) != '}') {
                throw new SyntaxError(i, "unexpected " + charName(i) + " in a dict (expected ',' or '}')");
            }
        }
    }

    private Node seq(int depth, char close, boolean tuple) throws SyntaxError {
        int start = i++;
        List<Node> items = new ArrayList<>();
        boolean comma = false;
        skipSpace();
        while (true) {
            if (i >= s.length()) {
                throw new SyntaxError(i, "unexpected end of the header inside the " + (tuple ? "tuple" : "list")
                        + " opened at character " + start);
            }
            if (s.charAt(i) == close) {
                i++;
                if (tuple && items.size() == 1 && !comma) {
                    return items.get(0);   // (x) is x, as in Python
                }
                return new Seq(tuple, items, start, i);
            }
            items.add(value(depth + 1));
            skipSpace();
            comma = false;
            if (i < s.length() && s.charAt(i) == ',') {
                comma = true;
                i++;
                skipSpace();
            } else if (i < s.length() && s.charAt(i) != close) {
                throw new SyntaxError(i, "unexpected " + charName(i) + " in a " + (tuple ? "tuple" : "list")
                        + " (expected ',' or '" + close + "')");
            }
        }
    }

    private Int signed() throws SyntaxError {
        int start = i;
        boolean negative = false;
        while (i < s.length() && (s.charAt(i) == '-' || s.charAt(i) == '+')) {
            negative ^= s.charAt(i) == '-';
            i++;
            skipSpace();
        }
        if (i >= s.length() || s.charAt(i) < '0' || s.charAt(i) > '9') {
            throw new SyntaxError(i, "expected digits after the sign at character " + start);
        }
        Int magnitude = integer(start, negative);
        return magnitude;
    }

    private Int integer(int start, boolean negative) throws SyntaxError {
        int digitsAt = i;
        int radix = 10;
        if (s.charAt(i) == '0' && i + 1 < s.length()) {
            char p = Character.toLowerCase(s.charAt(i + 1));
            radix = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
            if (radix != 10) {
                i += 2;
                if (i < s.length() && s.charAt(i) == '_') {
                    i++;   // 0x_ff is valid Python
                }
            }
        }
        StringBuilder digits = new StringBuilder();
        boolean lastUnderscore = false;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '_') {
                if (lastUnderscore || digits.isEmpty()) {
                    throw new SyntaxError(i, "misplaced '_' in an integer");
                }
                lastUnderscore = true;
                i++;
                continue;
            }
            if (Character.digit(c, radix) < 0 || c > 0x7f) {
                break;
            }
            digits.append(c);
            lastUnderscore = false;
            i++;
        }
        if (digits.isEmpty() || lastUnderscore) {
            throw new SyntaxError(i, "malformed integer starting at character " + digitsAt);
        }
        if (radix == 10 && digits.length() > 1 && digits.charAt(0) == '0' && !digits.toString().chars().allMatch(c -> c == '0')) {
            throw new SyntaxError(digitsAt, "leading zeros in a decimal integer are not allowed in Python 3");
        }
        if (longSuffix && i < s.length() && (s.charAt(i) == 'L' || s.charAt(i) == 'l')) {
            i++;
        }
        if (i < s.length() && (isNameChar(s.charAt(i)) || s.charAt(i) == '.')) {
            throw new SyntaxError(i, "unexpected " + charName(i) + " in a number (only integers may appear here)");
        }
        BigInteger v = new BigInteger(digits.toString(), radix);
        return new Int(negative ? v.negate() : v, start, i);
    }

    /** One or more adjacent string literals, concatenated. */
    private Node strings() throws SyntaxError {
        int start = i;
        StringBuilder value = new StringBuilder();
        Boolean bytes = null;
        while (true) {
            int litStart = i;
            int p = i;
            boolean raw = false;
            boolean isBytes = false;
            while (p < s.length() && isNameChar(s.charAt(p))) {
                char c = Character.toLowerCase(s.charAt(p));
                raw |= c == 'r';
                isBytes |= c == 'b';
                p++;
            }
            if (p > i && !isStringPrefix(s.substring(i, p))) {
                break;
            }
            if (p >= s.length() || (s.charAt(p) != '\'' && s.charAt(p) != '"')) {
                break;
            }
            if (bytes != null && bytes != isBytes) {
                throw new SyntaxError(litStart, "cannot mix bytes and str literals");
            }
            bytes = isBytes;
            i = p;
            stringBody(raw, value);
            int afterLiteral = i;
            skipSpace();
            if (i >= s.length() || !(s.charAt(i) == '\'' || s.charAt(i) == '"' || isNameStart(s.charAt(i)))) {
                i = afterLiteral;
                break;
            }
            if (isNameStart(s.charAt(i))) {
                int q = i;
                while (q < s.length() && isNameChar(s.charAt(q))) {
                    q++;
                }
                if (q >= s.length() || (s.charAt(q) != '\'' && s.charAt(q) != '"') || !isStringPrefix(s.substring(i, q))) {
                    i = afterLiteral;
                    break;
                }
            }
        }
        if (bytes == null) {
            throw new SyntaxError(start, "malformed string literal");
        }
        return bytes ? new Bytes(start, i) : new Str(value.toString(), start, i);
    }

    private void stringBody(boolean raw, StringBuilder out) throws SyntaxError {
        char quote = s.charAt(i);
        int open = i;
        boolean triple = s.startsWith("" + quote + quote + quote, i);
        i += triple ? 3 : 1;
        while (true) {
            if (i >= s.length()) {
                throw new SyntaxError(open, "unterminated string literal");
            }
            char c = s.charAt(i);
            if (c == quote && (!triple || s.startsWith("" + quote + quote + quote, i))) {
                i += triple ? 3 : 1;
                return;
            }
            if ((c == '\n' || c == '\r') && !triple) {
                throw new SyntaxError(i, "unterminated string literal (a line break inside quotes)");
            }
            if (c != '\\') {
                out.append(c);
                i++;
                continue;
            }
            if (i + 1 >= s.length()) {
                throw new SyntaxError(open, "unterminated string literal");
            }
            char e = s.charAt(i + 1);
            if (raw) {
                out.append(c).append(e);   // raw strings keep the backslash (and it cannot end the string)
                i += 2;
                continue;
            }
            i += 2;
            switch (e) {
                case '\n' -> { }
                case '\\' -> out.append('\\');
                case '\'' -> out.append('\'');
                case '"' -> out.append('"');
                case 'a' -> out.append('\u0007');
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'v' -> out.append('\u000b');
                case 'x' -> out.appendCodePoint(hex(2));
                case 'u' -> out.appendCodePoint(hex(4));
                case 'U' -> {
                    int cp = hex(8);
                    // Eight hex digits can exceed an int: 0xffffffff arrives as -1.
                    if (cp < 0 || cp > Character.MAX_CODE_POINT) {
                        throw new SyntaxError(i - 10, "\\U escape beyond U+10FFFF");
                    }
                    out.appendCodePoint(cp);
                }
                case 'N' -> throw new SyntaxError(i - 2, "\\N{...} escapes are not supported in a .npy header");
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        for (int k = 0; k < 2 && i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '7'; k++) {
                            v = v * 8 + (s.charAt(i++) - '0');
                        }
                        out.appendCodePoint(v);
                    } else {
                        out.append('\\').append(e);   // Python keeps unknown escapes as they are
                    }
                }
            }
        }
    }

    private int hex(int count) throws SyntaxError {
        if (i + count > s.length()) {
            throw new SyntaxError(i - 2, "truncated \\x, \\u or \\U escape");
        }
        int v = 0;
        for (int k = 0; k < count; k++) {
            int d = Character.digit(s.charAt(i + k), 16);
            if (d < 0 || s.charAt(i + k) > 0x7f) {
                throw new SyntaxError(i + k, "bad hex digit in an escape");
            }
            v = v * 16 + d;
        }
        i += count;
        return v;
    }

    private void expect(char c, String where) throws SyntaxError {
        if (i >= s.length()) {
            throw new SyntaxError(i, "unexpected end of the header (expected '" + c + "' " + where + ")");
        }
        if (s.charAt(i) != c) {
            throw new SyntaxError(i, "unexpected " + charName(i) + " (expected '" + c + "' " + where + ")");
        }
        i++;
    }

    private void skipSpace() throws SyntaxError {
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
                i++;
            } else if (c == '#') {
                throw new SyntaxError(i, "comments are not allowed in a .npy header");
            } else if (c == '\\') {
                throw new SyntaxError(i, "line continuations are not allowed in a .npy header");
            } else {
                return;
            }
        }
    }

    private String charName(int at) {
        char c = s.charAt(at);
        if (c >= 0x20 && c < 0x7f) {
            return "'" + c + "'";
        }
        return String.format("character U+%04X", (int) c);
    }

    private static boolean isNameStart(char c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_';
    }

    private static boolean isNameChar(char c) {
        return isNameStart(c) || c >= '0' && c <= '9';
    }

    private static boolean isStringPrefix(String p) {
        return switch (p.toLowerCase(java.util.Locale.ROOT)) {
            case "", "r", "u", "b", "br", "rb" -> true;
            default -> false;
        };
    }
}
