package io.llamaffm;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * llama.cpp's own tokenizer test vectors (models/ggml-vocab-*.gguf with .inp/.out in the pinned source), run
 * through our tokenizer with the settings of llama.cpp's tests/test-tokenizer-0.cpp: vocabulary-only load,
 * add_special = false, parse_special = false. Every pair must match.
 */
class TokenizerVectorsIT {
    private static final String SEPARATOR = "\n__ggml_vocab_test__\n";
    private static final AtomicInteger PASSED = new AtomicInteger();
    private static final AtomicInteger TOTAL = new AtomicInteger();

    @TestFactory
    Stream<DynamicTest> everyVocabularyMatchesLlamaCpp() throws IOException {
        Path models = TestEnv.sourceDir().resolve("models");
        List<Path> vocabs;
        try (Stream<Path> files = Files.list(models)) {
            vocabs = files.filter(p -> p.getFileName().toString().matches("ggml-vocab-.*\\.gguf"))
                    .filter(p -> Files.exists(Path.of(p + ".inp")) && Files.exists(Path.of(p + ".out")))
                    .sorted().toList();
        }
        assertEquals(15, vocabs.size(), "vocabularies with test vectors in the pinned source: " + vocabs);
        return vocabs.stream().map(v -> DynamicTest.dynamicTest(v.getFileName().toString(), () -> check(v)));
    }

    private static void check(Path vocab) throws IOException {
        Map<String, int[]> cases = read(Path.of(vocab + ".inp"), Path.of(vocab + ".out"));
        assertFalse(cases.isEmpty());
        List<String> failures = new ArrayList<>();
        try (Model model = Model.load(vocab, ModelParams.defaults().withVocabOnly(true))) {
            Tokenizer tok = model.tokenizer();
            for (Map.Entry<String, int[]> c : cases.entrySet()) {
                TOTAL.incrementAndGet();
                int[] got = tok.encode(c.getKey().getBytes(StandardCharsets.UTF_8), false, false);
                if (Arrays.equals(got, c.getValue())) {
                    PASSED.incrementAndGet();
                } else {
                    failures.add("'" + c.getKey() + "': expected " + Arrays.toString(c.getValue()) + ", got " + Arrays.toString(got));
                }
            }
        }
        assertEquals(List.of(), failures, vocab.getFileName() + ": mismatches");
    }

    /** The same parsing as test-tokenizer-0.cpp: inputs split on the separator, outputs one stripped line each. */
    static Map<String, int[]> read(Path inp, Path out) throws IOException {
        String raw = new String(Files.readAllBytes(inp), StandardCharsets.UTF_8);
        List<String> inputs = new ArrayList<>();
        int pos = 0;
        while (pos < raw.length()) {
            int next = raw.indexOf(SEPARATOR, pos);
            if (next < 0) {
                inputs.add(raw.substring(pos));
                break;
            }
            inputs.add(raw.substring(pos, next));
            pos = next + SEPARATOR.length();
        }
        List<String> outputs = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertEquals(inputs.size(), outputs.size(), "input and output files of " + inp.getFileName() + " disagree in count");
        Map<String, int[]> cases = new LinkedHashMap<>(); // like the C++ std::map: a repeated input keeps the last output
        for (int i = 0; i < inputs.size(); i++) {
            String o = outputs.get(i).strip();
            int[] ids = o.isEmpty() ? new int[0] : Arrays.stream(o.split(" ")).mapToInt(Integer::parseInt).toArray();
            cases.put(inputs.get(i), ids);
        }
        return cases;
    }

    @AfterAll
    static void report() {
        System.out.println("tokenizer vectors: " + PASSED.get() + "/" + TOTAL.get() + " passed");
        assertArrayEquals(new int[] {TOTAL.get()}, new int[] {PASSED.get()});
    }
}
