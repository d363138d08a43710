package io.llamaffm.embeddings;

import java.util.Arrays;
import java.util.Map;
import java.util.Objects;

/**
 * An entry of a {@link VectorStore} as stored.
 *
 * @param id         the entry's id
 * @param vector     the entry's vector scaled to length 1 (a copy)
 * @param text       the entry's text, or {@code null}
 * @param attributes the entry's metadata attributes (unmodifiable, sorted by key)
 */
public record VectorRecord(String id, float[] vector, String text, Map<String, Object> attributes) {
    /** Copies the vector and attributes. */
    public VectorRecord {
        Objects.requireNonNull(id, "id");
        vector = vector.clone();
        attributes = Attributes.copyOf(attributes);
    }

    /** {@return a copy of the normalized vector} */
    @Override
    public float[] vector() {
        return vector.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VectorRecord(String i, float[] v, String t, Map<String, Object> a)
                && id.equals(i) && Arrays.equals(vector, v) && Objects.equals(text, t) && attributes.equals(a);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, Arrays.hashCode(vector), text, attributes);
    }

    @Override
    public String toString() {
        return "VectorRecord[id=" + id + ", vector=" + Arrays.toString(vector) + ", text=" + text
                + ", attributes=" + attributes + "]";
    }
}
