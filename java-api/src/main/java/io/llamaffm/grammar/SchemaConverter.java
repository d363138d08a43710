package io.llamaffm.grammar;

import io.llamaffm.Configuration;
import io.llamaffm.internal.GrammarLimits;
import io.llamaffm.internal.JsonParser;
import io.llamaffm.internal.NlohmannJson;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * One conversion of a parsed JSON schema into GBNF rules, following llama.cpp's converter
 * (common/json-schema-to-grammar.cpp) keyword by keyword, in the same order of precedence.
 */
final class SchemaConverter {
    private static final Pattern UUID_FORMAT = Pattern.compile("uuid[1-5]?");
    private static final BigDecimal LOOSE_LONG_LIMIT = new BigDecimal("1e19");
    private static final BigDecimal HALF = new BigDecimal("0.5");
    private static final int MAX_REF_CHAIN = 64;
    /**
     * Deepest nesting of schemas the conversion follows, $refs included: it recurses once per level, up to four frames
     * deep, which a thread with half the usual stack (512 KB) holds with room to spare.
     */
    static final int MAX_DEPTH = 128;

    private final Object document;
    private final JsonSchemaToGrammar.Options options;
    private final Rules rules;
    private final String refPrefix; // keeps the rules of one document's $refs apart from another's in shared rules
    private final Map<String, Object> refTargets = new HashMap<>();
    private final Set<String> refsBeingResolved = new HashSet<>();
    private final List<String> warnings = new ArrayList<>();
    private int depth;
    private int maxDepth;
    private long pathNameChars; // the names of the schemas being visited, which grow with the nesting

    /** A property of an object schema: its name and its schema. */
    private record Property(String name, Object schema) {}

    /**
     * How many characters of schema a grammar character may stand for: descriptions, titles and examples take room in
     * a schema and none in its grammar, so a schema may be larger than its grammar, but not without bound (parsed,
     * a schema of empty objects takes some 100 bytes per 3 characters).
     */
    static final int SCHEMA_CHARS_PER_GRAMMAR_CHAR = 2;

    /** Parses a schema no longer than {@link #SCHEMA_CHARS_PER_GRAMMAR_CHAR} times the most characters of a grammar. */
    static Object parse(String schemaJson, GrammarLimits limits) {
        long most = SCHEMA_CHARS_PER_GRAMMAR_CHAR * (long) limits.maxChars();
        if (schemaJson.length() > most) {
            throw new IllegalArgumentException("the schema has " + schemaJson.length() + " characters; at most " + most + ", "
                    + SCHEMA_CHARS_PER_GRAMMAR_CHAR + " times the most characters of a grammar"
                    + GrammarLimits.raise(Configuration.GRAMMAR_MAX_CHARS));
        }
        return JsonParser.parse(schemaJson);
    }

    SchemaConverter(Object document, JsonSchemaToGrammar.Options options, Rules rules, String refPrefix) {
        this.document = document;
        this.options = options;
        this.rules = rules;
        this.refPrefix = refPrefix;
    }

    /** Adds the rules for the document to the shared rules, its top rule named after {@code name}; returns that rule's name. */
    String convertAs(String name) {
        checkRefs(document);
        return visit(document, name);
    }

    List<String> warnings() {
        return warnings;
    }

    /** {@return the deepest nesting of schemas visited so far} */
    int maxDepth() {
        return maxDepth;
    }

    JsonSchemaToGrammar.Result convert() {
        checkRefs(document);
        visit(document, "");
        return new JsonSchemaToGrammar.Result(rules.format(), warnings);
    }

    /**
     * Adds the rule(s) for {@code node} and returns the name of the rule that matches it. Counts a step per character
     * of the name, and refuses
     * nesting deeper than {@link #MAX_DEPTH} and names that alone would outgrow the grammar: each nested schema's
     * name starts with its parent's, and each becomes a rule.
     */
    private String visit(Object node, String name) {
        if (depth >= MAX_DEPTH) {
            throw new IllegalArgumentException("the schema nests more than " + MAX_DEPTH + " levels deep (nested schemas "
                    + "and the $refs followed); at most " + MAX_DEPTH);
        }
        pathNameChars += name.length();
        maxDepth = Math.max(maxDepth, ++depth);
        try {
            if (pathNameChars > rules.limits().maxChars()) {
                throw new IllegalArgumentException("the names of the nested schemas (property names joined) take more than "
                        + rules.limits().maxChars() + " characters, more than the grammar may have"
                        + GrammarLimits.raise(Configuration.GRAMMAR_MAX_CHARS));
            }
            rules.step(1 + name.length());
            return visitSchema(node, name);
        } finally {
            depth--;
            pathNameChars -= name.length();
        }
    }

