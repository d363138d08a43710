package io.llamaffm.convert;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Finds the weights of a BERT encoder in an ONNX graph by following its structure, never by the order or the names of
 * the initializers (an exporter leaves MatMul weights anonymous, e.g. {@code onnx::MatMul_787}).
 *
 * <p>The walk starts at the graph output, which must be a layer norm (the last layer's output norm), and goes back one
 * encoder layer at a time: output norm ← residual add of the FFN down projection (a linear layer: MatMul + bias) and
 * the attention output norm; the down projection's input is a GELU (the {@code Gelu} operator, or the erf or tanh
 * formula) of the up projection, whose input is the attention output norm; that norm ← residual add of the attention
 * output projection and the layer input; the projection's input goes back through reshapes and transposes to the
 * context MatMul (probabilities × V); its V operand leads back to the value projection, its probabilities through
 * Softmax to the score MatMul, whose operands lead back to the query (left) and key (right) projections. All three
 * projections must read the layer input. When the layer input is the embedding layer norm, the walk stops: its input
 * is the sum of the word, position and token type embedding lookups (Gather). Layer norms are recognized both as
 * {@code LayerNormalization} nodes and in the decomposed form (ReduceMean, Sub, Pow, ReduceMean, Add eps, Sqrt, Div, Mul
 * gamma, Add beta). Anything else is an {@link OnnxFormatException} naming the value where the structure broke.
 */
final class BertGraph {
    /** A linear layer: {@code x · weight + bias}; {@code weight} is ONNX [in, out]. */
    record Linear(String input, OnnxTensor weight, OnnxTensor bias) {}

    record LayerNorm(String input, OnnxTensor weight, OnnxTensor bias, float eps) {}

    record Layer(Linear q, Linear k, Linear v, Linear output, LayerNorm attnNorm, Linear up, Linear down,
                 LayerNorm outputNorm, int headCount) {}

    record Embeddings(OnnxTensor word, OnnxTensor position, OnnxTensor tokenTypes, LayerNorm norm) {}

    private static final Set<String> PASS_THROUGH = Set.of("Reshape", "Transpose", "Identity", "Cast", "Squeeze",
            "Unsqueeze", "Flatten", "Contiguous");

    private final OnnxGraph graph;
    private final Map<String, OnnxTensor> constants;
    private final Map<String, OnnxNode> producers = new HashMap<>();
    private final Set<String> graphInputs;

    final Embeddings embeddings;
    final List<Layer> layers;

    private BertGraph(OnnxGraph graph) {
        this.graph = graph;
        this.constants = graph.initializers();
        this.graphInputs = new HashSet<>(graph.inputs());
        for (OnnxNode n : graph.nodes()) {
            for (String o : n.outputs()) producers.put(o, n);
        }
        String out = null;
        for (String o : graph.outputs()) {
            if (layerNorm(o) != null) {
                out = o;
                break;
            }
        }
        if (out == null) {
            throw fail("none of the graph outputs " + graph.outputs() + " is a layer norm: not a BERT encoder output "
                    + "(expected last_hidden_state)");
        }
        List<Layer> found = new ArrayList<>();
        String cur = out;
        Embeddings emb = null;
        while (emb == null) {
            if (found.size() > 1000) throw fail("more than 1000 layers: the graph loops");
            LayerNorm ln = layerNorm(cur);
            if (ln == null) throw fail("'" + cur + "' should be a layer norm");
            emb = embeddings(ln);
            if (emb == null) {
                Layer layer = layer(ln);
                found.add(layer);
                cur = layer.q().input();
            }
        }
        if (found.isEmpty()) throw fail("the graph has no encoder layer");
        Collections.reverse(found);
        this.embeddings = emb;
        this.layers = List.copyOf(found);
    }

    /** Maps the graph's tensors. */
    static BertGraph of(OnnxGraph graph) {
        return new BertGraph(graph);
    }

    // ---- one encoder layer, from its output norm -----------------------------------------------------------------

