package io.llamaffm.convert;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hand-written ONNX (protobuf) reader on small hand-encoded models and on corrupt bytes. */
class OnnxGraphTest {
    /** A protobuf message builder (wire format), enough for ONNX test models. */
    static final class Msg {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Msg varint(int field, long v) {
            tag(field, 0);
            raw(v);
            return this;
        }

        Msg bytes(int field, byte[] b) {
            tag(field, 2);
            raw(b.length);
            out.writeBytes(b);
            return this;
        }

        Msg str(int field, String s) {
            return bytes(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Msg msg(int field, Msg m) {
            return bytes(field, m.out.toByteArray());
        }

        private void tag(int field, int type) {
            raw((long) field << 3 | type);
        }

        private void raw(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) (v & 0x7F) | 0x80);
                v >>>= 7;
            }
            out.write((int) v);
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    private static byte[] floats(float... v) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(v.length * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (float f : v) b.putFloat(f);
        return b.array();
    }

    private static OnnxGraph parse(byte[] model) {
        return OnnxGraph.parse(MemorySegment.ofArray(model), "test.onnx");
    }

    @Test
    void readsInitializersNodesAttributesAndIo() {
        Msg weight = new Msg().varint(1, 2).varint(1, 3).varint(2, OnnxTensor.FLOAT).str(8, "W")
                .bytes(9, floats(1, 2, 3, 4, 5, 6));
        Msg packedDims = new Msg().bytes(1, new byte[] {2}).varint(2, OnnxTensor.FLOAT).str(8, "b").bytes(4, floats(7, 8));
        Msg perm = new Msg().str(1, "perm").bytes(8, new byte[] {0, 2, 1}).varint(20, 7);
        Msg node = new Msg().str(1, "x").str(1, "W").str(2, "y").str(3, "mm").str(4, "MatMul").msg(5, perm);
        Msg graph = new Msg().msg(1, node).msg(5, weight).msg(5, packedDims)
                .msg(11, new Msg().str(1, "x")).msg(12, new Msg().str(1, "y"));
        byte[] model = new Msg().varint(1, 8).str(2, "unit").msg(7, graph).bytes();
        try (OnnxGraph g = parse(model)) {
            assertEquals("unit", g.producer());
            assertEquals(java.util.List.of("x"), g.inputs());
            assertEquals(java.util.List.of("y"), g.outputs());
            OnnxNode n = g.nodes().getFirst();
            assertEquals("MatMul", n.opType());
            assertEquals(java.util.List.of("x", "W"), n.inputs());
            assertArrayEquals(new long[] {0, 2, 1}, n.attributes().get("perm").ints());
            OnnxTensor w = g.initializers().get("W");
            assertArrayEquals(new long[] {2, 3}, w.dims());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, w.toFloats());
            assertArrayEquals(new float[] {7, 8}, g.initializers().get("b").toFloats());
        }
    }

    @Test
    void corruptBytesAreClearErrorsNotAllocations() {
        // a graph field that claims 2^40 bytes
        byte[] huge = {0x3a, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x20};
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> parse(huge));
        assertTrue(e.getMessage().contains("test.onnx") && e.getMessage().contains("bytes"), e.getMessage());
        assertThrows(OnnxFormatException.class, () -> parse(new byte[] {0x08, (byte) 0x80})); // truncated varint
        assertThrows(OnnxFormatException.class, () -> parse(new byte[] {0x0b})); // group wire type
        assertThrows(OnnxFormatException.class, () -> parse(new Msg().varint(1, 8).bytes())); // no graph
        // raw_data shorter than the shape needs
        Msg shortData = new Msg().varint(1, 1000).varint(1, 1000).varint(2, OnnxTensor.FLOAT).str(8, "W").bytes(9, floats(1));
        e = assertThrows(OnnxFormatException.class, () -> parse(new Msg().msg(7, new Msg().msg(5, shortData)).bytes()));
        assertTrue(e.getMessage().contains("'W'"), e.getMessage());
        // overflowing shape
        Msg overflow = new Msg().varint(1, 1L << 40).varint(1, 1L << 40).varint(2, OnnxTensor.FLOAT).bytes(9, floats(1));
        assertThrows(OnnxFormatException.class, () -> parse(new Msg().msg(7, new Msg().msg(5, overflow)).bytes()));
        // external data
        Msg external = new Msg().varint(1, 2).varint(2, OnnxTensor.FLOAT).str(8, "E").varint(14, 1);
        e = assertThrows(OnnxFormatException.class, () -> parse(new Msg().msg(7, new Msg().msg(5, external)).bytes()));
        assertTrue(e.getMessage().contains("external"), e.getMessage());
    }

    @Test
    void aGraphThatIsNotBertIsRefusedByName() {
        Msg weight = new Msg().varint(1, 2).varint(1, 2).varint(2, OnnxTensor.FLOAT).str(8, "W").bytes(9, floats(1, 2, 3, 4));
        Msg node = new Msg().str(1, "x").str(1, "W").str(2, "y").str(4, "MatMul");
        byte[] model = new Msg().msg(7, new Msg().msg(1, node).msg(5, weight).msg(11, new Msg().str(1, "x"))
                .msg(12, new Msg().str(1, "y"))).bytes();
        try (OnnxGraph g = parse(model)) {
            OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> BertGraph.of(g));
            assertTrue(e.getMessage().contains("layer norm"), e.getMessage());
        }
    }
}
