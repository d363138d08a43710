package io.llamaffm.lucene;

import io.llamaffm.embeddings.Attributes;
import io.llamaffm.embeddings.MetadataFilter;
import io.llamaffm.embeddings.MetadataFilter.And;
import io.llamaffm.embeddings.MetadataFilter.Compare;
import io.llamaffm.embeddings.MetadataFilter.Contains;
import io.llamaffm.embeddings.MetadataFilter.Equal;
import io.llamaffm.embeddings.MetadataFilter.In;
import io.llamaffm.embeddings.MetadataFilter.Not;
import io.llamaffm.embeddings.MetadataFilter.NotEqual;
import io.llamaffm.embeddings.MetadataFilter.NotIn;
import io.llamaffm.embeddings.MetadataFilter.Op;
import io.llamaffm.embeddings.MetadataFilter.Or;
import org.apache.lucene.document.DoublePoint;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.BooleanClause.Occur;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermInSetQuery;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TermRangeQuery;
import org.apache.lucene.search.WildcardQuery;
import org.apache.lucene.util.BytesRef;

import java.util.ArrayList;
import java.util.List;

/**
 * Translates a {@link MetadataFilter} into a Lucene query over the fields {@link LuceneVectorStore} indexes for
 * attributes: {@code s.KEY} (a string, as one term), {@code l.KEY} (an integer, a LongPoint), {@code f.KEY}
 * (a float or double, a DoublePoint). Numbers compare by value across the two numeric fields as the filter model
 * says: integers among themselves exactly, everything else as doubles.
 */
final class FilterQueries {
    private FilterQueries() {}

    static String stringField(String key) {
        return "s." + key;
    }

    static String longField(String key) {
        return "l." + key;
    }

    static String doubleField(String key) {
        return "f." + key;
    }

    /**
     * The query of a filter.
     *
     * @throws IllegalArgumentException if the query has more clauses than Lucene allows
     */
    static Query of(MetadataFilter filter) {
        try {
            return toQuery(filter);
        } catch (IndexSearcher.TooManyClauses e) {
            throw tooLarge(e);
        }
    }

    /** The exception for a filter whose query has more clauses than Lucene allows (when built or when searched). */
    static IllegalArgumentException tooLarge(IndexSearcher.TooManyClauses e) {
        return new IllegalArgumentException("the filter is too large for Lucene (" + e.getMessage() + "): use in/notIn "
                + "for long lists of values rather than an or of many conditions", e);
    }

    private static Query toQuery(MetadataFilter filter) {
        return switch (filter) {
            case Equal(String key, Object value) -> equal(key, value);
            case NotEqual(String key, Object value) -> not(equal(key, value));
            case In(String key, List<Object> values) -> oneOf(key, values);
            case NotIn(String key, List<Object> values) -> not(oneOf(key, values));
            case Compare(String key, Op op, Object value) -> compare(key, op, value);
            case Contains(String key, String substring) ->
                    new WildcardQuery(new Term(stringField(key), "*" + escapeWildcard(substring) + "*"));
            case And(List<MetadataFilter> filters) -> {
                if (filters.isEmpty()) {
                    yield new MatchAllDocsQuery();
                }
                BooleanQuery.Builder b = new BooleanQuery.Builder();
                filters.forEach(f -> b.add(toQuery(f), Occur.FILTER));
                yield b.build();
            }
            case Or(List<MetadataFilter> filters) -> any(filters.stream().map(FilterQueries::toQuery).toList());
            case Not(MetadataFilter inner) -> not(toQuery(inner));
        };
    }

    private static Query equal(String key, Object value) {
        if (value instanceof String s) {
            return new TermQuery(new Term(stringField(key), s));
        }
        return numeric(key, null, value);
    }

    /**
     * Equal to one of {@code values}, as set queries (one per field) rather than one clause per value, so that a list
     * of any length stays within Lucene's limit on the clauses of a query.
     */
    private static Query oneOf(String key, List<Object> values) {
        List<BytesRef> strings = new ArrayList<>();
        List<Double> doubles = new ArrayList<>();
        List<Long> longs = new ArrayList<>();
        for (Object v : values) {
            if (v instanceof String s) {
                strings.add(new BytesRef(s));
                continue;
            }
            Number n = (Number) v;
            double d = n.doubleValue() + 0.0; // as equal(): -0.0 is 0.0
            doubles.add(d);
            if (Attributes.isIntegral(n)) {
                longs.add(n.longValue());
            } else if (d == Math.rint(d) && d >= -0x1p63 && d < 0x1p63) {
                longs.add((long) d); // an integer-valued double equals that integer
            }
        }
        List<Query> parts = new ArrayList<>(3);
        if (!strings.isEmpty()) {
            parts.add(new TermInSetQuery(stringField(key), strings));
        }
        if (!doubles.isEmpty()) {
            parts.add(DoublePoint.newSetQuery(doubleField(key), doubles.stream().mapToDouble(Double::doubleValue).toArray()));
        }
        if (!longs.isEmpty()) {
            parts.add(LongPoint.newSetQuery(longField(key), longs.stream().mapToLong(Long::longValue).toArray()));
        }
        return any(parts);
    }