    private Layer layer(LayerNorm outNorm) {
        OnnxNode residual2 = producer(outNorm.input(), "Add");
        Linear down = null;
        String ffnInput = null;
        for (int i = 0; i < 2 && down == null; i++) {
            Linear l = linear(residual2.input(i));
            if (l != null) {
                String geluIn = geluInput(l.input());
                Linear up = geluIn == null ? null : linear(geluIn);
                if (up != null && up.input().equals(residual2.input(1 - i))) {
                    down = l;
                    ffnInput = up.input();
                }
            }
        }
        if (down == null) {
            throw fail("'" + outNorm.input() + "' should add a feed-forward block (linear, GELU, linear) to its input");
        }
        Linear up = linear(geluInput(down.input()));
        LayerNorm attnNorm = layerNorm(ffnInput);
        if (attnNorm == null) throw fail("the feed-forward input '" + ffnInput + "' should be a layer norm");
        OnnxNode residual1 = producer(attnNorm.input(), "Add");
        for (int i = 0; i < 2; i++) {
            Linear o = linear(residual1.input(i));
            if (o == null) continue;
            String layerInput = residual1.input(1 - i);
            Layer layer = attention(o, layerInput, attnNorm, up, down, outNorm);
            if (layer != null) return layer;
        }
        throw fail("'" + attnNorm.input() + "' should add a self-attention block (Q/K/V projections, softmax, output "
                + "projection) to the layer input");
    }

    private Layer attention(Linear o, String layerInput, LayerNorm attnNorm, Linear up, Linear down, LayerNorm outNorm) {
        OnnxNode context = back(o.input(), n -> n.opType().equals("MatMul") && !isConst(n.input(1)));
        if (context == null) return null;
        Predicate<OnnxNode> projection = n -> {
            Linear l = linearOf(n);
            return l != null && l.input().equals(layerInput);
        };
        OnnxNode vNode = back(context.input(1), projection);
        OnnxNode scores = back(context.input(0), n -> n.opType().equals("MatMul") && !isConst(n.input(1)));
        if (vNode == null || scores == null) return null;
        OnnxNode qNode = back(scores.input(0), projection);
        OnnxNode kNode = back(scores.input(1), projection);
        if (qNode == null || kNode == null) return null;
        if (qNode == kNode || qNode == vNode || kNode == vNode) throw fail("Q, K and V share a projection");
        Linear q = linearOf(qNode);
        int heads = headCount(qNode, scores, q.weight().dims()[1]);
        return new Layer(q, linearOf(kNode), linearOf(vNode), o, attnNorm, up, down, outNorm, heads);
    }

