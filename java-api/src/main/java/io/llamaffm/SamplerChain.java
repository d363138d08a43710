package io.llamaffm;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A decoding strategy: sampler stages applied in order to the next-token candidates, as llama.cpp's sampler
 * chain applies them. A chain used for generation ends with a stage that picks the token ({@link Greedy},
 * {@link Dist}, {@link Mirostat} or {@link MirostatV2}); a chain without one can still filter a logits array
 * ({@link Sampler#apply(float[])}). Immutable and thread-safe: each {@link Sampler} builds its own native chain.
 * {@link SamplingParams#toChain()} builds the usual chain (temperature, top-k, top-p, min-p, penalties, logit bias,
 * seed, grammar) from llama.cpp's defaults in llama.cpp's order; compose stages by hand for anything else.
 *
 * @param stages the stages in the order they apply; at least one
 */
public record SamplerChain(List<Stage> stages) {

    /** One stage of a chain. */
    public sealed interface Stage permits Greedy, Dist, Temperature, DynamicTemperature, TopK, TopP, MinP, Typical,
            TopNSigma, Xtc, Dry, Mirostat, MirostatV2, Penalties, LogitBias, Grammar, LazyGrammar, Custom {}

    /** Picks the most probable token. */
    public record Greedy() implements Stage {}

    /**
     * Draws a token from the distribution with a seeded random generator.
     *
     * @param seed the random generator's seed: the same seed, prompt and chain give the same tokens
     */
    public record Dist(int seed) implements Stage {}

    /**
     * Divides logits by {@code temperature}; 0 keeps only the most probable token (greedy).
     *
     * @param temperature the divisor, at least 0: below 1 sharpens the distribution, above 1 flattens it
     */
    public record Temperature(float temperature) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if {@code temperature} is negative or not finite
         */
        public Temperature {
            requireFinite(temperature, "temperature");
            if (temperature < 0) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
    }

    /**
     * Entropy-based dynamic temperature in {@code temperature ± delta}, shaped by {@code exponent}.
     *
     * @param temperature the middle of the range
     * @param delta       half the width of the range (0 = a fixed temperature)
     * @param exponent    how the entropy maps into the range (1 = linearly)
     */
    public record DynamicTemperature(float temperature, float delta, float exponent) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if a value is not finite
         */
        public DynamicTemperature {
            requireFinite(temperature, "temperature");
            requireFinite(delta, "delta");
            requireFinite(exponent, "exponent");
        }
    }

    /**
     * Keeps the {@code k} most probable tokens.
     *
     * @param k how many tokens to keep, at least 1
     */
    public record TopK(int k) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if {@code k} is below 1
         */
        public TopK {
            if (k < 1) throw new IllegalArgumentException("k must be >= 1, got " + k);
        }
    }

    /**
     * Keeps the smallest set of most probable tokens whose probabilities add up to at least {@code p}.
     *
     * @param p       the probability mass to keep, in [0, 1] (1 = off)
     * @param minKeep the fewest tokens to keep whatever {@code p} says, at least 1
     */
    public record TopP(float p, int minKeep) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if {@code p} is outside [0, 1] or {@code minKeep} below 1
         */
        public TopP {
            requireUnit(p, "p");
            requireMinKeep(minKeep);
        }
    }

    /**
     * Keeps tokens whose probability is at least {@code p} times the most probable one's.
     *
     * @param p       the ratio to the most probable token, in [0, 1] (0 = off)
     * @param minKeep the fewest tokens to keep whatever {@code p} says, at least 1
     */
    public record MinP(float p, int minKeep) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if {@code p} is outside [0, 1] or {@code minKeep} below 1
         */
        public MinP {
            requireUnit(p, "p");
            requireMinKeep(minKeep);
        }
    }

    /**
     * Locally typical sampling with mass {@code p}.
     *
     * @param p       the probability mass to keep, in [0, 1] (1 = off)
     * @param minKeep the fewest tokens to keep whatever {@code p} says, at least 1
     */
    public record Typical(float p, int minKeep) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if {@code p} is outside [0, 1] or {@code minKeep} below 1
         */
        public Typical {
            requireUnit(p, "p");
            requireMinKeep(minKeep);
        }
    }

    /**
     * Keeps tokens whose logit is within {@code n} standard deviations of the maximum.
     *
     * @param n how many standard deviations below the largest logit a token may be
     */
    public record TopNSigma(float n) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if {@code n} is not finite
         */
        public TopNSigma {
            requireFinite(n, "n");
        }
    }

    /**
     * Exclude-top-choices: with probability {@code probability}, removes all tokens above {@code threshold} but the
     * least likely of them.
     *
     * @param probability how often the stage acts, in [0, 1]
     * @param threshold   the probability above which a token counts as a top choice, in [0, 1]
     * @param minKeep     the fewest tokens to keep, at least 1
     * @param seed        the seed of the random draw that decides whether the stage acts
     */
    public record Xtc(float probability, float threshold, int minKeep, int seed) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if a probability is outside [0, 1] or {@code minKeep} below 1
         */
        public Xtc {
            requireUnit(probability, "probability");
            requireUnit(threshold, "threshold");
            requireMinKeep(minKeep);
        }
    }

    /**
     * "Don't repeat yourself": penalizes tokens that would extend a repeated sequence.
     *
     * @param multiplier       the penalty's scale (0 = off)
     * @param base             the base of the penalty, which grows exponentially with the repeat's length
     * @param allowedLength    the longest repeat left unpenalized
     * @param penaltyLastN     how many of the last tokens are searched for repeats (0 = off)
     * @param sequenceBreakers texts that end a repeated sequence (newline, colon, ...)
     */
    public record Dry(float multiplier, float base, int allowedLength, int penaltyLastN, List<String> sequenceBreakers)
            implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if a value is not finite or a length is negative
         */
        public Dry {
            requireFinite(multiplier, "multiplier");
            requireFinite(base, "base");
            if (allowedLength < 0) throw new IllegalArgumentException("allowedLength must be >= 0");
            if (penaltyLastN < 0) throw new IllegalArgumentException("penaltyLastN must be >= 0 (0 = off)");
            sequenceBreakers = List.copyOf(sequenceBreakers);
        }

        /** {@return multiplier 0.8, base 1.75, allowed length 2, the last 256 tokens, breakers newline, colon, quote, asterisk} */
        public static Dry defaults() {
            return new Dry(0.8f, 1.75f, 2, 256, List.of("\n", ":", "\"", "*"));
        }
    }

    /**
     * Mirostat 1.0: targets surprise {@code tau} with learning rate {@code eta}, estimating from {@code m} tokens.
     * Picks the token.
     *
     * @param seed the seed of the random draw
     * @param tau  the target surprise (cross-entropy), e.g. 5
     * @param eta  the learning rate, e.g. 0.1
     * @param m    how many tokens the estimate of the distribution's shape uses, e.g. 100
     */
    public record Mirostat(int seed, float tau, float eta, int m) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if {@code tau} or {@code eta} is not finite or {@code m} is below 1
         */
        public Mirostat {
            requireFinite(tau, "tau");
            requireFinite(eta, "eta");
            if (m < 1) throw new IllegalArgumentException("m must be >= 1");
        }
    }

    /**
     * Mirostat 2.0: targets surprise {@code tau} with learning rate {@code eta}. Picks the token.
     *
     * @param seed the seed of the random draw
     * @param tau  the target surprise (cross-entropy), e.g. 5
     * @param eta  the learning rate, e.g. 0.1
     */
    public record MirostatV2(int seed, float tau, float eta) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if {@code tau} or {@code eta} is not finite
         */
        public MirostatV2 {
            requireFinite(tau, "tau");
            requireFinite(eta, "eta");
        }
    }

    /**
     * Repetition penalties over the last {@code lastN} tokens: repeat (1 = off), frequency and presence (0 = off).
     *
     * @param lastN     how many of the last tokens count (0 = off)
     * @param repeat    divides the logits of tokens seen (1 = off), above 0
     * @param frequency subtracted from a seen token's logit once per occurrence (0 = off)
     * @param presence  subtracted from a seen token's logit once (0 = off)
     */
    public record Penalties(int lastN, float repeat, float frequency, float presence) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if {@code lastN} is negative, {@code repeat} not above 0, or a value not finite
         */
        public Penalties {
            if (lastN < 0) throw new IllegalArgumentException("lastN must be >= 0 (0 = off)");
            requireFinite(frequency, "frequency");
            requireFinite(presence, "presence");
            if (!(repeat > 0) || Float.isInfinite(repeat)) throw new IllegalArgumentException("repeat must be > 0, got " + repeat);
        }
    }

    /**
     * Adds a bias to the logits of chosen tokens ({@code Float.NEGATIVE_INFINITY} bans a token).
     *
     * @param biases the bias added to each token id's logit
     */
    public record LogitBias(Map<Integer, Float> biases) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if a bias is NaN or positive infinity
         */
        public LogitBias {
            biases = Map.copyOf(biases);
            biases.values().forEach(v -> {
                if (Float.isNaN(v) || v == Float.POSITIVE_INFINITY) throw new IllegalArgumentException("bias must be a number or -infinity");
            });
        }
    }

    /**
     * Constrains output to a GBNF grammar starting at rule {@code root}. The grammar is read here as llama.cpp will
     * read it, and refused with an {@link IllegalArgumentException} that says where and why: syntax errors, undefined
     * rules, left recursion, what would overflow llama.cpp's stack (groups nested more than 256 deep, a chain of more
     * than 4096 rules each starting with the next), and a grammar bigger or costlier than the
     * {@code llamaffm.grammar.max.*} limits of {@link Configuration} (characters, the rules and elements llama.cpp
     * expands its repetitions into, the steps of llama.cpp's left-recursion check). A token given by its text
     * ({@code <think>}) is checked against the vocabulary when a {@link Sampler} is built.
     *
     * @param gbnf the grammar in llama.cpp's GBNF
     * @param root the name of the rule the output must match
     */
    public record Grammar(String gbnf, String root) implements Stage {
        /**
         * Checks the components.
         *
         * @throws IllegalArgumentException if the grammar or the root contains NUL, or the grammar is refused
         */
        public Grammar {
            Objects.requireNonNull(gbnf, "gbnf");
            Objects.requireNonNull(root, "root");
            if (gbnf.indexOf('\0') >= 0 || root.indexOf('\0') >= 0) throw new IllegalArgumentException("grammar contains NUL");
            if (gbnf.isBlank()) throw new IllegalArgumentException("the grammar is empty");
            io.llamaffm.internal.GbnfLimits.check(gbnf, root);
        }

        /**
         * A grammar whose output matches its rule {@code root}.
         *
         * @param gbnf the grammar in llama.cpp's GBNF
         * @return the stage
         */
        public static Grammar of(String gbnf) {
            return new Grammar(gbnf, "root");
        }

        /**
         * Constrains output to JSON valid against a JSON Schema, converted to GBNF by
         * {@link io.llamaffm.grammar.JsonSchemaToGrammar}.
         *
         * @param schemaJson the JSON Schema, as JSON text
         * @return the stage
         * @throws IllegalArgumentException if the schema is invalid or unsupported
         */
        public static Grammar fromJsonSchema(String schemaJson) {
            return of(io.llamaffm.grammar.JsonSchemaToGrammar.convert(schemaJson));
        }
    }

    /**
     * A grammar that lies dormant until the output matches one of its triggers, then holds the rest of the output to
     * rule {@code root} from the start of the match (or of the pattern's first capture group): free text until a tool
     * call's marker, then only a well-formed call. Before the trigger the stage changes nothing.
     *
     * @param gbnf            the grammar in llama.cpp's GBNF
     * @param root            the rule the output from the trigger on must match
     * @param triggerPatterns regular expressions (ECMAScript, as llama.cpp's {@code std::regex}) matched against the whole
     *                        output so far; a match switches the grammar on
     * @param triggerTokens   token ids whose generation switches the grammar on
     */
    public record LazyGrammar(String gbnf, String root, List<String> triggerPatterns, List<Integer> triggerTokens)
            implements Stage {
        /**
         * Checks the components as {@link Grammar} does, and that there is a trigger.
         *
         * @throws IllegalArgumentException if the grammar is refused, a pattern contains NUL or there is no trigger
         */
        public LazyGrammar {
            new Grammar(gbnf, root); // the same checks
            triggerPatterns = List.copyOf(triggerPatterns);
            triggerTokens = List.copyOf(triggerTokens);
            if (triggerPatterns.isEmpty() && triggerTokens.isEmpty()) {
                throw new IllegalArgumentException("a lazy grammar needs a trigger pattern or token");
            }
            for (String p : triggerPatterns) {
                if (p.isEmpty() || p.indexOf('\0') >= 0) throw new IllegalArgumentException("empty trigger pattern or NUL in it");
            }
        }
    }

    /**
     * A stage written in Java: reads and changes the candidates inside the native chain.
     *
     * @param name      the stage's name, as llama.cpp's chain reports it
     * @param transform what the stage does to the candidates
     */
    public record Custom(String name, CandidateTransform transform) implements Stage {
        /**
         * Checks the components.
         *
         * @throws NullPointerException if an argument is null
         */
        public Custom {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(transform, "transform");
        }
    }

    /** The body of a {@link Custom} stage. Exceptions it throws are rethrown to the caller of the sampling call. */
    @FunctionalInterface
    public interface CandidateTransform {
        /**
         * Reads and changes the candidates of one sampling step.
         *
         * @param candidates the step's candidates, valid during this call only
         */
        void apply(Candidates candidates);
    }

    /**
     * Checks the components.
     *
     * @throws IllegalArgumentException if there is no stage
     */
    public SamplerChain {
        stages = List.copyOf(stages);
        if (stages.isEmpty()) {
            throw new IllegalArgumentException("a sampler chain needs at least one stage");
        }
    }

    /**
     * A chain of these stages, in this order.
     *
     * @param stages the stages; at least one
     * @return the chain
     */
    public static SamplerChain of(Stage... stages) {
        return new SamplerChain(List.of(stages));
    }

    /** {@return a chain that always picks the most probable token} */
    public static SamplerChain greedy() {
        return of(new Greedy());
    }

    /**
     * The usual sampling recipe, {@link SamplingParams} with these values and llama.cpp's defaults for the rest: top-k,
     * top-p, min-p, temperature, then a seeded draw; temperature 0 is {@link #greedy()}.
     *
     * @param temperature the {@link Temperature}; 0 returns {@link #greedy()}
     * @param topK        the {@link TopK} count (0 = off)
     * @param topP        the {@link TopP} mass (1 = off)
     * @param minP        the {@link MinP} ratio (0 = off)
     * @param seed        the seed of the final {@link Dist} draw
     * @return the chain
     * @throws IllegalArgumentException if a value is out of its range ({@link SamplingParams})
     */
    public static SamplerChain sampling(float temperature, int topK, float topP, float minP, int seed) {
        return SamplingParams.defaults().withTemperature(temperature).withTopK(topK).withTopP(topP).withMinP(minP)
                .withSeed(seed).toChain();
    }

    /** {@return whether the last stage picks a token (required for generation)} */
    public boolean picksToken() {
        Stage last = stages.getLast();
        return last instanceof Greedy || last instanceof Dist || last instanceof Mirostat || last instanceof MirostatV2;
    }

    private static void requireFinite(float v, String what) {
        if (!Float.isFinite(v)) throw new IllegalArgumentException(what + " must be finite, got " + v);
    }

    private static void requireUnit(float v, String what) {
        if (!(v >= 0 && v <= 1)) throw new IllegalArgumentException(what + " must be in [0, 1], got " + v);
    }

    private static void requireMinKeep(int minKeep) {
        if (minKeep < 1) throw new IllegalArgumentException("minKeep must be >= 1, got " + minKeep);
    }
}
