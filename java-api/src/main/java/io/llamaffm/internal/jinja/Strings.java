package io.llamaffm.internal.jinja;

import io.llamaffm.internal.jinja.Py.Callable;
import io.llamaffm.internal.jinja.Py.Undefined;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Python's {@code str} methods and the string helpers of Jinja2's filters. What they create is charged to the render's
 * {@link Budget} ({@link Budget#string}); those whose result can be much longer than their input (padding to a width,
 * replacing, joining, indenting, formatting) check the result's length before they build it.
 */
final class Strings {
    private Strings() {}

    private static Budget budget() {
        return Budget.current();
    }

    private static String created(String s) {
        return budget().string(s);
    }

    /** A list of the parts {@link #cut} from a string: the list charged (its parts were, as they were cut). */
    private static List<Object> createdStrings(List<Object> parts) {
        return budget().list(parts);
    }

    /** Adds a part cut from a string, charged as it is made: a split into millions of parts stops at the budget. */
    private static void cut(List<? super String> out, String part, Budget budget) {
        budget.strings(1, part.length());
        budget.length(out.size() + 1L);
        out.add(part);
    }

    /** Python's str.isspace() characters. */
    static boolean isSpace(int cp) {
        return Character.isWhitespace(cp) || Character.isSpaceChar(cp) || cp == 0x85 || cp == 0x1c || cp == 0x1d
                || cp == 0x1e || cp == 0x1f;
    }

    /** The bound method {@code s.name}, or null when str has no such method. */
    static Callable method(String s, String name) {
        return switch (name) {
            case "strip" -> (a, kw) -> strip(s, Builtins.arg(a, kw, 0, "chars", null), true, true);
            case "lstrip" -> (a, kw) -> strip(s, Builtins.arg(a, kw, 0, "chars", null), true, false);
            case "rstrip" -> (a, kw) -> strip(s, Builtins.arg(a, kw, 0, "chars", null), false, true);
            case "split" -> (a, kw) -> createdStrings(split(s, Builtins.arg(a, kw, 0, "sep", null), maxsplit(a, kw)));
            case "rsplit" -> (a, kw) -> createdStrings(rsplit(s, Builtins.arg(a, kw, 0, "sep", null), maxsplit(a, kw)));
            case "splitlines" -> (a, kw) -> createdStrings(splitlines(s, Py.truthy(Builtins.arg(a, kw, 0, "keepends", false))));
            case "startswith" -> (a, kw) -> affix(s, a.getFirst(), true);
            case "endswith" -> (a, kw) -> affix(s, a.getFirst(), false);
            case "upper" -> (a, kw) -> created(upper(s));
            case "lower", "casefold" -> (a, kw) -> created(lower(s));
            case "title" -> (a, kw) -> created(title(perCodePoint(s)));
            case "capitalize" -> (a, kw) -> created(capitalize(s));
            case "swapcase" -> (a, kw) -> created(swapcase(perCodePoint(s)));
            case "replace" -> (a, kw) -> replace(s, str(a, 0), str(a, 1), Builtins.arg(a, kw, 2, "count", null));
            case "find" -> (a, kw) -> (long) codePointIndex(s, scanned(s).indexOf(str(a, 0)));
            case "rfind" -> (a, kw) -> (long) codePointIndex(s, scanned(s).lastIndexOf(str(a, 0)));
            case "index", "rindex" -> (a, kw) -> {
                int at = name.equals("index") ? scanned(s).indexOf(str(a, 0)) : scanned(s).lastIndexOf(str(a, 0));
                if (at < 0) {
                    throw JinjaException.render("substring not found");
                }
                return (long) codePointIndex(s, at);
            };
            case "count" -> (a, kw) -> count(scanned(s), str(a, 0));
            case "join" -> (a, kw) -> {
                List<Object> items = Py.iterate(a.getFirst());
                long length = (long) s.length() * Math.max(0, items.size() - 1);
                for (int k = 0; k < items.size(); k++) {
                    if (!(items.get(k) instanceof String item)) {
                        throw JinjaException.render("sequence item " + k + ": expected str instance, "
                                + Py.typeName(items.get(k)) + " found");
                    }
                    length += item.length();
                }
                budget().length(length);
                StringBuilder sb = new StringBuilder((int) length);
                for (int k = 0; k < items.size(); k++) {
                    sb.append(k == 0 ? "" : s).append((String) items.get(k));
                }
                return created(sb.toString());
            };
            case "format" -> (a, kw) -> created(format(s, a, kw));
            case "isdigit", "isnumeric", "isdecimal" -> (a, kw) -> !s.isEmpty() && perCodePoint(s).codePoints().allMatch(Character::isDigit);
            case "isalpha" -> (a, kw) -> !s.isEmpty() && perCodePoint(s).codePoints().allMatch(Character::isLetter);
            case "isalnum" -> (a, kw) -> !s.isEmpty() && perCodePoint(s).codePoints().allMatch(Character::isLetterOrDigit);
            case "isspace" -> (a, kw) -> !s.isEmpty() && perCodePoint(s).codePoints().allMatch(Strings::isSpace);
            case "islower" -> (a, kw) -> perCodePoint(s).codePoints().anyMatch(Character::isLowerCase) && s.equals(created(lower(s)));
            case "isupper" -> (a, kw) -> perCodePoint(s).codePoints().anyMatch(Character::isUpperCase) && s.equals(created(upper(s)));
            case "zfill" -> (a, kw) -> created(zfill(s, Py.asLong(a.getFirst())));
            case "center" -> (a, kw) -> center(s, Py.asLong(a.getFirst()), a.size() > 1 ? str(a, 1) : " ");
            case "ljust", "rjust" -> (a, kw) -> {
                String fill = a.size() > 1 ? str(a, 1) : " ";
                int pad = padding(s, Py.asLong(a.getFirst()), fill);
                return created(name.equals("ljust") ? s + fill.repeat(pad) : fill.repeat(pad) + s);
            };
            case "partition", "rpartition" -> (a, kw) -> {
                String sep = str(a, 0);
                int at = name.equals("partition") ? scanned(s).indexOf(sep) : scanned(s).lastIndexOf(sep);
                if (at < 0) {
                    return createdStrings(name.equals("partition") ? listOf(s, "", "") : listOf("", "", s));
                }
                budget().strings(2, s.length());
                return createdStrings(listOf(s.substring(0, at), sep, s.substring(at + sep.length())));
            };
            case "removeprefix" -> (a, kw) -> s.startsWith(str(a, 0)) ? created(s.substring(str(a, 0).length())) : s;
            case "removesuffix" -> (a, kw) -> !str(a, 0).isEmpty() && s.endsWith(str(a, 0))
                    ? created(s.substring(0, s.length() - str(a, 0).length())) : s;
            default -> null;
        };
    }

    /** {@code s}, charged as work for a test of each code point (a stream and a call per char: a regular expression's cost). */
    private static String perCodePoint(String s) {
        budget().perChar(s.length());
        return s;
    }

    /** {@code s}, its length charged as work: for the methods that read all of it. */
    private static String scanned(String s) {
        budget().work(s.length());
        return s;
    }

    /** The fill chars to add to {@code s} to reach {@code width} code points, the result's length checked first. */
    private static int padding(String s, long width, String fill) {
        long pad = Math.max(0, width - Py.len(s));
        budget().length(s.length() + Budget.times(pad, fill.length()));
        return (int) pad;
    }

    private static List<Object> listOf(Object... items) {
        return new ArrayList<>(List.of(items));
    }

    private static String str(List<Object> a, int index) {
        if (index >= a.size()) {
            throw JinjaException.render("missing argument " + (index + 1));
        }
        Object v = a.get(index);
        if (v instanceof Undefined u) {
            throw u.error();
        }
        if (!(v instanceof String s)) {
            throw JinjaException.render("must be str, not " + Py.typeName(v));
        }
        return s;
    }

    private static long maxsplit(List<Object> a, Map<String, Object> kw) {
        return Py.asLong(Builtins.arg(a, kw, 1, "maxsplit", -1L));
    }

    private static int codePointIndex(String s, int charIndex) {
        return charIndex < 0 ? -1 : s.codePointCount(0, charIndex);
    }

    private static long count(String s, String sub) {
        if (sub.isEmpty()) {
            return Py.len(s) + 1;
        }
        long n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        budget().steps(n / 4); // a search call per occurrence
        return n;
    }

    private static boolean affix(String s, Object affix, boolean prefix) {
        if (affix instanceof List<?> options) {
            budget().work(options.size());
            return options.stream().anyMatch(o -> affix(s, o, prefix));
        }
        if (!(affix instanceof String a)) {
            throw JinjaException.render((prefix ? "startswith" : "endswith") + " first arg must be str or a tuple of str, not "
                    + Py.typeName(affix));
        }
        budget().work(Math.min(a.length(), s.length()));
        return prefix ? s.startsWith(a) : s.endsWith(a);
    }

    /** Python's strip/lstrip/rstrip: whitespace when chars is None, else any of chars. */
    static String strip(String s, Object chars, boolean left, boolean right) {
        if (chars instanceof Undefined u) {
            throw u.error();
        }
        String set = chars == null ? null : Py.str(chars);
        budget().perChar(Budget.times(s.length(), set == null ? 1 : Math.max(1, set.length())));
        int[] cps = s.codePoints().toArray();
        int lo = 0;
        int hi = cps.length;
        while (left && lo < hi && strippable(cps[lo], set)) {
            lo++;
        }
        while (right && hi > lo && strippable(cps[hi - 1], set)) {
            hi--;
        }
        return lo == 0 && hi == cps.length ? s : created(new String(cps, lo, hi - lo));
    }

    private static boolean strippable(int cp, String set) {
        return set == null ? isSpace(cp) : set.codePoints().anyMatch(c -> c == cp);
    }

    /** Python's str.split. */
    static List<Object> split(String s, Object sep, long maxsplit) {
        Budget budget = budget();
        budget.work(s.length());
        List<Object> out = new ArrayList<>();
        if (sep == null) {
            budget.perChar(s.length());
            int[] cps = s.codePoints().toArray();
            int k = 0;
            while (k < cps.length) {
                while (k < cps.length && isSpace(cps[k])) {
                    k++;
                }
                if (k == cps.length) {
                    break;
                }
                if (maxsplit >= 0 && out.size() == maxsplit) {
                    int end = cps.length;
                    while (end > k && isSpace(cps[end - 1])) {
                        end--;
                    }
                    cut(out, new String(cps, k, end - k), budget);
                    break;
                }
                int start = k;
                while (k < cps.length && !isSpace(cps[k])) {
                    k++;
                }
                cut(out, new String(cps, start, k - start), budget);
            }
            return out;
        }
        String sp = Py.str(sep);
        if (sp.isEmpty()) {
            throw JinjaException.render("empty separator");
        }
        int from = 0;
        while (maxsplit < 0 || out.size() < maxsplit) {
            int at = s.indexOf(sp, from);
            if (at < 0) {
                break;
            }
            cut(out, s.substring(from, at), budget);
            from = at + sp.length();
        }
        cut(out, s.substring(from), budget);
        return out;
    }

    private static List<Object> rsplit(String s, Object sep, long maxsplit) {
        if (maxsplit < 0) {
            return split(s, sep, maxsplit);
        }
        Budget budget = budget();
        if (sep == null) {
            List<Object> reversed = split(new StringBuilder(s).reverse().toString(), null, maxsplit);
            List<Object> out = new ArrayList<>();
            for (int k = reversed.size() - 1; k >= 0; k--) {
                cut(out, new StringBuilder((String) reversed.get(k)).reverse().toString(), budget);
            }
            return out;
        }
        String sp = Py.str(sep);
        if (sp.isEmpty()) {
            throw JinjaException.render("empty separator");
        }
        budget.work(s.length());
        List<Object> out = new ArrayList<>();
        int to = s.length();
        while (out.size() < maxsplit) {
            int at = s.lastIndexOf(sp, to - sp.length());
            if (at < 0) {
                break;
            }
            cut(out, s.substring(at + sp.length(), to), budget);
            to = at;
        }
        cut(out, s.substring(0, to), budget);
        java.util.Collections.reverse(out);
        return out;
    }

    private static final Pattern LINE_BREAK = Pattern.compile("\r\n|[\n\r\u000B\u000C\u001C\u001D\u001E\u0085\u2028\u2029]");

    static List<Object> splitlines(String s, boolean keepends) {
        Budget budget = budget();
        budget.perChar(s.length());
        List<Object> out = new ArrayList<>();
        Matcher m = LINE_BREAK.matcher(s);
        int from = 0;
        while (m.find()) {
            cut(out, s.substring(from, keepends ? m.end() : m.start()), budget);
            from = m.end();
        }
        if (from < s.length()) {
            cut(out, s.substring(from), budget);
        }
        return out;
    }

    /** At least the number of line breaks {@link #splitlines} finds in {@code s}. */
    private static long lineBreaks(String s) {
        long n = 0;
        for (int k = 0; k < s.length(); k++) {
            switch (s.charAt(k)) {
                case '\n', '\r', '\u000B', '\u000C', '\u001C', '\u001D', '\u001E', '\u0085', '\u2028', '\u2029' -> n++;
                default -> { }
            }
        }
        return n;
    }

    static String replace(String s, String old, String replacement, Object count) {
        long max = count == null ? -1 : Py.asLong(count);
        long found = old.isEmpty() ? Py.len(s) + 1 : count(scanned(s), old);
        long times = max < 0 ? found : Math.min(max, found);
        budget().length(s.length() + Budget.times(times, replacement.length() - old.length()));
        return created(replaced(s, old, replacement, max));
    }

    private static String replaced(String s, String old, String replacement, long max) {
        if (max < 0) {
            if (old.isEmpty()) {
                StringBuilder sb = new StringBuilder(replacement);
                s.codePoints().forEach(cp -> sb.appendCodePoint(cp).append(replacement));
                return sb.toString();
            }
            return s.replace(old, replacement);
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        for (long n = 0; n < max; n++) {
            int at = s.indexOf(old, from);
            if (at < 0 || old.isEmpty()) {
                break;
            }
            sb.append(s, from, at).append(replacement);
            from = at + old.length();
        }
        return sb.append(s.substring(from)).toString();
    }

    private static boolean cased(int cp) {
        return Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp);
    }

    /** Python's str.title(). */
    static String title(String s) {
        StringBuilder sb = new StringBuilder();
        boolean prevCased = false;
        for (int cp : s.codePoints().toArray()) {
            if (prevCased) {
                lower(cp, sb);
            } else {
                sb.appendCodePoint(Character.toTitleCase(cp));
            }
            prevCased = cased(cp);
        }
        return sb.toString();
    }

    /** Python's str.capitalize(): first character title-cased, the rest lower-cased. */
    static String capitalize(String s) {
        if (s.isEmpty()) {
            return s;
        }
        int first = s.codePointAt(0);
        return titleCase(first) + lower(s.substring(Character.charCount(first)));
    }

    /** Jinja2's title filter per word: first character upper-cased, the rest lower-cased. */
    static String capitalizeFirst(String s) {
        int first = s.codePointAt(0);
        return new String(Character.toChars(first)).toUpperCase(Locale.ROOT) + lower(s.substring(Character.charCount(first)));
    }

    private static String titleCase(int cp) {
        return new String(Character.toChars(Character.toTitleCase(cp)));
    }

    /** Appends one code point lower-cased on its own, as {@code String.toLowerCase(Locale.ROOT)} does it: İ is the one that becomes two. */
    private static void lower(int cp, StringBuilder sb) {
        if (cp == CAPITAL_I_WITH_DOT) {
            sb.append(I_WITH_DOT_LOWER);
        } else {
            sb.appendCodePoint(Character.toLowerCase(cp));
        }
    }

    private static final char CAPITAL_I_WITH_DOT = '\u0130';
    private static final String I_WITH_DOT_LOWER = "i\u0307";
    private static final char CAPITAL_SIGMA = '\u03A3';
    /** Chars per call of the JDK's upper-casing, which copies its result for every char that maps to several (ß → SS). */
    private static final int CASE_CHUNK = 32;

    /**
     * {@code s.toUpperCase(Locale.ROOT)} in linear time. The JDK copies its whole result once for every char that maps to
     * several (ß → SS), quadratic in a long string; upper-casing has no context in the root locale, so short chunks map
     * exactly as the whole string does.
     */
    static String upper(String s) {
        budget().perChar(s.length());
        if (s.length() <= CASE_CHUNK) {
            return s.toUpperCase(Locale.ROOT);
        }
        StringBuilder sb = new StringBuilder(s.length());
        for (int from = 0; from < s.length(); ) {
            int to = Math.min(s.length(), from + CASE_CHUNK);
            if (to < s.length() && Character.isHighSurrogate(s.charAt(to - 1))) {
                to--;
            }
            sb.append(s.substring(from, to).toUpperCase(Locale.ROOT));
            from = to;
        }
        return sb.toString();
    }

    /**
     * Python's {@code str.lower()} in linear time: {@code s.toLowerCase(Locale.ROOT)}, except for the capital sigma.
     * The JDK copies its result for every İ (which becomes i̇) and decides each Σ by scanning its whole word both ways,
     * both quadratic in a long string: İ is first written as what it becomes (an I, which keeps it cased, and a combining
     * dot above), and each Σ is decided here by Python's rule (final ς after a cased letter and before none, case-ignorable
     * letters skipped) in two passes.
     */
    static String lower(String s) {
        budget().perChar(s.length());
        String t = s.indexOf(CAPITAL_I_WITH_DOT) >= 0 ? s.replace(String.valueOf(CAPITAL_I_WITH_DOT), "I\u0307") : s;
        if (t.indexOf(CAPITAL_SIGMA) < 0) {
            return t.toLowerCase(Locale.ROOT);
        }
        char[] out = t.replace(CAPITAL_SIGMA, '\u03C3').toLowerCase(Locale.ROOT).toCharArray();
        if (out.length != t.length()) { // no char of the root locale but İ lower-cases to another length; kept safe anyway
            StringBuilder sb = new StringBuilder();
            t.codePoints().forEach(cp -> lower(cp, sb));
            out = sb.toString().toCharArray();
        }
        // casedBefore[i]: the code point before i, case-ignorable ones skipped, is cased
        boolean[] casedBefore = new boolean[t.length() + 1];
        boolean cased = false;
        for (int i = 0; i < t.length(); ) {
            casedBefore[i] = cased;
            int cp = t.codePointAt(i);
            if (!caseIgnorable(cp)) {
                cased = cased(cp);
            }
            i += Character.charCount(cp);
        }
        boolean casedAfter = false; // the code point after i, case-ignorable ones skipped, is cased
        for (int i = t.length(); i > 0; ) {
            int cp = t.codePointBefore(i);
            i -= Character.charCount(cp);
            if (cp == CAPITAL_SIGMA && out.length == t.length()) {
                out[i] = casedBefore[i] && !casedAfter ? '\u03C2' : '\u03C3';
            }
            if (!caseIgnorable(cp)) {
                casedAfter = cased(cp);
            }
        }
        return new String(out);
    }

    /** Unicode's Case_Ignorable: marks, format chars, modifier letters and symbols, and the apostrophes and dots within words. */
    private static boolean caseIgnorable(int cp) {
        return switch (Character.getType(cp)) {
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.FORMAT, Character.MODIFIER_LETTER,
                 Character.MODIFIER_SYMBOL -> true;
            default -> switch (cp) {
                case '\'', '.', ':', 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55,
                     0xFF07, 0xFF0E, 0xFF1A -> true;
                default -> false;
            };
        };
    }

    private static String swapcase(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().forEach(cp -> sb.appendCodePoint(Character.isUpperCase(cp) ? Character.toLowerCase(cp)
                : Character.isLowerCase(cp) ? Character.toUpperCase(cp) : cp));
        return sb.toString();
    }

    private static String zfill(String s, long width) {
        int pad = padding(s, width, "0");
        if (pad <= 0) {
            return s;
        }
        boolean signed = !s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+');
        return signed ? s.charAt(0) + "0".repeat(pad) + s.substring(1) : "0".repeat(pad) + s;
    }

    static String center(String s, long width, String fill) {
        int total = padding(s, width, fill);
        if (total == 0) {
            return s;
        }
        int left = total / 2 + (int) (total & width & 1);
        return created(fill.repeat(left) + s + fill.repeat(total - left));
    }

    /** Python's re.split with a capturing group: the separators stay in the list. */
    static List<String> splitKeepingSeparators(Pattern p, String s) {
        Budget budget = budget();
        List<String> out = new ArrayList<>();
        Matcher m = p.matcher(s);
        int from = 0;
        while (m.find()) {
            cut(out, s.substring(from, m.start()), budget);
            cut(out, m.group(1), budget);
            from = m.end();
        }
        cut(out, s.substring(from), budget);
        return out;
    }

    /** Jinja2's indent filter. */
    static String indent(String s, Object width, boolean first, boolean blank) {
        long indentLength = width instanceof String w ? w.length() : Math.max(0, Py.asLong(width));
        budget().length(indentLength);
        String indention = width instanceof String w ? w : " ".repeat((int) indentLength);
        budget().length(s.length() + Budget.times(lineBreaks(scanned(s)) + 2, indentLength));
        List<Object> lines = splitlines(s + "\n", false);
        String rv;
        if (blank) {
            rv = String.join("\n" + indention, lines.stream().map(Object::toString).toList());
        } else {
            StringBuilder sb = new StringBuilder(lines.isEmpty() ? "" : (String) lines.getFirst());
            for (int k = 1; k < lines.size(); k++) {
                String line = (String) lines.get(k);
                sb.append('\n').append(line.isEmpty() ? line : indention + line);
            }
            rv = sb.toString();
        }
        return created(first ? indention + rv : rv);
    }

    /** Jinja2's truncate filter. */
    static String truncate(String s, long length, boolean killwords, String end, Object leeway) {
        long lee = leeway == null ? 5 : Py.asLong(leeway);
        if (Py.len(s) <= length + lee) {
            return s;
        }
        int cut = s.offsetByCodePoints(0, (int) Math.max(0, length - Py.len(end)));
        if (killwords) {
            return created(s.substring(0, cut) + end);
        }
        String head = s.substring(0, cut);
        int space = head.lastIndexOf(' ');
        return created((space >= 0 ? head.substring(0, space) : head) + end);
    }

    private static final Pattern FORMAT_FIELD = Pattern.compile("\\{\\{|}}|\\{([^{}:!]*)(![rsa])?(?::([^{}]*))?}");

    /** Python's str.format with auto-numbered, numbered and named fields; specs limited to [fill align][width][.precision][type]. */
    static String format(String s, List<Object> a, Map<String, Object> kw) {
        budget().perChar(s.length());
        Matcher m = FORMAT_FIELD.matcher(s);
        StringBuilder sb = new StringBuilder();
        int auto = 0;
        while (m.find()) {
            budget().steps(Budget.FIELD_STEPS);
            String text = m.group();
            String rendered;
            if (text.equals("{{")) {
                rendered = "{";
            } else if (text.equals("}}")) {
                rendered = "}";
            } else {
                String field = m.group(1);
                Object v;
                if (field.isEmpty()) {
                    v = auto < a.size() ? a.get(auto++) : null;
                    if (auto > a.size()) {
                        throw JinjaException.render("Replacement index " + (auto - 1) + " out of range");
                    }
                } else if (field.matches("\\d+")) {
                    int idx = Integer.parseInt(field);
                    if (idx >= a.size()) {
                        throw JinjaException.render("Replacement index " + idx + " out of range");
                    }
                    v = a.get(idx);
                } else {
                    if (!kw.containsKey(field)) {
                        throw JinjaException.render("KeyError: '" + field + "'");
                    }
                    v = kw.get(field);
                }
                rendered = formatSpec("r".equals(m.group(2) == null ? null : m.group(2).substring(1)) ? Py.repr(v) : v, m.group(3));
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(rendered));
            budget().check(sb);
        }
        m.appendTail(sb);
        return sb.toString();
    }

    /** A width or precision: digits, at most the longest value allowed. */
    private static long number(String digits) {
        return budget().length(digits.length() > 18 ? Long.MAX_VALUE : Long.parseLong(digits));
    }

    private static final Pattern SPEC = Pattern.compile("(?:(.)?([<>^]))?(\\d+)?(?:\\.(\\d+))?([sdf]?)");

    private static String formatSpec(Object v, String spec) {
        if (spec == null || spec.isEmpty()) {
            return Py.str(v);
        }
        budget().perChar(spec.length());
        Matcher m = SPEC.matcher(spec);
        if (!m.matches()) {
            throw JinjaException.render("unsupported format spec '" + spec + "'");
        }
        String body;
        long precision = m.group(4) == null ? -1 : number(m.group(4));
        if ("f".equals(m.group(5)) || (precision >= 0 && Py.isNumber(v))) {
            budget().length(precision + 320); // the digits of the largest double and the precision's
            body = String.format(Locale.ROOT, "%." + (precision < 0 ? 6 : precision) + "f", Py.asDouble(v));
        } else {
            body = Py.str(v);
            if (precision >= 0 && v instanceof String) {
                body = body.substring(0, (int) Math.min(body.length(), precision));
            }
        }
        long width = m.group(3) == null ? 0 : number(m.group(3));
        String fill = m.group(1) == null ? " " : m.group(1);
        int pad = padding(body, width, fill);
        String align = m.group(2) == null ? (Py.isNumber(v) ? ">" : "<") : m.group(2);
        return switch (align) {
            case ">" -> fill.repeat(pad) + body;
            case "^" -> fill.repeat(pad / 2) + body + fill.repeat(pad - pad / 2);
            default -> body + fill.repeat(pad);
        };
    }
}
