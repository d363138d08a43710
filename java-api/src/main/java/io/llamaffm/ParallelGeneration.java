package io.llamaffm;

import io.llamaffm.internal.TextStream;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiConsumer;

/** The decode loop of {@link Context#generateAll}: one sequence per prompt, every step one batch for all of them. */
final class ParallelGeneration {
    private final Context context;
    private final int[][] prompts;
    private final Sampler[] samplers;
    private final GenerationParams params;
    private final int perSequence;
    private final BiConsumer<Integer, String> onText;

    ParallelGeneration(Context context, int[][] prompts, Sampler[] samplers, GenerationParams params, int perSequence,
                       BiConsumer<Integer, String> onText) {
        this.context = context;
        this.prompts = prompts;
        this.samplers = samplers;
        this.params = params;
        this.perSequence = perSequence;
        this.onText = onText;
    }

    List<Completion> run() {
        int n = prompts.length;
        int batch = context.batchSize();
        int[] tokens = new int[batch];
        int[] pos = new int[batch];
        int[] seq = new int[batch];
        boolean[] out = new boolean[batch];
        int[] nextPos = new int[n];
        int[] pending = new int[n];      // sampled, not yet decoded
        int[] outputIndex = new int[n];  // where the sequence's logits are in the last batch
        int[][] generated = new int[n][params.maxTokens()];
        int[] count = new int[n];
        Completion.StopReason[] reason = new Completion.StopReason[n];
        TextStream[] streams = new TextStream[n];
        StringBuilder[] texts = new StringBuilder[n];
        StringBuilder delta = new StringBuilder();
        long start = System.nanoTime();

        // prompts: packed into batches; a sequence's first token is sampled right after the batch holding its last prompt token
        List<Integer> ready = new ArrayList<>();
        int filled = 0;
        for (int s = 0; s < n; s++) {
            streams[s] = new TextStream(params.stopStrings());
            texts[s] = new StringBuilder();
            for (int i = 0; i < prompts[s].length; i++) {
                boolean last = i == prompts[s].length - 1;
                tokens[filled] = prompts[s][i];
                pos[filled] = nextPos[s]++;
                seq[filled] = s;
                out[filled] = last;
                if (last) {
                    outputIndex[s] = filled;
                    ready.add(s);
                }
                if (++filled == batch) {
                    filled = decodeAndSample(filled, tokens, pos, seq, out, ready, outputIndex, pending);
                }
            }
        }
        if (filled > 0) {
            decodeAndSample(filled, tokens, pos, seq, out, ready, outputIndex, pending);
        }
        long promptNanos = System.nanoTime() - start;
        long genStart = System.nanoTime();

        int active = n;
        while (active > 0) {
            filled = 0;
            for (int s = 0; s < n; s++) {
                if (reason[s] != null) {
                    continue;
                }
                int t = pending[s];
                Completion.StopReason r = null;
                if (context.cancelRequested() || Thread.currentThread().isInterrupted()) {
                    r = Completion.StopReason.CANCELLED;
                } else if (!params.ignoreEos() && context.tokenizer().isEndOfGeneration(t)) {
                    r = Completion.StopReason.END_OF_GENERATION;
                } else {
                    generated[s][count[s]++] = t;
                    delta.setLength(0);
                    boolean stop = streams[s].push(context.pieceBytes(), context.piece(t), delta);
                    emit(s, delta, texts);
                    if (stop) {
                        r = Completion.StopReason.STOP_STRING;
                    } else if (count[s] >= params.maxTokens()) {
                        r = Completion.StopReason.MAX_TOKENS;
                    } else if (nextPos[s] >= perSequence) {
                        r = Completion.StopReason.CONTEXT_FULL;
                    }
                }
                if (r != null) {
                    reason[s] = r;
                    active--;
                    delta.setLength(0);
                    streams[s].finish(delta);
                    emit(s, delta, texts);
                    continue;
                }
                tokens[filled] = t;
                pos[filled] = nextPos[s]++;
                seq[filled] = s;
                out[filled] = true;
                outputIndex[s] = filled;
                ready.add(s);
                filled++;
            }
            if (filled > 0) {
                decodeAndSample(filled, tokens, pos, seq, out, ready, outputIndex, pending);
            }
        }
        long genNanos = System.nanoTime() - genStart;
        List<Completion> results = new ArrayList<>(n);
        for (int s = 0; s < n; s++) {
            Timings timings = new Timings(prompts[s].length, promptNanos, count[s], genNanos, promptNanos);
            results.add(new Completion(texts[s].toString(), Arrays.copyOf(generated[s], count[s]), new float[0],
                    prompts[s].length, 0, reason[s], timings));
        }
        return results;
    }

    /** Decodes the batch, samples every sequence whose logits it computed; returns 0 (the batch is empty again). */
    private int decodeAndSample(int filled, int[] tokens, int[] pos, int[] seq, boolean[] out, List<Integer> ready,
                                int[] outputIndex, int[] pending) {
        context.decodeMulti(filled, tokens, pos, seq, out);
        for (int s : ready) {
            pending[s] = context.sample(samplers[s], outputIndex[s]);
        }
        ready.clear();
        return 0;
    }

    private void emit(int s, StringBuilder delta, StringBuilder[] texts) {
        if (!delta.isEmpty()) {
            texts[s].append(delta);
            if (onText != null) {
                onText.accept(s, delta.toString());
            }
        }
    }
}
