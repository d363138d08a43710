package io.llamaffm;

import java.util.ArrayList;
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
    private final int[] ready;           // sequences whose logits the batch being filled computes, in order
    private int readyCount;

    ParallelGeneration(Context context, int[][] prompts, Sampler[] samplers, GenerationParams params, int perSequence,
                       BiConsumer<Integer, String> onText) {
        this.context = context;
        this.prompts = prompts;
        this.samplers = samplers;
        this.params = params;
        this.perSequence = perSequence;
        this.onText = onText;
        this.ready = new int[prompts.length];
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
        TokenOutput[] outputs = new TokenOutput[n];
        long start = System.nanoTime();

        // prompts: packed into batches; a sequence's first token is sampled right after the batch holding its last prompt token
        int filled = 0;
        for (int s = 0; s < n; s++) {
            int sequence = s;
            outputs[s] = new TokenOutput(context, params, onText == null ? null : text -> onText.accept(sequence, text));
            for (int i = 0; i < prompts[s].length; i++) {
                boolean last = i == prompts[s].length - 1;
                tokens[filled] = prompts[s][i];
                pos[filled] = nextPos[s]++;
                seq[filled] = s;
                out[filled] = last;
                if (last) {
                    outputIndex[s] = filled;
                    ready[readyCount++] = s;
                }
                if (++filled == batch) {
                    filled = decodeAndSample(filled, tokens, pos, seq, out, outputIndex, pending);
                }
            }
        }
        if (filled > 0) {
            decodeAndSample(filled, tokens, pos, seq, out, outputIndex, pending);
        }
        long promptNanos = System.nanoTime() - start;
        long genStart = System.nanoTime();

        int active = n;
        while (active > 0) {
            filled = 0;
            for (int s = 0; s < n; s++) {
                TokenOutput o = outputs[s];
                if (o.reason() != null) {
                    continue;
                }
                if (context.cancelRequested() || Thread.currentThread().isInterrupted()) {
                    o.end(Completion.StopReason.CANCELLED);
                } else if (o.emit(pending[s]) && nextPos[s] >= perSequence) {
                    o.end(Completion.StopReason.CONTEXT_FULL);
                }
                if (o.reason() != null) {
                    active--;
                    continue;
                }
                tokens[filled] = pending[s];
                pos[filled] = nextPos[s]++;
                seq[filled] = s;
                out[filled] = true;
                outputIndex[s] = filled;
                ready[readyCount++] = s;
                filled++;
            }
            if (filled > 0) {
                decodeAndSample(filled, tokens, pos, seq, out, outputIndex, pending);
            }
        }
        long genNanos = System.nanoTime() - genStart;
        List<Completion> results = new ArrayList<>(n);
        for (int s = 0; s < n; s++) {
            Timings timings = new Timings(prompts[s].length, promptNanos, outputs[s].count(), genNanos, promptNanos);
            results.add(outputs[s].completion(prompts[s].length, 0, timings));
        }
        return results;
    }

    /** Decodes the batch, samples every sequence whose logits it computed; returns 0 (the batch is empty again). */
    private int decodeAndSample(int filled, int[] tokens, int[] pos, int[] seq, boolean[] out, int[] outputIndex, int[] pending) {
        context.decodeMulti(filled, tokens, pos, seq, out);
        for (int i = 0; i < readyCount; i++) {
            int s = ready[i];
            pending[s] = context.sample(samplers[s], outputIndex[s]);
        }
        readyCount = 0;
        return 0;
    }
}
