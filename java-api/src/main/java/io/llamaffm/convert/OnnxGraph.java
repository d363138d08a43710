package io.llamaffm.convert;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The graph of an ONNX model (ModelProto.graph), read by hand from the protobuf wire format: nodes, initializers (and
 * the values of Constant nodes), graph inputs and outputs. The file is memory-mapped; tensor data stays a view into it
 * until {@link #close()}. Sparse initializers and external data are refused with a clear message.
 */
final class OnnxGraph implements AutoCloseable {
    private final Arena arena;
    private final List<OnnxNode> nodes;
    private final Map<String, OnnxTensor> initializers;
    private final List<String> inputs;
    private final List<String> outputs;
    private final String producer;

    private OnnxGraph(Arena arena, List<OnnxNode> nodes, Map<String, OnnxTensor> initializers, List<String> inputs,
                      List<String> outputs, String producer) {
        this.arena = arena;
        this.nodes = List.copyOf(nodes);
        this.initializers = Collections.unmodifiableMap(initializers);
        this.inputs = List.copyOf(inputs);
        this.outputs = List.copyOf(outputs);
        this.producer = producer;
    }

    /**
     * Maps and parses {@code file}.
     *
     * @throws OnnxFormatException if the file cannot be read or is not a well-formed ONNX model
     */
    static OnnxGraph read(Path file) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment data = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            return parse(data, file.toString(), arena);
        } catch (IOException e) {
            arena.close();
            throw new OnnxFormatException("cannot read ONNX file " + file + ": " + e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Parses ONNX bytes in memory (the caller keeps {@code data} alive while the graph is used). */
    static OnnxGraph parse(MemorySegment data, String source) {
        return parse(data, source, null);
    }

    private static OnnxGraph parse(MemorySegment data, String source, Arena arena) {
        ProtoReader model = new ProtoReader(data, source, 0);
        ProtoReader graph = null;
        String producer = "";
        while (model.next()) {
            switch (model.field()) {
                case 2 -> producer = model.fieldString();
                case 7 -> graph = model.fieldMessage();
                default -> model.skip();
            }
        }
        if (graph == null) {
            throw new OnnxFormatException(source + ": not an ONNX model (no graph in the ModelProto)");
        }
        List<OnnxNode> nodes = new ArrayList<>();
        Map<String, OnnxTensor> initializers = new LinkedHashMap<>();
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        while (graph.next()) {
            switch (graph.field()) {
                case 1 -> nodes.add(node(graph.fieldMessage(), source));
                case 5 -> {
                    OnnxTensor t = tensor(graph.fieldMessage(), source);
                    initializers.put(t.name(), t);
                }
                case 11 -> inputs.add(valueInfoName(graph.fieldMessage()));
                case 12 -> outputs.add(valueInfoName(graph.fieldMessage()));
                case 15 -> throw graph.error("sparse initializers are not supported");
                default -> graph.skip();
            }
        }
        for (OnnxNode n : nodes) {
            if (n.opType().equals("Constant") && n.attributes().get("value") instanceof OnnxNode.Attribute a && a.t() != null) {
                OnnxTensor t = a.t();
                initializers.putIfAbsent(n.output(), new OnnxTensor(n.output(), t.dims(), t.dataType(), t.raw(),
                        t.floatData(), t.longData()));
            }
        }
        return new OnnxGraph(arena, nodes, initializers, inputs, outputs, producer);
    }

    private static String valueInfoName(ProtoReader r) {
        String name = "";
        while (r.next()) {
            if (r.field() == 1) name = r.fieldString(); else r.skip();
        }
        return name;
    }

    private static OnnxNode node(ProtoReader r, String source) {
        List<String> in = new ArrayList<>();
        List<String> out = new ArrayList<>();
        String name = "";
        String op = "";
        Map<String, OnnxNode.Attribute> attrs = new LinkedHashMap<>();
        while (r.next()) {
            switch (r.field()) {
                case 1 -> in.add(r.fieldString());
                case 2 -> out.add(r.fieldString());
                case 3 -> name = r.fieldString();
                case 4 -> op = r.fieldString();
                case 5 -> {
                    OnnxNode.Attribute a = attribute(r.fieldMessage(), source);
                    attrs.put(a.name(), a);
                }
                default -> r.skip();
            }
        }
        if (op.isEmpty()) throw r.error("node '" + name + "' has no op_type");
        return new OnnxNode(name, op, List.copyOf(in), List.copyOf(out), Collections.unmodifiableMap(attrs));
    }

    private static OnnxNode.Attribute attribute(ProtoReader r, String source) {
        String name = "";
        float f = 0;
        long i = 0;
        String s = null;
        OnnxTensor t = null;
        ProtoReader.LongList ints = new ProtoReader.LongList();
        List<Float> floats = new ArrayList<>();
        while (r.next()) {
            switch (r.field()) {
                case 1 -> name = r.fieldString();
                case 2 -> f = r.fieldFixed32Float();
                case 3 -> i = r.fieldVarint();
                case 4 -> s = r.fieldString();
                case 5 -> t = tensor(r.fieldMessage(), source);
                case 7 -> {
                    if (r.wireType() == ProtoReader.FIXED32) {
                        floats.add(r.fieldFixed32Float());
                    } else {
                        MemorySegment packed = r.fieldBytes();
                        for (long k = 0; k + 4 <= packed.byteSize(); k += 4) {
                            floats.add(packed.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), k));
                        }
                    }
                }
                case 8 -> r.repeatedVarint(ints);
                default -> r.skip();
            }
        }
        float[] fl = new float[floats.size()];
        for (int k = 0; k < fl.length; k++) fl[k] = floats.get(k);
        return new OnnxNode.Attribute(name, f, i, s, t, ints.toArray(), fl);
    }

    private static OnnxTensor tensor(ProtoReader r, String source) {
        ProtoReader.LongList dims = new ProtoReader.LongList();
        ProtoReader.LongList int64Data = new ProtoReader.LongList();
        ProtoReader.LongList int32Data = new ProtoReader.LongList();
        boolean hasInt64 = false;
        boolean hasInt32 = false;
        int dataType = 0;
        String name = "";
        MemorySegment raw = null;
        MemorySegment packedFloats = null;
        List<Float> looseFloats = null;
        boolean external = false;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> r.repeatedVarint(dims);
                case 2 -> dataType = (int) r.fieldVarint();
                case 4 -> {
                    if (r.wireType() == ProtoReader.FIXED32) {
                        if (looseFloats == null) looseFloats = new ArrayList<>();
                        looseFloats.add(r.fieldFixed32Float());
                    } else {
                        packedFloats = r.fieldBytes();
                    }
                }
                case 5 -> { hasInt32 = true; r.repeatedVarint(int32Data); }
                case 7 -> { hasInt64 = true; r.repeatedVarint(int64Data); }
                case 8 -> name = r.fieldString();
                case 9 -> raw = r.fieldBytes();
                case 14 -> external = r.fieldVarint() == 1;
                default -> r.skip();
            }
        }
        if (external) {
            throw new OnnxFormatException(source + ": tensor '" + name + "' keeps its data in an external file, which is "
                    + "not supported (save the model with all tensors inside the .onnx file)");
        }
        long[] shape = dims.toArray();
        long count = 1;
        for (long d : shape) {
            if (d < 0) throw r.error("tensor '" + name + "' has a negative dimension " + d);
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                throw r.error("tensor '" + name + "' has an overflowing shape " + java.util.Arrays.toString(shape));
            }
        }
        OnnxTensor t;
        if (raw != null) {
            int eb = OnnxTensor.elementBytes(dataType);
            if (eb < 0) {
                t = new OnnxTensor(name, shape, dataType, raw, null, null); // unreadable type: kept, refused if used
            } else {
                if (count > raw.byteSize() / eb || count * eb != raw.byteSize()) {
                    throw r.error("tensor '" + name + "' of shape " + java.util.Arrays.toString(shape) + " and type "
                            + dataType + " needs " + count + " elements, its raw_data has " + raw.byteSize() + " bytes");
                }
                t = new OnnxTensor(name, shape, dataType, raw, null, null);
            }
        } else if (packedFloats != null || looseFloats != null) {
            float[] values;
            if (packedFloats != null) {
                if (packedFloats.byteSize() % 4 != 0) throw r.error("tensor '" + name + "': float_data is not a whole number of floats");
                values = packedFloats.toArray(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN));
            } else {
                values = new float[looseFloats.size()];
                for (int k = 0; k < values.length; k++) values[k] = looseFloats.get(k);
            }
            if (values.length != count) {
                throw r.error("tensor '" + name + "' of shape " + java.util.Arrays.toString(shape) + " has "
                        + values.length + " float_data values");
            }
            t = new OnnxTensor(name, shape, dataType, null, values, null);
        } else if (hasInt64 || hasInt32) {
            long[] values = (hasInt64 ? int64Data : int32Data).toArray();
            if (values.length != count) {
                throw r.error("tensor '" + name + "' of shape " + java.util.Arrays.toString(shape) + " has "
                        + values.length + " integer values");
            }
            t = new OnnxTensor(name, shape, dataType, null, null, values);
        } else if (count == 0) {
            t = new OnnxTensor(name, shape, dataType, MemorySegment.ofArray(new byte[0]), null, null);
        } else {
            t = new OnnxTensor(name, shape, dataType, null, null, null); // no readable data: refused if used
        }
        return t;
    }

    List<OnnxNode> nodes() {
        return nodes;
    }

    /** Initializers and Constant node values, by value name. */
    Map<String, OnnxTensor> initializers() {
        return initializers;
    }

    List<String> inputs() {
        return inputs;
    }

    List<String> outputs() {
        return outputs;
    }

    String producer() {
        return producer;
    }

    @Override
    public void close() {
        if (arena != null) arena.close();
    }
}
