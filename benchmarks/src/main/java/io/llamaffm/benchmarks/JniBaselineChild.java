package io.llamaffm.benchmarks;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.ModelParameters;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Properties;
import java.util.StringJoiner;

/**
 * The child-JVM side of {@link JniBaseline}: loads a model with the JNI binding java-llama.cpp (de.kherud:llama),
 * measures prompt and generation speed the way its users see them, and writes the result as a properties file.
 * It runs only in its own JVM with the binding's jar on the classpath (never beside llama-ffm's natives), and it
 * touches no llama-ffm class.
 *
 * <p>Measured through the binding's public API:
 * <ul>
 *   <li>prompt tokens/s, the number comparable to llama-bench's {@code pp} (a prompt of N tokens decoded into an empty
 *       cache) and to llama-ffm's prompt timer: a text prompt of exactly {@code promptTokens} tokens (BOS included, as
 *       the binding's server adds it), {@code n_predict = 1}, prompt cache off, timed by the binding's embedded server
 *       itself. The binding hands out no timings through its API, so {@link JniBaseline} reads them from this JVM's
 *       log, where the server prints them at the end of each request ({@code prompt eval time = T ms / N tokens}, see
 *       {@link ServerTimings}); T runs from the start of prompt processing (the KV cache of the slot emptied first)
 *       to the first sampled token. It checks that every one of these requests decoded all {@code promptTokens}
 *       tokens: a reused cached prefix (N would count only the new tokens) or a truncated prompt fails the run.</li>
 *   <li>prompt tokens/s to the first output ({@code pp.wall} in the result file): {@code promptTokens / time from
 *       the call of generate to the first streamed output}, timed in Java. It adds the binding's request round trip
 *       (JSON parameters, task queue, JNI) and one sampling step to the server's time, as a user would see it.</li>
 *   <li>generated tokens/s: the prompt {@value #GENERATION_PROMPT}, greedy, EOS ignored, {@code n_predict =
 *       genTokens + 1}; {@code genTokens / (time of the last output - time of the first output)}, so the prompt and
 *       the first token are outside the measured span. The token count comes from {@code n_predict} (exact, since EOS
 *       is ignored); the number of streamed outputs is reported too (the binding holds back a token that ends inside
 *       a UTF-8 sequence and streams it with the next).</li>
 * </ul>
 *
 * <pre>java -cp "jni-lib/*:classes" io.llamaffm.benchmarks.JniBaselineChild MODEL THREADS PROMPT_TOKENS GEN_TOKENS REPETITIONS RESULT.properties</pre>
 *
 * <p>Threads: {@code THREADS} is passed as both {@code --threads} and {@code --threads-batch}; with 1 thread the
 * process's CPU time stays below its wall time over the prompt requests (a single decoding thread).
 *
 * <p>On stories260K the binding decodes prompts several times faster than llama-bench of the pinned release, and
 * that is no measurement error: the server's timer agrees with the Java one, and each request decodes all its tokens
 * into an emptied cache. Its natives are one AVX2 build, where llamafile's tinyBLAS multiplies the attention's F16
 * K/V (head size 8) in 8-wide vectors; the AVX-512 CPU variant ggml picks on such machines falls back to
 * {@code ggml_vec_dot_f16} there (llama-bench with only the haswell variant is about 2x faster on pp128). And its
 * older llama.cpp sizes the cache differently (the pinned llama-bench pads pp128's context to 256 cells). On a model
 * this small attention dominates; at pp512 the binding and the haswell variant of llama-bench agree.
 *
 * <p>The JVM is ended with {@link System#exit}: the binding's native server thread attaches itself to the JVM and
 * exits on {@link LlamaModel#close()} without detaching, so the JVM's normal end (which waits for every non-daemon
 * thread) would wait for it forever, idle.
 */
public final class JniBaselineChild {
    /** The short prompt generation starts from. */
    static final String GENERATION_PROMPT = "Once upon a time";

    private static final String FILLER = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. ";

    private JniBaselineChild() {}

    /** See the class comment; exits 0 with the result file written, 1 on any failure (stack trace on stderr). */
    public static void main(String[] args) {
        int status = 1;
        try {
            run(args);
            status = 0;
        } catch (Throwable t) {
            t.printStackTrace();
        } finally {
            System.out.flush();
            System.err.flush();
        }
        System.exit(status);
    }

