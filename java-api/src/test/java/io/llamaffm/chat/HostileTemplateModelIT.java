package io.llamaffm.chat;

import io.llamaffm.TestEnv;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile templates through a model file: each case of {@link HostileTemplates} named below is written into
 * stories260K's metadata ({@code tokenizer.chat_template}, by the GGUF writer), the model loaded and the conversation
 * rendered by {@link ChatFormat#forModel} (the format the CLI, the sessions and the server use, with its probes), in a
 * child JVM with a heap of {@value HostileTemplatesTest#HEAP}: each ends with the limit the corpus expects, within
 * {@value HostileTemplatesTest#MAX_MILLIS} ms, whether it is refused while parsing or while rendering.
 */
class HostileTemplateModelIT {
    /** Loops, growth of strings, lists and values, recursion, a filter that multiplies, deep nesting and a huge source. */
    static final List<String> CASES = List.of("loops-2-nested-1e5-output", "loops-3-nested-prebuilt", "string-doubling-tilde-64",
            "list-append-quadratic", "namespace-many-medium-values", "macro-recursion", "dict-dag-tojson", "center-width-1e9",
            "per-char-upper", "nested-ifs-1e4", "huge-string-literal");

    @Test
    void hostileTemplatesInAModelFileEndAtTheirLimits(@TempDir Path work) throws Exception {
        Path stories = TestEnv.stories();
        List<String> args = new ArrayList<>(List.of("--model=" + stories, "--work=" + work));
        args.addAll(CASES);
        Map<String, HostileTemplatesTest.Outcome> outcomes = HostileTemplatesTest.runChild(
                List.of("--enable-native-access=ALL-UNNAMED"), args);
        StringBuilder report = new StringBuilder();
        outcomes.values().forEach(o -> report.append(String.format("%-32s %-7s %5d ms  %s%n", o.name(), o.kind(), o.millis(), o.reason())));
        System.out.println("[hostile templates in stories260K's metadata]\n" + report);
        assertEquals(java.util.Set.copyOf(CASES), outcomes.keySet(), report.toString());
        for (HostileTemplates.Case c : HostileTemplates.all()) {
            HostileTemplatesTest.Outcome o = outcomes.get(c.name());
            if (o != null) {
                assertEquals(c.kind().name(), o.kind(), c.name() + ": " + o.reason());
                assertTrue(o.reason().contains(c.fragment()), c.name() + ": " + o.reason());
                assertTrue(o.millis() < HostileTemplatesTest.MAX_MILLIS, c.name() + " took " + o.millis() + " ms");
            }
        }
    }
}