    private String visitSchema(Object node, String name) {
        Map<String, Object> schema = schemaObject(node);
        Object type = schema.get("type");
        String format = optionalString(schema, "format");
        String ruleName = BuiltinRules.RESERVED_NAMES.contains(name) ? name + "-" : name.isEmpty() ? "root" : name;

        if (schema.containsKey("$ref")) {
            return rules.add(ruleName, resolveRef(ref(schema)));
        }
        if (schema.containsKey("oneOf") || schema.containsKey("anyOf")) {
            return rules.add(ruleName, union(name, list(schema, schema.containsKey("oneOf") ? "oneOf" : "anyOf")));
        }
        if (type instanceof List<?> types) {
            return rules.add(ruleName, union(name, withEachType(schema, types)));
        }
        if (schema.containsKey("const")) {
            return rules.add(ruleName, checkedConstant(schema.get("const")));
        }
        if (schema.containsKey("enum")) {
            return rules.add(ruleName, enumRule(list(schema, "enum")));
        }
        if (isObjectWithProperties(schema, type)) {
            return rules.add(ruleName, objectRule(schema, name));
        }
        if ((untypedOr(type, "object") || "string".equals(type)) && schema.containsKey("allOf")) {
            return rules.add(ruleName, allOfRule(list(schema, "allOf"), name));
        }
        if (untypedOr(type, "array") && (schema.containsKey("items") || schema.containsKey("prefixItems"))) {
            return rules.add(ruleName, arrayRule(schema, name));
        }
        if (untypedOr(type, "string") && schema.containsKey("pattern")) {
            return patternRule(requiredString(schema, "pattern"), ruleName);
        }
        if (untypedOr(type, "string") && UUID_FORMAT.matcher(format).matches()) {
            return rules.addPrimitive(ruleName.equals("root") ? "root" : format, BuiltinRules.PRIMITIVES.get("uuid"));
        }
        if (untypedOr(type, "string") && BuiltinRules.STRING_FORMATS.containsKey(format + "-string")) {
            String primitive = format + "-string";
            return rules.add(ruleName, rules.addPrimitive(primitive, BuiltinRules.STRING_FORMATS.get(primitive)));
        }
        if ("string".equals(type) && (schema.containsKey("minLength") || schema.containsKey("maxLength"))) {
            return rules.add(ruleName, stringLengthRule(schema));
        }
        if ("integer".equals(type) && hasAny(schema, "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")) {
            return rules.add(ruleName, integerRangeRule(schema));
        }
        if (schema.isEmpty() || "object".equals(type)) {
            return rules.add(ruleName, rules.addPrimitive("object"));
        }
        if (type == null) { // only annotations such as "description": any JSON value
            return rules.add(ruleName, rules.addPrimitive("value"));
        }
        return rules.addPrimitive(ruleName.equals("root") ? "root" : primitiveType(schema, type), primitive(schema, type));
    }

    // ---- $ref

    /** Checks every {@code $ref} of the document up front (as the reference does), so that none fails late. */
    private void checkRefs(Object node) {
        if (node instanceof Map<?, ?> map) {
            if (map.containsKey("$ref")) {
                refTarget(refText(map.get("$ref")));
                return; // like the reference, the siblings of a $ref are not looked at
            }
            map.values().forEach(this::checkRefs);
        } else if (node instanceof List<?> list) {
            list.forEach(this::checkRefs);
        }
    }

    private String resolveRef(String ref) {
        String fragment = ref.substring(ref.indexOf('#') + 1);
        String refName = refPrefix + "ref" + Gbnf.ruleName(fragment);
        if (!rules.contains(refName) && !refsBeingResolved.contains(ref)) {
            refsBeingResolved.add(ref);
            refName = visit(refTarget(ref), refName);
            refsBeingResolved.remove(ref);
        }
        return refName;
    }

