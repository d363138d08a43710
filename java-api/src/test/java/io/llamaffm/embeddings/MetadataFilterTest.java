package io.llamaffm.embeddings;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.llamaffm.embeddings.MetadataFilter.and;
import static io.llamaffm.embeddings.MetadataFilter.contains;
import static io.llamaffm.embeddings.MetadataFilter.eq;
import static io.llamaffm.embeddings.MetadataFilter.ge;
import static io.llamaffm.embeddings.MetadataFilter.gt;
import static io.llamaffm.embeddings.MetadataFilter.in;
import static io.llamaffm.embeddings.MetadataFilter.le;
import static io.llamaffm.embeddings.MetadataFilter.lt;
import static io.llamaffm.embeddings.MetadataFilter.ne;
import static io.llamaffm.embeddings.MetadataFilter.not;
import static io.llamaffm.embeddings.MetadataFilter.notIn;
import static io.llamaffm.embeddings.MetadataFilter.or;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetadataFilterTest {
    private static final Map<String, Object> DOC = Map.of("lang", "en", "year", 2021, "size", 5L, "score", 0.75,
            "ratio", 0.5f, "emoji", "\uD83D\uDE00");

    @Test
    void equalityComparesNumbersByValueAcrossTypes() {
        assertTrue(eq("lang", "en").test(DOC));
        assertFalse(eq("lang", "EN").test(DOC));
        assertTrue(eq("year", 2021L).test(DOC));
        assertTrue(eq("year", 2021.0).test(DOC));
        assertTrue(eq("size", 5).test(DOC));
        assertTrue(eq("ratio", 0.5).test(DOC));
        assertFalse(eq("score", 0.75f + 1e-6f).test(DOC));
        assertFalse(eq("year", "2021").test(DOC), "a string never equals a number");
        assertFalse(eq("missing", 1).test(DOC));
        assertTrue(eq("n", 0.0).test(Map.of("n", -0.0)), "-0.0 equals 0.0");
    }

    @Test
    void negationsMatchAbsentAttributes() {
        assertTrue(ne("missing", 1).test(DOC));
        assertTrue(ne("lang", "fr").test(DOC));
        assertFalse(ne("lang", "en").test(DOC));
        assertTrue(ne("year", "2021").test(DOC));
        assertTrue(notIn("missing", 1, 2).test(DOC));
        assertFalse(notIn("year", 1, 2021L).test(DOC));
        assertTrue(notIn("year", 1, 2).test(DOC));
        assertEquals(not(eq("lang", "en")).test(DOC), ne("lang", "en").test(DOC));
    }

    @Test
    void inMatchesAnyValue() {
        assertTrue(in("lang", "fr", "en").test(DOC));
        assertFalse(in("lang", "fr", "de").test(DOC));
        assertTrue(in("size", 4.0, 5.0).test(DOC));
        assertFalse(new MetadataFilter.In("lang", List.of()).test(DOC));
    }

    @Test
    void comparisons() {
        assertTrue(gt("year", 2020).test(DOC));
        assertFalse(gt("year", 2021).test(DOC));
        assertTrue(ge("year", 2021).test(DOC));
        assertTrue(lt("year", 2021.5).test(DOC));
        assertFalse(lt("year", 2020.5).test(DOC));
        assertTrue(le("score", 0.75).test(DOC));
        assertFalse(lt("score", 0.75).test(DOC));
        assertTrue(gt("lang", "de").test(DOC));
        assertFalse(gt("lang", "fr").test(DOC));
        assertFalse(gt("lang", 1).test(DOC), "a string and a number do not compare");
        assertFalse(lt("year", "z").test(DOC));
        assertFalse(gt("missing", 0).test(DOC));
        // code point order: U+1F600 (a surrogate pair in UTF-16) sorts after U+FFFD
        assertTrue(gt("emoji", "\uFFFD").test(DOC));
        assertTrue(Long.MAX_VALUE > Long.MAX_VALUE - 1 && gt("n", Long.MAX_VALUE - 1).test(Map.of("n", Long.MAX_VALUE)),
                "two longs compare exactly, not as doubles");
    }

    @Test
    void containsString() {
        assertTrue(contains("lang", "n").test(DOC));
        assertFalse(contains("lang", "x").test(DOC));
        assertFalse(contains("year", "20").test(DOC));
    }

    @Test
    void logic() {
        assertTrue(and(eq("lang", "en"), gt("year", 2000)).test(DOC));
        assertFalse(and(eq("lang", "en"), gt("year", 2030)).test(DOC));
        assertTrue(or(eq("lang", "fr"), gt("year", 2000)).test(DOC));
        assertFalse(or(eq("lang", "fr"), gt("year", 2030)).test(DOC));
        assertTrue(and().test(DOC));
        assertFalse(or().test(DOC));
        assertTrue(not(or(eq("lang", "fr"), gt("year", 2030))).test(DOC));
    }

    @Test
    void invalidFiltersAreRefused() {
        assertEquals("attribute k: a value must be a String, Integer, Long, Float or Double, not java.lang.Boolean",
                assertThrows(IllegalArgumentException.class, () -> eq("k", true)).getMessage());
        assertEquals("attribute k: the value NaN is not finite",
                assertThrows(IllegalArgumentException.class, () -> gt("k", Double.NaN)).getMessage());
        assertEquals("attribute k: the value is null",
                assertThrows(IllegalArgumentException.class, () -> new MetadataFilter.Equal("k", null)).getMessage());
        assertEquals("an attribute key must not be empty",
                assertThrows(IllegalArgumentException.class, () -> eq("", 1)).getMessage());
        assertThrows(NullPointerException.class, () -> not(null));
    }

    @Test
    void attributesAreValidatedAndSorted() {
        assertEquals(List.of("a", "b", "c"),
                List.copyOf(Attributes.copyOf(Map.of("c", 1, "a", "x", "b", 2.0)).keySet()));
        assertEquals(Map.of(), Attributes.copyOf(null));
        assertThrows(IllegalArgumentException.class, () -> Attributes.copyOf(Map.of("k", "\uD800")));
        assertThrows(IllegalArgumentException.class, () -> Attributes.copyOf(Map.of("k", Float.POSITIVE_INFINITY)));
        assertThrows(IllegalArgumentException.class, () -> Attributes.copyOf(Map.of("k", new Object())));
    }
}
