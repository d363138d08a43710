package io.llamaffm.convert;

import java.util.List;
import java.util.Map;

/** One node of an ONNX graph: operator type, input and output value names (an absent optional input is ""), attributes. */
record OnnxNode(String name, String opType, List<String> inputs, List<String> outputs, Map<String, Attribute> attributes) {

    /**
     * One attribute; only the fields its type uses are set.
     *
     * @param f float value, {@code i} integer value, {@code s} string value, {@code t} tensor value, {@code ints}
     *          repeated integers, {@code floats} repeated floats
     */
    record Attribute(String name, float f, long i, String s, OnnxTensor t, long[] ints, float[] floats) {}

    String input(int index) {
        return index < inputs.size() ? inputs.get(index) : "";
    }

    String output() {
        return outputs.isEmpty() ? "" : outputs.getFirst();
    }

    @Override
    public String toString() {
        return opType + " " + name + " " + inputs + " -> " + outputs;
    }
}