    /** The value a local reference ({@code #/a/b/0}) points at in the document. */
    private Object refTarget(String ref) {
        if (refTargets.containsKey(ref)) {
            return refTargets.get(ref);
        }
        if (!ref.startsWith("#/")) {
            throw new IllegalArgumentException((ref.startsWith("https://") || ref.startsWith("http://") ? "remote " : "unsupported ")
                    + "$ref \"" + ref + "\": only local references into the same schema (\"#/...\") are supported");
        }
        Object target = document;
        for (String token : ref.substring(2).split("/", -1)) {
            target = pointerStep(target, token, ref);
        }
        refTargets.put(ref, target);
        return target;
    }

    private static Object pointerStep(Object target, String token, String ref) {
        String key = token.replace("~1", "/").replace("~0", "~");
        if (target instanceof Map<?, ?> map && map.containsKey(key)) {
            return map.get(key);
        }
        if (target instanceof List<?> list && token.matches("[0-9]{1,9}") && Integer.parseInt(token) < list.size()) {
            return list.get(Integer.parseInt(token));
        }
        throw new IllegalArgumentException("cannot resolve $ref \"" + ref + "\": \"" + token + "\" is not in "
                + abbreviated(target));
    }

    // ---- alternatives, constants

    private String union(String name, List<?> alternatives) {
        // each alternative takes at least " | " and a name of 3 characters ("a-0", "null", "ref...") in the rule
        rules.checkChars(6L * alternatives.size() - 3);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < alternatives.size(); i++) {
            names.add(visit(alternatives.get(i), name + (name.isEmpty() ? "alternative-" : "-") + i));
        }
        return String.join(" | ", names);
    }

    /** {@code "type": [a, b]} is the union of the schema with {@code "type": a} and with {@code "type": b}. */
    private static List<Object> withEachType(Map<String, Object> schema, List<?> types) {
        List<Object> alternatives = new ArrayList<>();
        for (Object type : types) {
            Map<String, Object> copy = new LinkedHashMap<>(schema);
            copy.put("type", type);
            alternatives.add(copy);
        }
        return alternatives;
    }

    /**
     * {@link #constant}, refused before it is written when the JSON text of {@code value} cannot fit in the grammar:
     * writing a value out costs more than reading it (each number is printed as llama.cpp prints a double).
     */
    private String checkedConstant(Object value) {
        rules.checkChars(shortestJson(value));
        return constant(value);
    }

    /** A lower bound of the length of {@code value}'s JSON text, no more than {@code Integer.MAX_VALUE}. */
    private static long shortestJson(Object value) {
        return switch (value) {
            case null -> 4;
            case String s -> s.length() + 2;
            case List<?> list -> {
                long n = 1 + list.size();
                for (Object item : list) {
                    n += shortestJson(item);
                    if (n > Integer.MAX_VALUE) {
                        yield n;
                    }
                }
                yield n;
            }
            case Map<?, ?> map -> {
                long n = 1 + map.size();
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    n += ((String) e.getKey()).length() + 3 + shortestJson(e.getValue());
                    if (n > Integer.MAX_VALUE) {
                        yield n;
                    }
                }
                yield n;
            }
            default -> 1; // a number or a boolean
        };
    }

    private static String constant(Object value) {
        return Gbnf.literal(NlohmannJson.dump(value));
    }

    private String enumRule(List<?> values) {
        StringBuilder rule = new StringBuilder("(");
        for (Object value : values) {
            String literal = checkedConstant(value);
            rules.step(literal.length());
            rules.checkChars(rule.length() + literal.length());
            rule.append(rule.length() == 1 ? "" : " | ").append(literal);
        }
        return rule.append(")").toString();
    }

    // ---- objects

    private static boolean isObjectWithProperties(Map<String, Object> schema, Object type) {
        return untypedOr(type, "object") && (schema.containsKey("properties")
                || (schema.containsKey("additionalProperties") && !Boolean.TRUE.equals(schema.get("additionalProperties"))));
    }

    private String objectRule(Map<String, Object> schema, String name) {
        Set<String> required = new HashSet<>(stringList(schema, "required"));
        List<Property> properties = properties(schema.get("properties"));
        Object additional = schema.get("additionalProperties");
        if (schema.containsKey("additionalProperties") && !(additional instanceof Boolean || additional instanceof Map)) {
            throw new IllegalArgumentException("\"additionalProperties\" must be a boolean or a schema, got "
                    + abbreviated(additional));
        }
        return buildObjectRule(properties, required, name, additional);
    }

    /**
     * {@code allOf}: the properties of every component (those under an {@code anyOf} optional), or, when every
     * component is an {@code enum}, the values they have in common.
     */
    private String allOfRule(List<?> components, String name) {
        Set<String> required = new HashSet<>();
        List<Property> properties = new ArrayList<>();
        // sorted like the reference's std::map of UTF-8 strings: by code point
        Map<String, Integer> enumCounts = new TreeMap<>(Comparator.comparing(SchemaConverter::codePoints, Arrays::compare));
        for (Object component : components) {
            Map<String, Object> schema = schemaObject(component);
            if (schema.containsKey("anyOf")) {
                for (Object alternative : list(schema, "anyOf")) {
                    addComponent(alternative, false, required, properties, enumCounts, 0);
                }
            } else {
                addComponent(schema, true, required, properties, enumCounts, 0);
            }
        }
        List<String> common = new ArrayList<>();
        enumCounts.forEach((literal, count) -> {
            if (count == components.size()) {
                common.add(literal);
            }
        });
        if (!common.isEmpty()) {
            return "(" + String.join(" | ", common) + ")";
        }
        return buildObjectRule(properties, required, name, null);
    }

    private void addComponent(Object component, boolean isRequired, Set<String> required, List<Property> properties,
                              Map<String, Integer> enumCounts, int refChain) {
        rules.step(1);
        Map<String, Object> schema = schemaObject(component);
        if (schema.containsKey("$ref")) {
            if (refChain > MAX_REF_CHAIN) {
                throw new IllegalArgumentException("circular $ref in allOf: " + ref(schema));
            }
            addComponent(refTarget(ref(schema)), isRequired, required, properties, enumCounts, refChain + 1);
        } else if (schema.containsKey("properties")) {
            for (Property property : properties(schema.get("properties"))) {
                rules.step(16 + property.name().length()); // kept, and visited later: about what a visit costs
                properties.add(property);
                if (isRequired) {
                    required.add(property.name());
                }
            }
        } else if (schema.containsKey("enum")) {
            for (Object value : list(schema, "enum")) {
                rules.step(1);
                enumCounts.merge(checkedConstant(value), 1, Integer::sum);
            }
        }
    }

    private String buildObjectRule(List<Property> properties, Set<String> required, String name, Object additional) {
        List<String> requiredProps = new ArrayList<>();
        List<String> optionalProps = new ArrayList<>();
        Map<String, String> kvRules = new HashMap<>();
        List<String> propNames = new ArrayList<>();
        for (Property property : properties) {
            String valueRule = visit(property.schema(), prefixed(name, property.name()));
            kvRules.put(property.name(), rules.add(prefixed(name, property.name() + "-kv"),
                    constant(property.name()) + " space \":\" space " + valueRule));
            (required.contains(property.name()) ? requiredProps : optionalProps).add(property.name());
            propNames.add(property.name());
        }
        requiredProps = inPropertyOrder(requiredProps);
        optionalProps = inPropertyOrder(optionalProps);
        if (Boolean.TRUE.equals(additional) || additional instanceof Map) {
            kvRules.put("*", additionalKvRule(name, additional, propNames));
            optionalProps.add("*");
        }
        if (requiredProps.isEmpty() && optionalProps.isEmpty()) {
            return "\"{\" space \"}\"";
        }
        StringBuilder rule = new StringBuilder("\"{\" space ");
        List<String> requiredKvs = new ArrayList<>();
        requiredProps.forEach(p -> requiredKvs.add(kvRules.get(p)));
        rule.append(String.join(" \",\" space ", requiredKvs));
        if (!optionalProps.isEmpty()) {
            rule.append(" (");
            if (!requiredProps.isEmpty()) {
                rule.append(" \",\" space ( ");
            }
            List<String> choices = optionalChoices(optionalProps, kvRules, name);
            rule.append(String.join(" | ", choices));
            if (!requiredProps.isEmpty()) {
                rule.append(" )");
            }
            rule.append(" )?");
        }
        return rule.append(" space \"}\"").toString();
    }

    private String additionalKvRule(String name, Object additional, List<String> propNames) {
        String subName = prefixed(name, "additional");
        String valueRule = additional instanceof Map ? visit(additional, subName + "-value") : rules.addPrimitive("value");
        String keyRule = propNames.isEmpty() ? rules.addPrimitive("string") : rules.add(subName + "-k", notStrings(propNames));
        return rules.add(subName + "-kv", keyRule + " \":\" space " + valueRule);
    }

    /**
     * The choices for the optional properties {@code keys} in order, each present or not: choice {@code i} starts
     * with property {@code i}, then a {@code -rest} rule holds the properties after it, each optional. {@code *}
     * stands for any number of additional properties. Built from the last property back, each {@code -rest} rule
     * once (the reference builds them again for each choice, which is quadratic).
     */
    private List<String> optionalChoices(List<String> keys, Map<String, String> kvRules, String name) {
        int k = keys.size();
        String[] rest = new String[k]; // rest[i]: the rule for the properties after i, or null for the last
        for (int j = k - 1; j >= 1; j--) {
            String body = optionalHead(keys.get(j), true, kvRules) + (rest[j] == null ? "" : " " + rest[j]);
            rest[j - 1] = rules.add(prefixed(name, keys.get(j - 1) + "-rest"), body);
        }
        List<String> choices = new ArrayList<>(k);
        for (int i = 0; i < k; i++) {
            choices.add(optionalHead(keys.get(i), false, kvRules) + (rest[i] == null ? "" : " " + rest[i]));
        }
        return choices;
    }

    /** Property {@code key} (optional, after a comma, or not) in a chain of optional properties. */
    private static String optionalHead(String key, boolean optional, Map<String, String> kvRules) {
        String kvRule = kvRules.get(key);
        String commaRef = "( \",\" space " + kvRule + " )";
        boolean additional = key.equals("*");
        return optional ? commaRef + (additional ? "*" : "?") : kvRule + (additional ? " " + commaRef + "*" : "");
    }

    /** Stable-sorts property names by their position in {@link JsonSchemaToGrammar.Options#propertyOrder()}. */
    private List<String> inPropertyOrder(List<String> names) {
        List<String> order = options.propertyOrder();
        if (order.isEmpty()) {
            return names;
        }
        Map<String, Integer> rank = new HashMap<>();
        for (int i = 0; i < order.size(); i++) {
            rank.put(order.get(i), i);
        }
        List<String> sorted = new ArrayList<>(names);
        sorted.sort(Comparator.comparingInt(n -> rank.getOrDefault(n, order.size())));
        return sorted;
    }

    /** A rule for a JSON string that is none of {@code strings} (the keys of additional properties). */
    private String notStrings(List<String> strings) {
        long keyChars = 0;
        for (String s : strings) {
            keyChars += s.length();
        }
        rules.step(keyChars);
        rules.checkChars(3 * keyChars); // each character of a key becomes at least "[c]"
        Trie trie = new Trie();
        for (String s : strings) {
            String json = NlohmannJson.dump(s);
            trie.insert(json.substring(1, json.length() - 1)); // the key as it appears between the quotes
        }
        String charRule = rules.addPrimitive("char");
        StringBuilder out = new StringBuilder("[\"] ( ");
        trie.writeNot(out, charRule);
        return out.append(" )").append(trie.end ? "" : "?").append(" [\"]").toString();
    }

    /** Prefix tree of the excluded keys, by code point. */
    private static final class Trie {
        private final TreeMap<Integer, Trie> children = new TreeMap<>();
        private boolean end;

        void insert(String s) {
            Trie node = this;
            for (int cp : s.codePoints().toArray()) {
                node = node.children.computeIfAbsent(cp, c -> new Trie());
            }
            node.end = true;
        }

        /**
         * Each child character followed by what must not follow it, or any other character then anything. Walks the
         * tree with a stack of its own: a key can be as long as the schema.
         */
        void writeNot(StringBuilder out, String charRule) {
            record Frame(Trie node, java.util.Iterator<Map.Entry<Integer, Trie>> children, List<Integer> rejects) {}
            java.util.ArrayDeque<Frame> stack = new java.util.ArrayDeque<>();
            stack.push(new Frame(this, children.entrySet().iterator(), new ArrayList<>()));
            while (!stack.isEmpty()) {
                Frame f = stack.peek();
                if (f.children().hasNext()) {
                    Map.Entry<Integer, Trie> e = f.children().next();
                    if (!f.rejects().isEmpty()) {
                        out.append(" | ");
                    }
                    f.rejects().add(e.getKey());
                    out.append("[").append(classChar(e.getKey(), true)).append("]");
                    if (!e.getValue().children.isEmpty()) {
                        out.append(" (");
                        stack.push(new Frame(e.getValue(), e.getValue().children.entrySet().iterator(), new ArrayList<>()));
                    } else if (e.getValue().end) {
                        out.append(" ").append(charRule).append("+");
                    }
                    continue;
                }
                if (!f.node().children.isEmpty()) {
                    out.append(" | [^\"");
                    List<Integer> rejects = f.rejects();
                    for (int i = 0; i < rejects.size(); i++) {
                        out.append(classChar(rejects.get(i), i == rejects.size() - 1));
                    }
                    out.append("] ").append(charRule).append("*");
                }
                stack.pop();
                if (!stack.isEmpty()) {
                    out.append(")");
                }
            }
        }

        /**
         * A character inside {@code [...]}: as it is, except the few that GBNF would read as syntax there
         * ({@code \}, {@code ]}, a lone {@code ^}, and a {@code -} that would make a range).
         */
        private static String classChar(int cp, boolean last) {
            return switch (cp) {
                case '\\' -> "\\\\";
                case ']' -> "\\]";
                case '^' -> "\\x5E";
                case '-' -> last ? "-" : "\\x2D";
                default -> Character.toString(cp);
            };
        }
    }

    // ---- arrays, strings, integers

    private String arrayRule(Map<String, Object> schema, String name) {
        Object items = schema.containsKey("items") ? schema.get("items") : schema.get("prefixItems");
        if (items instanceof List<?> tuple) {
            rules.checkChars(14L * tuple.size()); // each item takes at least ' "," space ' and a name of 3 characters
            List<String> itemRules = new ArrayList<>();
            for (int i = 0; i < tuple.size(); i++) {
                itemRules.add(visit(tuple.get(i), prefixed(name, "tuple-" + i)));
            }
            return "\"[\" space " + String.join(" \",\" space ", itemRules) + " space \"]\"";
        }
        String itemRule = visit(items, prefixed(name, "item"));
        int min = count(schema, "minItems", 0);
        int max = count(schema, "maxItems", Gbnf.UNBOUNDED);
        checkRepetition(min, max, "minItems", "maxItems", true);
        return "\"[\" space " + Gbnf.repetition(itemRule, min, max, "\",\" space") + " space \"]\"";
    }

    private String patternRule(String pattern, String ruleName) {
        int mark = rules.mark();
        try {
            PatternConverter converter = new PatternConverter(rules, options.dotall());
            String rule = converter.convert(pattern, ruleName, options.rawPattern());
            converter.loosened().forEach(what -> warnings.add("pattern " + shortened(pattern) + ": " + what));
            return rule;
        } catch (PatternConverter.Unsupported e) {
            rules.rollback(mark);
            warnings.add("pattern " + shortened(pattern) + " is not supported (" + e.getMessage() + "), accepting any string");
            return rules.add(ruleName, rules.addPrimitive("string"));
        } catch (PatternConverter.Invalid e) {
            throw new IllegalArgumentException("invalid pattern " + shortened(pattern) + ": " + e.getMessage());
        }
    }

    private String stringLengthRule(Map<String, Object> schema) {
        String charRule = rules.addPrimitive("char");
        int min = count(schema, "minLength", 0);
        int max = count(schema, "maxLength", Gbnf.UNBOUNDED);
        checkRepetition(min, max, "minLength", "maxLength", false);
        return "\"\\\"\" " + Gbnf.repetition(charRule, min, max, "") + " \"\\\"\"";
    }

    /** Integer bounds: {@code minimum} wins over {@code exclusiveMinimum}, {@code maximum} over {@code exclusiveMaximum}. */
    private static String integerRangeRule(Map<String, Object> schema) {
        long min = IntegerRange.NO_MIN;
        long max = IntegerRange.NO_MAX;
        if (schema.containsKey("minimum")) {
            min = integerBound(schema, "minimum", RoundingMode.CEILING, 0);
        } else if (schema.containsKey("exclusiveMinimum")) {
            min = integerBound(schema, "exclusiveMinimum", RoundingMode.FLOOR, 1);
        }
        if (schema.containsKey("maximum")) {
            max = integerBound(schema, "maximum", RoundingMode.FLOOR, 0);
        } else if (schema.containsKey("exclusiveMaximum")) {
            max = integerBound(schema, "exclusiveMaximum", RoundingMode.CEILING, -1);
        }
        if (min != IntegerRange.NO_MIN && max != IntegerRange.NO_MAX && min > max) {
            throw new IllegalArgumentException("no integer satisfies the bounds of " + abbreviated(schema)
                    + " (lowest " + min + ", highest " + max + ")");
        }
        return IntegerRange.rule(min, max);
    }

    /** The nearest integer inside the bound, moved by {@code step} for an exclusive bound. */
    private static long integerBound(Map<String, Object> schema, String key, RoundingMode rounding, int step) {
        BigDecimal value = number(schema, key);
        // a fraction nearer 0 than 1/2 rounds as 1/2 does: setScale on 1e-999999999 would divide by 10^999999999
        BigDecimal rounded = value.signum() != 0 && value.abs().compareTo(HALF) < 0 ? HALF.multiply(BigDecimal.valueOf(value.signum()))
                : value;
        BigDecimal bound = value.abs().compareTo(LOOSE_LONG_LIMIT) > 0 ? null
                : rounded.setScale(0, rounding).add(BigDecimal.valueOf(step));
        if (bound == null || bound.compareTo(BigDecimal.valueOf(Long.MIN_VALUE)) <= 0
                || bound.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) >= 0) {
            throw new IllegalArgumentException("\"" + key + "\" " + value + " is out of the supported range of 64-bit integers");
        }
        return bound.longValueExact();
    }

    // ---- keyword access with clear errors

    private static Map<String, Object> schemaObject(Object node) {
        if (node instanceof Map<?, ?> map) {
            @SuppressWarnings("unchecked")
            Map<String, Object> schema = (Map<String, Object>) map;
            return schema;
        }
        throw new IllegalArgumentException("unsupported schema " + abbreviated(node) + ": a schema must be a JSON object");
    }

    private static String primitiveType(Map<String, Object> schema, Object type) {
        if (type instanceof String name && BuiltinRules.PRIMITIVES.containsKey(name)) {
            return name;
        }
        throw new IllegalArgumentException("unrecognized schema " + abbreviated(schema) + ": \"type\" must be one of "
                + "\"string\", \"number\", \"integer\", \"boolean\", \"object\", \"array\", \"null\" or a list of them");
    }

    private static BuiltinRules.BuiltinRule primitive(Map<String, Object> schema, Object type) {
        return BuiltinRules.PRIMITIVES.get(primitiveType(schema, type));
    }

    private static boolean untypedOr(Object type, String name) {
        return type == null || name.equals(type);
    }

    private static boolean hasAny(Map<String, Object> schema, String... keys) {
        for (String key : keys) {
            if (schema.containsKey(key)) {
                return true;
            }
        }
        return false;
    }

    private static String ref(Map<String, Object> schema) {
        return refText(schema.get("$ref"));
    }

    private static String refText(Object ref) {
        if (ref instanceof String s) {
            return s;
        }
        throw new IllegalArgumentException("\"$ref\" must be a string, got " + abbreviated(ref));
    }

    private static List<?> list(Map<String, Object> schema, String key) {
        if (schema.get(key) instanceof List<?> list) {
            return list;
        }
        throw new IllegalArgumentException("\"" + key + "\" must be an array, got " + abbreviated(schema.get(key)));
    }

    private static List<String> stringList(Map<String, Object> schema, String key) {
        if (!schema.containsKey(key)) {
            return List.of();
        }
        List<String> strings = new ArrayList<>();
        for (Object item : list(schema, key)) {
            if (!(item instanceof String s)) {
                throw new IllegalArgumentException("\"" + key + "\" must be an array of strings, got "
                        + abbreviated(schema.get(key)));
            }
            strings.add(s);
        }
        return strings;
    }

    private static List<Property> properties(Object node) {
        if (node == null) {
            return List.of();
        }
        if (!(node instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("\"properties\" must be an object, got " + abbreviated(node));
        }
        List<Property> properties = new ArrayList<>();
        map.forEach((key, value) -> properties.add(new Property((String) key, value)));
        return properties;
    }

    private static String optionalString(Map<String, Object> schema, String key) {
        return schema.containsKey(key) ? requiredString(schema, key) : "";
    }

    private static String requiredString(Map<String, Object> schema, String key) {
        if (schema.get(key) instanceof String s) {
            return s;
        }
        throw new IllegalArgumentException("\"" + key + "\" must be a string, got " + abbreviated(schema.get(key)));
    }

    private static BigDecimal number(Map<String, Object> schema, String key) {
        if (schema.get(key) instanceof BigDecimal n) {
            return n;
        }
        throw new IllegalArgumentException("\"" + key + "\" must be a number, got " + abbreviated(schema.get(key)));
    }

    /** A count such as {@code minItems}: a non-negative integer; {@code absent} when the keyword is missing. */
    private static int count(Map<String, Object> schema, String key, int absent) {
        if (!schema.containsKey(key)) {
            return absent;
        }
        BigDecimal n = number(schema, key);
        if (n.signum() < 0 || n.stripTrailingZeros().scale() > 0 || n.compareTo(BigDecimal.valueOf(Integer.MAX_VALUE)) > 0) {
            throw new IllegalArgumentException("\"" + key + "\" must be a non-negative integer up to "
                    + Integer.MAX_VALUE + ", got " + n);
        }
        return n.intValueExact();
    }

    /**
     * Refuses a minimum above the maximum, and one that would make llama.cpp repeat a part too often; warns of a
     * maximum llama.cpp cannot enforce (see {@link Gbnf#repetition}). {@code separated}: items with a separator.
     */
    private void checkRepetition(int min, int max, String minKey, String maxKey, boolean separated) {
        if (max != Gbnf.UNBOUNDED && min > max) {
            throw new IllegalArgumentException("\"" + minKey + "\" " + min + " is greater than \"" + maxKey + "\" " + max);
        }
        if (Gbnf.repeatsTooOften(min, separated)) {
            throw new IllegalArgumentException("\"" + minKey + "\" " + min + " would make llama.cpp repeat a part "
                    + (separated ? min - 1 : min) + " times; it repeats one at most " + (Gbnf.REPETITION_THRESHOLD - 1) + " times");
        }
        if (!Gbnf.keepsMaximum(max, separated)) {
            warnings.add("\"" + maxKey + "\" " + max + " is beyond what llama.cpp's grammars enforce (a part repeated at most "
                    + (Gbnf.REPETITION_THRESHOLD - 1) + " times): not enforced");
        }
    }

    /** {@code text}, or its start when it is longer than 200 characters. */
    private static String shortened(String text) {
        return text.length() <= 200 ? text : text.substring(0, 200) + "...";
    }

    private static String prefixed(String name, String suffix) {
        return name.isEmpty() ? suffix : name + "-" + suffix;
    }

    private static int[] codePoints(String s) {
        return s.codePoints().toArray();
    }

    private static String abbreviated(Object value) {
        String text;
        try {
            text = NlohmannJson.dump(value);
        } catch (IllegalArgumentException e) { // a number beyond the double range: show it as parsed
            text = String.valueOf(value);
        }
        return text.length() <= 200 ? text : text.substring(0, 200) + "...";
    }
}
