package io.llamaffm.consumer;

import io.llamaffm.Completion;
import io.llamaffm.Context;
import io.llamaffm.ContextParams;
import io.llamaffm.Llama;
import io.llamaffm.Model;
import io.llamaffm.SamplerChain;

import java.lang.module.ModuleDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The packaging check the build runs (packaging/consumer/pom.xml): llama-ffm from its published jars, on the class
 * path or on the module path, generates the exact greedy text of stories260K, and on the module path the module
 * descriptors hold (only the API packages exported, the generated bindings exported to the library alone).
 * Exit status 0 when every check passes, 1 otherwise.
 */
public final class ConsumerCheck {
    static final String PROMPT = "Once upon a time";
    static final int TOKENS = 32;
    /** stories260K's greedy continuation, the same the library's own tests and a native llama.cpp run produce. */
    static final String EXPECTED = ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw";
    static final Set<String> API_PACKAGES = Set.of("io.llamaffm", "io.llamaffm.chat", "io.llamaffm.convert",
            "io.llamaffm.decoding", "io.llamaffm.embeddings", "io.llamaffm.gguf", "io.llamaffm.grammar", "io.llamaffm.hub");

    private final List<String> failures = new ArrayList<>();

    private ConsumerCheck() {}

    /**
     * Runs the checks.
     *
     * @param args the model file; {@code class-path} or {@code module-path} (how this JVM was started); and
     *             optionally {@code natives-modules} when the natives jars are on the module path too
     */
    public static void main(String[] args) {
        Path model = Path.of(args[0]);
        String mode = args[1];
        boolean nativesModules = args.length > 2 && args[2].equals("natives-modules");
        if (!Files.isRegularFile(model)) {
            System.out.println("[consumer] SKIPPED: no model at " + model.toAbsolutePath());
            return;
        }
        ConsumerCheck check = new ConsumerCheck();
        switch (mode) {
            case "class-path" -> check.that(!Model.class.getModule().isNamed(), "llama-ffm is on the class path");
            case "module-path" -> check.modules(nativesModules);
            default -> throw new IllegalArgumentException("mode " + mode + ": class-path or module-path");
        }
        check.generation(model);
        if (!check.failures.isEmpty()) {
            check.failures.forEach(f -> System.err.println("[consumer] FAILED: " + f));
            System.exit(1);
        }
        System.out.println("[consumer] OK (" + mode + (nativesModules ? ", natives as modules" : "") + ")");
    }

    private void generation(Path model) {
        try (Model m = Model.load(model);
             Context ctx = m.newContext(ContextParams.defaults())) {
            Completion c = ctx.generate(PROMPT, TOKENS, SamplerChain.greedy(), null);
            System.out.println("[consumer] " + PROMPT + c.text());
            equal(EXPECTED, c.text(), "greedy text");
            equal(TOKENS, c.tokens().length, "generated tokens");
        }
        System.out.println(Llama.backendInfo().describe().lines().limit(2).map(l -> "[consumer] " + l)
                .collect(Collectors.joining("\n")));
    }

    private void modules(boolean nativesModules) {
        Module self = ConsumerCheck.class.getModule();
        Module api = Model.class.getModule();
        equal("io.llamaffm.consumer", self.getName(), "this class's module");
        equal("io.llamaffm", api.getName(), "llama-ffm's module");
        ModuleDescriptor descriptor = api.getDescriptor();
        equal(API_PACKAGES, descriptor.exports().stream().map(ModuleDescriptor.Exports::source)
                .collect(Collectors.toCollection(TreeSet::new)), "packages io.llamaffm exports");
        that(descriptor.exports().stream().noneMatch(ModuleDescriptor.Exports::isQualified), "every export is unqualified");
        that(descriptor.opens().isEmpty() && !descriptor.isOpen(), "io.llamaffm opens nothing");
        that(!api.isExported("io.llamaffm.internal", self), "io.llamaffm.internal is not exported");
        refused("io.llamaffm.internal.Version", "PROJECT");

        Module bindings = api.getLayer().findModule("io.llamaffm.bindings").orElse(null);
        that(bindings != null, "io.llamaffm.bindings is in the layer");
        if (bindings != null) {
            that(bindings.isExported("io.llamaffm.bindings", api), "the bindings are exported to io.llamaffm");
            that(!bindings.isExported("io.llamaffm.bindings", self), "the bindings are not exported to users");
            that(!self.canRead(bindings), "users do not read the bindings module (io.llamaffm does not require it transitively)");
            refused("io.llamaffm.bindings.LlamaH", "C_INT");
        }
        if (nativesModules) {
            // the natives id loaded (linux-x64, linux-x64-cuda, ...) names its jar's module
            String name = "io.llamaffm.natives." + Llama.backendInfo().platform().replace('-', '.');
            that(ModuleLayer.boot().findModule(name).isPresent(), "the loaded natives jar is the module " + name);
        }
    }

    /** Public members of a package the module does not export stay out of reach, by reflection too. */
    private void refused(String className, String field) {
        try {
            Object value = Class.forName(className).getField(field).get(null);
            failures.add(className + "." + field + " was readable from another module: " + value);
        } catch (IllegalAccessException expected) {
            System.out.println("[consumer] refused as it should be: " + expected.getMessage());
        } catch (ReflectiveOperationException e) {
            failures.add(className + "." + field + ": " + e);
        }
    }

    private void equal(Object expected, Object actual, String what) {
        that(expected.equals(actual), what + ": expected <" + expected + "> but was <" + actual + ">");
    }

    private void that(boolean condition, String what) {
        if (!condition) {
            failures.add(what);
        }
    }
}