    private static Query compare(String key, Op op, Object value) {
        if (value instanceof String s) {
            String field = stringField(key);
            return switch (op) {
                case LESS_THAN -> TermRangeQuery.newStringRange(field, null, s, true, false);
                case LESS_OR_EQUAL -> TermRangeQuery.newStringRange(field, null, s, true, true);
                case GREATER_THAN -> TermRangeQuery.newStringRange(field, s, null, false, true);
                case GREATER_OR_EQUAL -> TermRangeQuery.newStringRange(field, s, null, true, true);
            };
        }
        return numeric(key, op, value);
    }

    /** {@code op == null} means equality. */
    private static Query numeric(String key, Op op, Object value) {
        Number n = (Number) value;
        double d = n.doubleValue() + 0.0; // -0.0 is indexed and compared as 0.0
        Query onDoubles = doubleRange(doubleField(key), op, d);
        Query onLongs = Attributes.isIntegral(n) ? longRange(longField(key), op, n.longValue())
                : longRangeForDouble(longField(key), op, d);
        return any(List.of(onDoubles, onLongs));
    }

    private static Query doubleRange(String field, Op op, double b) {
        if (op == null) {
            return DoublePoint.newExactQuery(field, b);
        }
        return switch (op) {
            case LESS_THAN -> DoublePoint.newRangeQuery(field, Double.NEGATIVE_INFINITY, Math.nextDown(b));
            case LESS_OR_EQUAL -> DoublePoint.newRangeQuery(field, Double.NEGATIVE_INFINITY, b);
            case GREATER_THAN -> DoublePoint.newRangeQuery(field, Math.nextUp(b), Double.POSITIVE_INFINITY);
            case GREATER_OR_EQUAL -> DoublePoint.newRangeQuery(field, b, Double.POSITIVE_INFINITY);
        };
    }

    private static Query longRange(String field, Op op, long v) {
        if (op == null) {
            return LongPoint.newExactQuery(field, v);
        }
        return switch (op) {
            case LESS_THAN -> v == Long.MIN_VALUE ? new MatchNoDocsQuery() : LongPoint.newRangeQuery(field, Long.MIN_VALUE, v - 1);
            case LESS_OR_EQUAL -> LongPoint.newRangeQuery(field, Long.MIN_VALUE, v);
            case GREATER_THAN -> v == Long.MAX_VALUE ? new MatchNoDocsQuery() : LongPoint.newRangeQuery(field, v + 1, Long.MAX_VALUE);
            case GREATER_OR_EQUAL -> LongPoint.newRangeQuery(field, v, Long.MAX_VALUE);
        };
    }

    /**
     * Integers compared with a double bound (exact for integers of magnitude below 2^53, which convert to double
     * exactly; beyond, the bound saturates at the long range).
     */
    private static Query longRangeForDouble(String field, Op op, double b) {
        double lo;
        double hi;
        if (op == null) {
            if (b != Math.rint(b)) {
                return new MatchNoDocsQuery();
            }
            lo = b;
            hi = b;
        } else {
            switch (op) {
                case LESS_THAN -> { lo = Double.NEGATIVE_INFINITY; hi = Math.ceil(b) - 1; }
                case LESS_OR_EQUAL -> { lo = Double.NEGATIVE_INFINITY; hi = Math.floor(b); }
                case GREATER_THAN -> { lo = Math.floor(b) + 1; hi = Double.POSITIVE_INFINITY; }
                default -> { lo = Math.ceil(b); hi = Double.POSITIVE_INFINITY; }
            }
        }
        if (lo > 0x1p63 || hi < -0x1p63 || lo > hi) {
            return new MatchNoDocsQuery();
        }
        return LongPoint.newRangeQuery(field, (long) lo, (long) hi); // the casts saturate at the long range
    }

    private static Query any(List<Query> queries) {
        if (queries.isEmpty()) {
            return new MatchNoDocsQuery();
        }
        if (queries.size() == 1) {
            return queries.getFirst();
        }
        BooleanQuery.Builder b = new BooleanQuery.Builder().setMinimumNumberShouldMatch(1);
        queries.forEach(q -> b.add(q, Occur.SHOULD));
        return b.build();
    }

    private static Query not(Query q) {
        return new BooleanQuery.Builder().add(new MatchAllDocsQuery(), Occur.FILTER).add(q, Occur.MUST_NOT).build();
    }

    private static String escapeWildcard(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '*' || c == '?' || c == '\\') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }
}