    private static void run(String[] args) throws IOException {
        if (args.length != 6) {
            throw new IllegalArgumentException("usage: JniBaselineChild MODEL THREADS PROMPT_TOKENS GEN_TOKENS REPETITIONS RESULT");
        }
        String model = args[0];
        int threads = Integer.parseInt(args[1]);
        int promptTokens = Integer.parseInt(args[2]);
        int genTokens = Integer.parseInt(args[3]);
        int reps = Integer.parseInt(args[4]);
        Path result = Path.of(args[5]);

        ModelParameters params = new ModelParameters().setModel(model).setThreads(threads).setThreadsBatch(threads)
                .setCtxSize(promptTokens + genTokens + 64);
        long t0 = System.nanoTime();
        try (LlamaModel llama = new LlamaModel(params)) {
            double loadSeconds = (System.nanoTime() - t0) / 1e9;
            String prompt = promptOf(llama, promptTokens);
            promptSpeed(llama, prompt, promptTokens); // warm-up
            generation(llama, Math.min(genTokens, 8)); // warm-up
            double[] pp = new double[reps];
            double[] tg = new double[reps];
            Generated last = null;
            for (int r = 0; r < reps; r++) {
                pp[r] = promptSpeed(llama, prompt, promptTokens);
                last = generation(llama, genTokens);
                tg[r] = last.tokensPerSecond();
            }
            Properties out = new Properties();
            out.setProperty("pp.wall", join(pp));
            out.setProperty("tg", join(tg));
            out.setProperty("text", last.text());
            out.setProperty("outputs", Integer.toString(last.outputs()));
            out.setProperty("load.seconds", Double.toString(loadSeconds));
            try (OutputStream o = Files.newOutputStream(result)) {
                out.store(o, "JniBaselineChild");
            }
        }
    }

    /**
     * A text the binding's server turns into exactly {@code tokens} prompt tokens: BOS plus {@code tokens - 1} tokens
     * of the filler story. The first {@code tokens - 1} tokens of the repeated filler are detokenized and checked by
     * tokenizing again (the leading space SentencePiece detokenizes to is dropped: the tokenizer adds it back).
     */
    static String promptOf(LlamaModel llama, int tokens) {
        int want = tokens - 1;
        String filler = FILLER.repeat(Math.max(1, want / 8 + 1));
        int[] ids = llama.encode(filler);
        if (ids.length < want) {
            throw new IllegalStateException("the filler text gives only " + ids.length + " tokens, " + want + " needed");
        }
        String text = llama.decode(Arrays.copyOf(ids, want)).stripLeading();
        int got = llama.encode(text).length;
        if (got != want) {
            throw new IllegalStateException("cannot build a prompt of exactly " + tokens + " tokens with this vocabulary"
                    + " (the detokenized text re-tokenizes to " + got + " + BOS)");
        }
        return text;
    }

    private static double promptSpeed(LlamaModel llama, String prompt, int promptTokens) {
        InferenceParameters ip = new InferenceParameters(prompt).setNPredict(1).setTemperature(0).setCachePrompt(false);
        long start = System.nanoTime();
        Iterator<LlamaOutput> it = llama.generate(ip).iterator();
        it.next();
        long first = System.nanoTime();
        while (it.hasNext()) {
            it.next();
        }
        return promptTokens / ((first - start) / 1e9);
    }

    /** One generation's streamed text, its number of streamed outputs and its speed. */
    record Generated(String text, int outputs, double tokensPerSecond) {}

    private static Generated generation(LlamaModel llama, int genTokens) {
        InferenceParameters ip = new InferenceParameters(GENERATION_PROMPT).setNPredict(genTokens + 1)
                .setIgnoreEos(true).setTemperature(0).setCachePrompt(false);
        StringBuilder text = new StringBuilder();
        int outputs = 0;
        long first = 0;
        for (LlamaOutput o : llama.generate(ip)) {
            if (outputs++ == 0) {
                first = System.nanoTime();
            }
            text.append(o.text);
        }
        long end = System.nanoTime();
        return new Generated(text.toString(), outputs, genTokens / ((end - first) / 1e9));
    }

    private static String join(double[] values) {
        StringJoiner j = new StringJoiner(",");
        for (double v : values) {
            j.add(Double.toString(v));
        }
        return j.toString();
    }
}
