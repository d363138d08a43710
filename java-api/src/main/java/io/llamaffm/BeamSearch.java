package io.llamaffm;

import io.llamaffm.bindings.LlamaH;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Beam search over parallel sequences: keeps the {@code width} most probable continuations (by summed
 * log-probability), expanding each by its {@code width} best next tokens every step, and returns the best finished
 * (or, at the token budget, the best) continuation. Each beam lives in its own KV sequence; a step copies parent
 * sequences into the children's slots, so the context needs {@code 2 × width} sequences.
 */
public final class BeamSearch {
    /**
     * A continuation and its score.
     *
     * @param tokens  generated token ids (an end-of-generation token is not included)
     * @param text    their text
     * @param logprob sum of the tokens' natural-log probabilities
     * @param finished whether it ended with an end-of-generation token
     */
    public record Beam(int[] tokens, String text, double logprob, boolean finished) {
        /**
         * Copies the tokens.
         */
        public Beam {
            tokens = tokens.clone();
        }

        /** {@return a copy of the generated token ids} */
        @Override
        public int[] tokens() {
            return tokens.clone();
        }
    }

    private record Candidate(int parent, int token, double logprob) {}

    private BeamSearch() {}

    /**
     * Runs the search from {@code prompt}.
     *
     * @param ctx       a context with at least {@code 2 × width} sequences
     * @param prompt    the text to continue
     * @param width     beams kept per step (1 = greedy)
     * @param maxTokens most tokens per beam
     * @param ignoreEos treat end-of-generation tokens as ordinary tokens
     * @return the best beam; the KV cache is cleared afterwards
     */
    public static Beam search(Context ctx, String prompt, int width, int maxTokens, boolean ignoreEos) {
        if (width < 1) {
            throw new IllegalArgumentException("width must be >= 1, got " + width);
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        }
        if (ctx.sequenceCount() < 2 * width) {
            throw new IllegalArgumentException("beam width " + width + " needs a context with " + 2 * width
                    + " sequences (ContextParams.withSequences)");
        }
        int[] promptTokens = ctx.model().tokenizer().encode(prompt);
        int perSequence = ctx.tokensPerSequence();
        if (promptTokens.length + maxTokens > perSequence) {
            throw new IllegalArgumentException("prompt + maxTokens exceed the " + perSequence + " tokens a sequence holds");
        }
        ctx.clear();
        ctx.enter();
        try {
            return run(ctx, promptTokens, width, maxTokens, ignoreEos);
        } finally {
            LlamaH.llama_memory_clear(ctx.memory(), true);
            ctx.exit();
            ctx.clear();
        }
    }