    /** Heads from the reshape of Q to [batch, tokens, heads, head size], or from the score scale 1/sqrt(head size). */
    private int headCount(OnnxNode qNode, OnnxNode scores, long width) {
        Deque<String> todo = new ArrayDeque<>(qNode.outputs());
        Set<String> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            String v = todo.pop();
            if (!seen.add(v) || v.equals(scores.output())) continue;
            for (OnnxNode n : graph.nodes()) {
                if (!n.inputs().contains(v) || n.opType().equals("Shape")) continue;
                if (n.opType().equals("Reshape") && n.input(0).equals(v)) {
                    long[] shape = shapeValues(n.input(1));
                    if (shape != null && shape.length == 4 && shape[2] > 0) {
                        if (shape[3] > 0 && shape[2] * shape[3] != width) {
                            throw fail("Q is reshaped to " + java.util.Arrays.toString(shape) + ", not to its width " + width);
                        }
                        return Math.toIntExact(shape[2]);
                    }
                }
                if (n != scores) todo.addAll(n.outputs());
            }
        }
        // score scale: Div by sqrt(d) or Mul by 1/sqrt(d) right after the score MatMul
        for (OnnxNode n : graph.nodes()) {
            if (!n.inputs().contains(scores.output())) continue;
            String other = n.input(0).equals(scores.output()) ? n.input(1) : n.input(0);
            if (isConst(other) && constants.get(other).elementCount() == 1) {
                float c = constants.get(other).toFloats()[0];
                double d = n.opType().equals("Div") ? (double) c * c : n.opType().equals("Mul") ? 1.0 / ((double) c * c) : -1;
                long headSize = Math.round(d);
                if (headSize > 0 && Math.abs(d - headSize) < 1e-3 && width % headSize == 0) {
                    return Math.toIntExact(width / headSize);
                }
            }
        }
        throw fail("cannot find the attention head count (no 4-D reshape of Q, no score scale)");
    }

    /** The values of a shape input: a constant, or a Concat of (partly) constant pieces (unknown pieces are -1). */
    private long[] shapeValues(String value) {
        if (isConst(value)) return constants.get(value).toLongs();
        OnnxNode n = producers.get(value);
        if (n == null || !n.opType().equals("Concat")) return null;
        List<Long> out = new ArrayList<>();
        for (String in : n.inputs()) {
            if (isConst(in)) {
                for (long x : constants.get(in).toLongs()) out.add(x);
            } else {
                out.add(-1L); // a runtime dimension (batch or tokens), one element each
            }
        }
        return out.stream().mapToLong(Long::longValue).toArray();
    }

    // ---- embeddings ------------------------------------------------------------------------------------------------

    /** The embeddings when {@code norm} normalizes a sum of embedding lookups, else null. */
    private Embeddings embeddings(LayerNorm norm) {
        List<OnnxNode> gathers = new ArrayList<>();
        Deque<String> todo = new ArrayDeque<>(List.of(norm.input()));
        while (!todo.isEmpty()) {
            OnnxNode n = producers.get(todo.pop());
            if (n == null) return null;
            if (n.opType().equals("Add")) {
                todo.addAll(n.inputs());
            } else if (n.opType().equals("Gather") && isConst(n.input(0)) && constants.get(n.input(0)).dims().length == 2) {
                gathers.add(n);
            } else {
                return null;
            }
        }
        OnnxTensor word = null;
        OnnxTensor types = null;
        List<OnnxTensor> computed = new ArrayList<>();
        List<OnnxTensor> fromInputs = new ArrayList<>();
        for (OnnxNode g : gathers) {
            (graphInputs.contains(g.input(1)) ? fromInputs : computed).add(constants.get(g.input(0)));
        }
        fromInputs.sort((a, b) -> Long.compare(b.dims()[0], a.dims()[0]));
        computed.sort((a, b) -> Long.compare(b.dims()[0], a.dims()[0]));
        if (fromInputs.isEmpty() || computed.isEmpty()) {
            throw fail("the embedding sum should look up tokens (from a graph input) and positions; found " + gathers);
        }
        word = fromInputs.getFirst();
        OnnxTensor position = computed.getFirst();
        if (fromInputs.size() > 1) types = fromInputs.get(1);
        else if (computed.size() > 1) types = computed.get(1);
        if (fromInputs.size() + computed.size() > 3) throw fail("more than three embedding lookups: " + gathers);
        return new Embeddings(word, position, types, norm);
    }

    // ---- patterns --------------------------------------------------------------------------------------------------

    /** The layer norm whose output is {@code value}, or null. */
    LayerNorm layerNorm(String value) {
        OnnxNode n = producers.get(value);
        if (n == null) return null;
        if (n.opType().equals("LayerNormalization")) {
            if (!isConst(n.input(1))) return null;
            OnnxNode.Attribute eps = n.attributes().get("epsilon");
            return new LayerNorm(n.input(0), constants.get(n.input(1)), isConst(n.input(2)) ? constants.get(n.input(2)) : null,
                    eps == null ? 1e-5f : eps.f());
        }
        // Add(Mul(Div(Sub(x, ReduceMean(x)), Sqrt(Add(ReduceMean(Pow(Sub, 2)), eps))), gamma), beta)
        if (!n.opType().equals("Add")) return null;
        int bi = constIndex(n);
        if (bi < 0) return null;
        OnnxNode mul = producers.get(n.input(1 - bi));
        if (mul == null || !mul.opType().equals("Mul")) return null;
        int gi = constIndex(mul);
        if (gi < 0) return null;
        OnnxNode div = producers.get(mul.input(1 - gi));
        if (div == null || !div.opType().equals("Div")) return null;
        OnnxNode sub = producers.get(div.input(0));
        OnnxNode sqrt = producers.get(div.input(1));
        if (sub == null || sqrt == null || !sub.opType().equals("Sub") || !sqrt.opType().equals("Sqrt")) return null;
        String x = sub.input(0);
        OnnxNode mean = producers.get(sub.input(1));
        if (mean == null || !mean.opType().equals("ReduceMean") || !mean.input(0).equals(x)) return null;
        OnnxNode addEps = producers.get(sqrt.input(0));
        if (addEps == null || !addEps.opType().equals("Add")) return null;
        int ei = constIndex(addEps);
        if (ei < 0) return null;
        OnnxNode var = producers.get(addEps.input(1 - ei));
        if (var == null || !var.opType().equals("ReduceMean")) return null;
        OnnxNode pow = producers.get(var.input(0));
        if (pow == null || !(pow.opType().equals("Pow") || pow.opType().equals("Mul"))) return null;
        if (!pow.input(0).equals(sub.output())) return null;
        return new LayerNorm(x, constants.get(mul.input(gi)), constants.get(n.input(bi)),
                constants.get(addEps.input(ei)).toFloats()[0]);
    }

    /** The linear layer whose output is {@code value}: Add(MatMul(x, W), b) in either order, or MatMul(x, W). */
    Linear linear(String value) {
        OnnxNode n = producers.get(value);
        return n == null ? null : linearOf(n);
    }

    private Linear linearOf(OnnxNode n) {
        if (n.opType().equals("Add")) {
            int bi = constIndex(n);
            if (bi < 0 || constants.get(n.input(bi)).dims().length != 1) return null;
            OnnxNode mm = producers.get(n.input(1 - bi));
            if (mm == null || !mm.opType().equals("MatMul") || !isMatrix(mm.input(1))) return null;
            OnnxTensor w = constants.get(mm.input(1));
            OnnxTensor b = constants.get(n.input(bi));
            if (b.dims()[0] != w.dims()[1]) return null;
            return new Linear(mm.input(0), w, b);
        }
        if (n.opType().equals("MatMul") && isMatrix(n.input(1))) {
            return new Linear(n.input(0), constants.get(n.input(1)), null);
        }
        return null;
    }

    /** The input of the GELU whose output is {@code value}, or null: a Gelu node, or the erf/tanh formula. */
    private String geluInput(String value) {
        OnnxNode n = producers.get(value);
        if (n == null) return null;
        if (n.opType().equals("Gelu") || n.opType().equals("FastGelu")) return n.input(0);
        Set<String> leaves = new LinkedHashSet<>();
        boolean sawErfOrTanh = false;
        Deque<OnnxNode> todo = new ArrayDeque<>(List.of(n));
        Set<OnnxNode> seen = new HashSet<>();
        Set<String> formulaOps = Set.of("Mul", "Add", "Div", "Erf", "Tanh", "Pow", "Sqrt");
        while (!todo.isEmpty()) {
            OnnxNode cur = todo.pop();
            if (!seen.add(cur) || seen.size() > 32) return null;
            sawErfOrTanh |= cur.opType().equals("Erf") || cur.opType().equals("Tanh");
            for (String in : cur.inputs()) {
                if (isConst(in)) continue;
                OnnxNode p = producers.get(in);
                if (p != null && formulaOps.contains(p.opType()) && linearOf(p) == null) todo.push(p);
                else leaves.add(in);
            }
        }
        return sawErfOrTanh && leaves.size() == 1 ? leaves.iterator().next() : null;
    }

    /** Searches back from {@code value} through pass-through ops, softmax and element-wise ops for a node. */
    private OnnxNode back(String value, Predicate<OnnxNode> target) {
        Deque<String> todo = new ArrayDeque<>(List.of(value));
        Set<String> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            String v = todo.pop();
            if (!seen.add(v) || seen.size() > 64) continue;
            OnnxNode n = producers.get(v);
            if (n == null) continue;
            if (target.test(n)) return n;
            String op = n.opType();
            if (PASS_THROUGH.contains(op)) {
                todo.push(n.input(0));
            } else if (op.equals("Softmax") || op.equals("Add") || op.equals("Mul") || op.equals("Div") || op.equals("Where")) {
                for (String in : n.inputs()) if (!isConst(in)) todo.add(in);
            }
        }
        return null;
    }

    private OnnxNode producer(String value, String op) {
        OnnxNode n = producers.get(value);
        if (n == null || !n.opType().equals(op)) {
            throw fail("'" + value + "' should come from " + op + ", comes from " + (n == null ? "no node" : n.opType()));
        }
        return n;
    }

    private int constIndex(OnnxNode n) {
        if (n.inputs().size() != 2) return -1;
        boolean c0 = isConst(n.input(0));
        boolean c1 = isConst(n.input(1));
        return c0 == c1 ? -1 : c0 ? 0 : 1;
    }

    private boolean isConst(String value) {
        return constants.containsKey(value);
    }

    private boolean isMatrix(String value) {
        OnnxTensor t = constants.get(value);
        return t != null && t.dims().length == 2;
    }

    private static OnnxFormatException fail(String problem) {
        return new OnnxFormatException("not a BERT encoder graph the converter understands: " + problem);
    }
}
