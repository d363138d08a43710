package io.llamaffm.embeddings;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A condition on an entry's metadata attributes, used to restrict a {@link VectorStore#search(float[], int,
 * MetadataFilter) search} or to {@link VectorStore#removeAll(MetadataFilter) remove} entries.
 *
 * <p>Attribute values are typed (see {@link VectorStore#add}): {@link String}, {@link Integer}, {@link Long},
 * {@link Float} or {@link Double}. The conditions compare them as follows:
 * <ul>
 *   <li>a string matches only a string; strings are ordered by Unicode code point;</li>
 *   <li>numbers compare by value whatever their type: {@code 5}, {@code 5L} and {@code 5.0} are equal (two
 *       integers exactly as {@code long}s, otherwise as {@code double}s);</li>
 *   <li>a string never equals a number, and an order comparison between a string and a number is false;</li>
 *   <li>a condition on an attribute the entry does not have is false, except {@link NotEqual} and {@link NotIn},
 *       which are true there (they are exactly {@code not(eq(..))} and {@code not(in(..))}).</li>
 * </ul>
 * Build filters with the static methods, e.g. {@code and(eq("lang", "en"), ge("year", 2020))}.
 */
public sealed interface MetadataFilter {

    /**
     * Whether the attributes of an entry satisfy this filter (the flat store evaluates filters with this; other
     * stores translate them and give the same answers).
     *
     * @param attributes the entry's attributes
     * @return whether they match
     */
    boolean test(Map<String, ?> attributes);

    /**
     * The attribute equals a value.
     *
     * @param key   the attribute
     * @param value a string or number
     */
    record Equal(String key, Object value) implements MetadataFilter {
        /** Validates the key and value. */
        public Equal {
            Attributes.checkKey(key);
            value = Attributes.checkValue(key, value);
        }

        @Override
        public boolean test(Map<String, ?> attributes) {
            Object actual = attributes.get(key);
            return actual != null && Attributes.equal(actual, value);
        }
    }

    /**
     * The attribute is absent or differs from a value: {@code not(eq(key, value))}.
     *
     * @param key   the attribute
     * @param value a string or number
     */
    record NotEqual(String key, Object value) implements MetadataFilter {
        /** Validates the key and value. */
        public NotEqual {
            Attributes.checkKey(key);
            value = Attributes.checkValue(key, value);
        }

        @Override
        public boolean test(Map<String, ?> attributes) {
            return !new Equal(key, value).test(attributes);
        }
    }

    /**
     * The attribute equals one of some values (none: matches nothing).
     *
     * @param key    the attribute
     * @param values strings or numbers
     */
    record In(String key, List<Object> values) implements MetadataFilter {
        /** Validates and copies the values. */
        public In {
            Attributes.checkKey(key);
            values = Attributes.checkValues(key, values);
        }

        @Override
        public boolean test(Map<String, ?> attributes) {
            Object actual = attributes.get(key);
            return actual != null && values.stream().anyMatch(v -> Attributes.equal(actual, v));
        }
    }

    /**
     * The attribute is absent or equals none of some values: {@code not(in(key, values))}.
     *
     * @param key    the attribute
     * @param values strings or numbers
     */
    record NotIn(String key, List<Object> values) implements MetadataFilter {
        /** Validates and copies the values. */
        public NotIn {
            Attributes.checkKey(key);
            values = Attributes.checkValues(key, values);
        }

        @Override
        public boolean test(Map<String, ?> attributes) {
            return !new In(key, values).test(attributes);
        }
    }

    /** An order comparison. */
    enum Op {
        /** attribute &lt; value */
        LESS_THAN,
        /** attribute &lt;= value */
        LESS_OR_EQUAL,
        /** attribute &gt; value */
        GREATER_THAN,
        /** attribute &gt;= value */
        GREATER_OR_EQUAL;

        boolean holds(int comparison) {
            return switch (this) {
                case LESS_THAN -> comparison < 0;
                case LESS_OR_EQUAL -> comparison <= 0;
                case GREATER_THAN -> comparison > 0;
                case GREATER_OR_EQUAL -> comparison >= 0;
            };
        }
    }

    /**
     * The attribute compares to a value as {@code op} says (numbers by value, strings by code point).
     *
     * @param key   the attribute
     * @param op    the comparison
     * @param value a string or number
     */
    record Compare(String key, Op op, Object value) implements MetadataFilter {
        /** Validates the key and value. */
        public Compare {
            Attributes.checkKey(key);
            Objects.requireNonNull(op, "op");
            value = Attributes.checkValue(key, value);
        }

        @Override
        public boolean test(Map<String, ?> attributes) {
            Object actual = attributes.get(key);
            if (actual == null || (actual instanceof String) != (value instanceof String)) {
                return false;
            }
            return op.holds(Attributes.compare(actual, value));
        }
    }

    /**
     * The attribute is a string that contains a substring.
     *
     * @param key       the attribute
     * @param substring the text looked for
     */
    record Contains(String key, String substring) implements MetadataFilter {
        /** Validates the key and substring. */
        public Contains {
            Attributes.checkKey(key);
            Attributes.checkValue(key, substring);
        }

        @Override
        public boolean test(Map<String, ?> attributes) {
            return attributes.get(key) instanceof String s && s.contains(substring);
        }
    }

    /**
     * Every filter matches (none: always true).
     *
     * @param filters the filters
     */
    record And(List<MetadataFilter> filters) implements MetadataFilter {
        /** Copies the list. */
        public And {
            filters = List.copyOf(filters);
        }

        @Override
        public boolean test(Map<String, ?> attributes) {
            return filters.stream().allMatch(f -> f.test(attributes));
        }
    }

    /**
     * Some filter matches (none: always false).
     *
     * @param filters the filters
     */
    record Or(List<MetadataFilter> filters) implements MetadataFilter {
        /** Copies the list. */
        public Or {
            filters = List.copyOf(filters);
        }

        @Override
        public boolean test(Map<String, ?> attributes) {
            return filters.stream().anyMatch(f -> f.test(attributes));
        }
    }

    /**
     * The filter does not match.
     *
     * @param filter the filter negated
     */
    record Not(MetadataFilter filter) implements MetadataFilter {
        /** Validates the filter. */
        public Not {
            Objects.requireNonNull(filter, "filter");
        }

        @Override
        public boolean test(Map<String, ?> attributes) {
            return !filter.test(attributes);
        }
    }

    /**
     * Filter: {@code key == value}.
     *
     * @param key the attribute
     * @param value a string or number
     * @return {@code key == value}
     */
    static MetadataFilter eq(String key, Object value) {
        return new Equal(key, value);
    }

    /**
     * Filter: {@code key} absent or {@code != value}.
     *
     * @param key the attribute
     * @param value a string or number
     * @return {@code key} absent or {@code != value}
     */
    static MetadataFilter ne(String key, Object value) {
        return new NotEqual(key, value);
    }

    /**
     * Filter: {@code key} is one of the values.
     *
     * @param key the attribute
     * @param values strings or numbers
     * @return {@code key} is one of the values
     */
    static MetadataFilter in(String key, Object... values) {
        return new In(key, List.of(values));
    }

    /**
     * Filter: {@code key} absent or none of the values.
     *
     * @param key the attribute
     * @param values strings or numbers
     * @return {@code key} absent or none of the values
     */
    static MetadataFilter notIn(String key, Object... values) {
        return new NotIn(key, List.of(values));
    }

    /**
     * Filter: {@code key < value}.
     *
     * @param key the attribute
     * @param value a string or number
     * @return {@code key < value}
     */
    static MetadataFilter lt(String key, Object value) {
        return new Compare(key, Op.LESS_THAN, value);
    }

    /**
     * Filter: {@code key <= value}.
     *
     * @param key the attribute
     * @param value a string or number
     * @return {@code key <= value}
     */
    static MetadataFilter le(String key, Object value) {
        return new Compare(key, Op.LESS_OR_EQUAL, value);
    }

    /**
     * Filter: {@code key > value}.
     *
     * @param key the attribute
     * @param value a string or number
     * @return {@code key > value}
     */
    static MetadataFilter gt(String key, Object value) {
        return new Compare(key, Op.GREATER_THAN, value);
    }

    /**
     * Filter: {@code key >= value}.
     *
     * @param key the attribute
     * @param value a string or number
     * @return {@code key >= value}
     */
    static MetadataFilter ge(String key, Object value) {
        return new Compare(key, Op.GREATER_OR_EQUAL, value);
    }

    /**
     * Filter: {@code key} is a string containing it.
     *
     * @param key the attribute
     * @param substring the text
     * @return {@code key} is a string containing it
     */
    static MetadataFilter contains(String key, String substring) {
        return new Contains(key, substring);
    }

    /**
     * Filter: all of them match.
     *
     * @param filters the filters
     * @return all of them match
     */
    static MetadataFilter and(MetadataFilter... filters) {
        return new And(List.of(filters));
    }

    /**
     * Filter: one of them matches.
     *
     * @param filters the filters
     * @return one of them matches
     */
    static MetadataFilter or(MetadataFilter... filters) {
        return new Or(List.of(filters));
    }

    /**
     * Filter: it does not match.
     *
     * @param filter the filter
     * @return it does not match
     */
    static MetadataFilter not(MetadataFilter filter) {
        return new Not(filter);
    }
}
