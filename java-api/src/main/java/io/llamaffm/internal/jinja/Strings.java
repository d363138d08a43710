package io.llamaffm.internal.jinja;

import io.llamaffm.internal.jinja.Py.Callable;
import io.llamaffm.internal.jinja.Py.Undefined;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Python's {@code str} methods and the string helpers of Jinja2's filters. */
final class Strings {
    private Strings() {}

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
            case "split" -> (a, kw) -> split(s, Builtins.arg(a, kw, 0, "sep", null), maxsplit(a, kw));
            case "rsplit" -> (a, kw) -> rsplit(s, Builtins.arg(a, kw, 0, "sep", null), maxsplit(a, kw));
            case "splitlines" -> (a, kw) -> splitlines(s, Py.truthy(Builtins.arg(a, kw, 0, "keepends", false)));
            case "startswith" -> (a, kw) -> affix(s, a.getFirst(), true);
            case "endswith" -> (a, kw) -> affix(s, a.getFirst(), false);
            case "upper" -> (a, kw) -> s.toUpperCase(Locale.ROOT);
            case "lower", "casefold" -> (a, kw) -> s.toLowerCase(Locale.ROOT);
            case "title" -> (a, kw) -> title(s);
            case "capitalize" -> (a, kw) -> capitalize(s);
            case "swapcase" -> (a, kw) -> swapcase(s);
            case "replace" -> (a, kw) -> replace(s, str(a, 0), str(a, 1), Builtins.arg(a, kw, 2, "count", null));
            case "find" -> (a, kw) -> (long) codePointIndex(s, s.indexOf(str(a, 0)));
            case "rfind" -> (a, kw) -> (long) codePointIndex(s, s.lastIndexOf(str(a, 0)));
            case "index", "rindex" -> (a, kw) -> {
                int at = name.equals("index") ? s.indexOf(str(a, 0)) : s.lastIndexOf(str(a, 0));
                if (at < 0) {
                    throw JinjaException.render("substring not found");
                }
                return (long) codePointIndex(s, at);
            };
            case "count" -> (a, kw) -> count(s, str(a, 0));
            case "join" -> (a, kw) -> {
                StringBuilder sb = new StringBuilder();
                List<Object> items = Py.iterate(a.getFirst());
                for (int k = 0; k < items.size(); k++) {
                    if (!(items.get(k) instanceof String item)) {
                        throw JinjaException.render("sequence item " + k + ": expected str instance, "
                                + Py.typeName(items.get(k)) + " found");
                    }
                    sb.append(k == 0 ? "" : s).append(item);
                }
                return sb.toString();
            };
            case "format" -> (a, kw) -> format(s, a, kw);
            case "isdigit", "isnumeric", "isdecimal" -> (a, kw) -> !s.isEmpty() && s.codePoints().allMatch(Character::isDigit);
            case "isalpha" -> (a, kw) -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetter);
            case "isalnum" -> (a, kw) -> !s.isEmpty() && s.codePoints().allMatch(Character::isLetterOrDigit);
            case "isspace" -> (a, kw) -> !s.isEmpty() && s.codePoints().allMatch(Strings::isSpace);
            case "islower" -> (a, kw) -> s.codePoints().anyMatch(Character::isLowerCase) && s.equals(s.toLowerCase(Locale.ROOT));
            case "isupper" -> (a, kw) -> s.codePoints().anyMatch(Character::isUpperCase) && s.equals(s.toUpperCase(Locale.ROOT));
            case "zfill" -> (a, kw) -> zfill(s, (int) Py.asLong(a.getFirst()));
            case "center" -> (a, kw) -> center(s, (int) Py.asLong(a.getFirst()), a.size() > 1 ? str(a, 1) : " ");
            case "ljust", "rjust" -> (a, kw) -> {
                int width = (int) Py.asLong(a.getFirst());
                String fill = a.size() > 1 ? str(a, 1) : " ";
                int pad = Math.max(0, width - (int) Py.len(s));
                return name.equals("ljust") ? s + fill.repeat(pad) : fill.repeat(pad) + s;
            };
            case "partition", "rpartition" -> (a, kw) -> {
                String sep = str(a, 0);
                int at = name.equals("partition") ? s.indexOf(sep) : s.lastIndexOf(sep);
                if (at < 0) {
                    return name.equals("partition") ? listOf(s, "", "") : listOf("", "", s);
                }
                return listOf(s.substring(0, at), sep, s.substring(at + sep.length()));
            };
            case "removeprefix" -> (a, kw) -> s.startsWith(str(a, 0)) ? s.substring(str(a, 0).length()) : s;
            case "removesuffix" -> (a, kw) -> !str(a, 0).isEmpty() && s.endsWith(str(a, 0))
                    ? s.substring(0, s.length() - str(a, 0).length()) : s;
            default -> null;
        };
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
        return n;
    }

    private static boolean affix(String s, Object affix, boolean prefix) {
        if (affix instanceof List<?> options) {
            return options.stream().anyMatch(o -> affix(s, o, prefix));
        }
        if (!(affix instanceof String a)) {
            throw JinjaException.render((prefix ? "startswith" : "endswith") + " first arg must be str or a tuple of str, not "
                    + Py.typeName(affix));
        }
        return prefix ? s.startsWith(a) : s.endsWith(a);
    }

    /** Python's strip/lstrip/rstrip: whitespace when chars is None, else any of chars. */
    static String strip(String s, Object chars, boolean left, boolean right) {
        if (chars instanceof Undefined u) {
            throw u.error();
        }
        String set = chars == null ? null : Py.str(chars);
        int[] cps = s.codePoints().toArray();
        int lo = 0;
        int hi = cps.length;
        while (left && lo < hi && strippable(cps[lo], set)) {
            lo++;
        }
        while (right && hi > lo && strippable(cps[hi - 1], set)) {
            hi--;
        }
        return new String(cps, lo, hi - lo);
    }

    private static boolean strippable(int cp, String set) {
        return set == null ? isSpace(cp) : set.codePoints().anyMatch(c -> c == cp);
    }

    /** Python's str.split. */
    static List<Object> split(String s, Object sep, long maxsplit) {
        List<Object> out = new ArrayList<>();
        if (sep == null) {
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
                    out.add(new String(cps, k, end - k));
                    break;
                }
                int start = k;
                while (k < cps.length && !isSpace(cps[k])) {
                    k++;
                }
                out.add(new String(cps, start, k - start));
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
            out.add(s.substring(from, at));
            from = at + sp.length();
        }
        out.add(s.substring(from));
        return out;
    }

    private static List<Object> rsplit(String s, Object sep, long maxsplit) {
        if (maxsplit < 0) {
            return split(s, sep, maxsplit);
        }
        if (sep == null) {
            List<Object> reversed = split(new StringBuilder(s).reverse().toString(), null, maxsplit);
            List<Object> out = new ArrayList<>();
            for (int k = reversed.size() - 1; k >= 0; k--) {
                out.add(new StringBuilder((String) reversed.get(k)).reverse().toString());
            }
            return out;
        }
        String sp = Py.str(sep);
        List<Object> out = new ArrayList<>();
        int to = s.length();
        while (out.size() < maxsplit) {
            int at = s.lastIndexOf(sp, to - sp.length());
            if (at < 0) {
                break;
            }
            out.addFirst(s.substring(at + sp.length(), to));
            to = at;
        }
        out.addFirst(s.substring(0, to));
        return out;
    }

    private static final Pattern LINE_BREAK = Pattern.compile("\r\n|[\n\r\u000B\u000C\u001C\u001D\u001E\u0085\u2028\u2029]");

    static List<Object> splitlines(String s, boolean keepends) {
        List<Object> out = new ArrayList<>();
        Matcher m = LINE_BREAK.matcher(s);
        int from = 0;
        while (m.find()) {
            out.add(s.substring(from, keepends ? m.end() : m.start()));
            from = m.end();
        }
        if (from < s.length()) {
            out.add(s.substring(from));
        }
        return out;
    }

    static String replace(String s, String old, String replacement, Object count) {
        long max = count == null ? -1 : Py.asLong(count);
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
            sb.append(prevCased ? lower(cp) : titleCase(cp));
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
        return titleCase(first) + s.substring(Character.charCount(first)).toLowerCase(Locale.ROOT);
    }

    /** Jinja2's title filter per word: first character upper-cased, the rest lower-cased. */
    static String capitalizeFirst(String s) {
        int first = s.codePointAt(0);
        return new String(Character.toChars(first)).toUpperCase(Locale.ROOT) + s.substring(Character.charCount(first)).toLowerCase(Locale.ROOT);
    }

    private static String titleCase(int cp) {
        return new String(Character.toChars(Character.toTitleCase(cp)));
    }

    private static String lower(int cp) {
        return new String(Character.toChars(cp)).toLowerCase(Locale.ROOT);
    }

    private static String swapcase(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().forEach(cp -> sb.appendCodePoint(Character.isUpperCase(cp) ? Character.toLowerCase(cp)
                : Character.isLowerCase(cp) ? Character.toUpperCase(cp) : cp));
        return sb.toString();
    }

    private static String zfill(String s, int width) {
        int pad = width - (int) Py.len(s);
        if (pad <= 0) {
            return s;
        }
        boolean signed = !s.isEmpty() && (s.charAt(0) == '-' || s.charAt(0) == '+');
        return signed ? s.charAt(0) + "0".repeat(pad) + s.substring(1) : "0".repeat(pad) + s;
    }

    static String center(String s, int width, String fill) {
        int n = (int) Py.len(s);
        if (width <= n) {
            return s;
        }
        int total = width - n;
        int left = total / 2 + (total & width & 1);
        return fill.repeat(left) + s + fill.repeat(total - left);
    }

    /** Python's re.split with a capturing group: the separators stay in the list. */
    static List<String> splitKeepingSeparators(Pattern p, String s) {
        List<String> out = new ArrayList<>();
        Matcher m = p.matcher(s);
        int from = 0;
        while (m.find()) {
            out.add(s.substring(from, m.start()));
            out.add(m.group(1));
            from = m.end();
        }
        out.add(s.substring(from));
        return out;
    }

    /** Jinja2's indent filter. */
    static String indent(String s, Object width, boolean first, boolean blank) {
        String indention = width instanceof String w ? w : " ".repeat((int) Math.max(0, Py.asLong(width)));
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
        return first ? indention + rv : rv;
    }

    /** Jinja2's truncate filter. */
    static String truncate(String s, int length, boolean killwords, String end, Object leeway) {
        long lee = leeway == null ? 5 : Py.asLong(leeway);
        if (Py.len(s) <= length + lee) {
            return s;
        }
        int cut = s.offsetByCodePoints(0, Math.max(0, length - (int) Py.len(end)));
        if (killwords) {
            return s.substring(0, cut) + end;
        }
        String head = s.substring(0, cut);
        int space = head.lastIndexOf(' ');
        return (space >= 0 ? head.substring(0, space) : head) + end;
    }

    private static final Pattern FORMAT_FIELD = Pattern.compile("\\{\\{|}}|\\{([^{}:!]*)(![rsa])?(?::([^{}]*))?}");

    /** Python's str.format with auto-numbered, numbered and named fields; specs limited to [fill align][width][.precision][type]. */
    static String format(String s, List<Object> a, Map<String, Object> kw) {
        Matcher m = FORMAT_FIELD.matcher(s);
        StringBuilder sb = new StringBuilder();
        int auto = 0;
        while (m.find()) {
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
        }
        m.appendTail(sb);
        return sb.toString();
    }

    private static final Pattern SPEC = Pattern.compile("(?:(.)?([<>^]))?(\\d+)?(?:\\.(\\d+))?([sdf]?)");

    private static String formatSpec(Object v, String spec) {
        if (spec == null || spec.isEmpty()) {
            return Py.str(v);
        }
        Matcher m = SPEC.matcher(spec);
        if (!m.matches()) {
            throw JinjaException.render("unsupported format spec '" + spec + "'");
        }
        String body;
        if ("f".equals(m.group(5)) || (m.group(4) != null && Py.isNumber(v))) {
            body = String.format(Locale.ROOT, "%." + (m.group(4) == null ? "6" : m.group(4)) + "f", Py.asDouble(v));
        } else {
            body = Py.str(v);
            if (m.group(4) != null && v instanceof String) {
                body = body.substring(0, Math.min(body.length(), Integer.parseInt(m.group(4))));
            }
        }
        int width = m.group(3) == null ? 0 : Integer.parseInt(m.group(3));
        int pad = Math.max(0, width - (int) Py.len(body));
        String fill = m.group(1) == null ? " " : m.group(1);
        String align = m.group(2) == null ? (Py.isNumber(v) ? ">" : "<") : m.group(2);
        return switch (align) {
            case ">" -> fill.repeat(pad) + body;
            case "^" -> fill.repeat(pad / 2) + body + fill.repeat(pad - pad / 2);
            default -> body + fill.repeat(pad);
        };
    }
}