    private static Beam run(Context ctx, int[] prompt, int width, int maxTokens, boolean ignoreEos) {
        Tokenizer tok = ctx.model().tokenizer();
        int vocab = tok.vocabularySize();
        int batchSize = ctx.batchSize();
        // the prompt, on sequence 0
        int[] pos = new int[batchSize];
        int[] seq = new int[batchSize];
        boolean[] out = new boolean[batchSize];
        int[] tokens = new int[batchSize];
        for (int off = 0; off < prompt.length; off += batchSize) {
            int n = Math.min(batchSize, prompt.length - off);
            for (int i = 0; i < n; i++) {
                tokens[i] = prompt[off + i];
                pos[i] = off + i;
                seq[i] = 0;
                out[i] = off + i == prompt.length - 1;
            }
            ctx.decodeMulti(n, tokens, pos, seq, out);
        }
        List<int[]> beamTokens = new ArrayList<>(List.of(new int[0]));
        double[] beamScore = {0};
        int[] beamSeq = {0};
        int[] outputIndex = {(prompt.length - 1) % batchSize}; // the last prompt token's place in the last batch
        List<Beam> finished = new ArrayList<>();
        float[] logprobs = new float[vocab];
        int half = 0; // children go to sequences [width*(1-half) ...)

        for (int step = 0; step < maxTokens && !beamTokens.isEmpty(); step++) {
            List<Candidate> candidates = new ArrayList<>();
            for (int b = 0; b < beamTokens.size(); b++) {
                ctx.logSoftmaxAt(outputIndex[b], logprobs);
                for (int t : topK(logprobs, width)) {
                    candidates.add(new Candidate(b, t, beamScore[b] + logprobs[t]));
                }
            }
            candidates.sort(Comparator.comparingDouble(Candidate::logprob).reversed());
            List<int[]> nextTokens = new ArrayList<>();
            List<Double> nextScore = new ArrayList<>();
            List<Integer> nextParentSeq = new ArrayList<>();
            for (Candidate c : candidates) {
                if (nextTokens.size() == width) {
                    break;
                }
                int[] seqTokens = Arrays.copyOf(beamTokens.get(c.parent()), beamTokens.get(c.parent()).length + 1);
                seqTokens[seqTokens.length - 1] = c.token();
                if (!ignoreEos && tok.isEndOfGeneration(c.token())) {
                    finished.add(beam(tok, Arrays.copyOf(seqTokens, seqTokens.length - 1), c.logprob(), true));
                    continue;
                }
                nextTokens.add(seqTokens);
                nextScore.add(c.logprob());
                nextParentSeq.add(beamSeq[c.parent()]);
            }
            if (nextTokens.isEmpty() || bestFinishedBeats(finished, nextScore)) {
                beamTokens = nextTokens;
                beamScore = nextScore.stream().mapToDouble(Double::doubleValue).toArray();
                break;
            }
            // children take the other half of the sequences: copy each parent's cache, then decode the new token
            int base = half == 0 ? width : 0;
            int n = nextTokens.size();
            int[] newSeq = new int[n];
            for (int j = 0; j < n; j++) {
                newSeq[j] = base + j;
                ctx.copySequenceUnchecked(nextParentSeq.get(j), newSeq[j]);
            }
            for (int j = 0; j < n; j++) {
                int[] t = nextTokens.get(j);
                tokens[j] = t[t.length - 1];
                pos[j] = prompt.length + t.length - 1;
                seq[j] = newSeq[j];
                out[j] = true;
            }
            if (step + 1 < maxTokens) {
                ctx.decodeMulti(n, tokens, pos, seq, out);
            }
            for (int s = (half == 0 ? 0 : width), e = s + width; s < e; s++) {
                LlamaH.llama_memory_seq_rm(ctx.memory(), s, -1, -1); // the parents' half is free again
            }
            half = 1 - half;
            beamTokens = nextTokens;
            beamScore = nextScore.stream().mapToDouble(Double::doubleValue).toArray();
            beamSeq = newSeq;
            outputIndex = new int[n];
            for (int j = 0; j < n; j++) {
                outputIndex[j] = j;
            }
        }
        List<Beam> all = new ArrayList<>(finished);
        for (int b = 0; b < beamTokens.size(); b++) {
            all.add(beam(tok, beamTokens.get(b), beamScore[b], false));
        }
        return all.stream().max(Comparator.comparingDouble(Beam::logprob)).orElseThrow();
    }

    /** Once a finished beam scores better than every open one, no open beam can catch up (scores only fall). */
    private static boolean bestFinishedBeats(List<Beam> finished, List<Double> open) {
        if (finished.isEmpty() || open.isEmpty()) {
            return false;
        }
        double bestFinished = finished.stream().mapToDouble(Beam::logprob).max().orElseThrow();
        return open.stream().allMatch(s -> s < bestFinished);
    }

    private static Beam beam(Tokenizer tok, int[] tokens, double logprob, boolean finished) {
        return new Beam(tokens, tok.decode(tokens), logprob, finished);
    }

    /** Indexes of the k largest values. */
    private static int[] topK(float[] values, int k) {
        int[] best = new int[k];
        Arrays.fill(best, -1);
        for (int i = 0; i < values.length; i++) {
            int at = k;
            while (at > 0 && (best[at - 1] < 0 || values[i] > values[best[at - 1]])) {
                at--;
            }
            if (at < k) {
                System.arraycopy(best, at, best, at + 1, k - at - 1);
                best[at] = i;
            }
        }
        return best;
    }
}
