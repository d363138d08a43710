package io.llamaffm;

import io.llamaffm.bindings.LlamaH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A decoding strategy: sampler stages applied in order to the next-token candidates. The last stage picks
 * the token ({@link Greedy} or {@link Dist}). Immutable; each generation builds its own native chain from it.
 */
public record SamplerChain(List<Stage> stages) {

    /** One stage of a chain. */
    public sealed interface Stage permits Greedy, Dist, Temperature, TopK, TopP, MinP {}

    /** Picks the most probable token. */
    public record Greedy() implements Stage {}

    /** Draws a token from the distribution with a seeded random generator. */
    public record Dist(int seed) implements Stage {}

    /** Divides logits by {@code temperature}; 0 keeps only the most probable token. */
    public record Temperature(float temperature) implements Stage {
        public Temperature {
            if (!(temperature >= 0)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        }
    }

    /** Keeps the {@code k} most probable tokens. */
    public record TopK(int k) implements Stage {
        public TopK {
            if (k < 1) throw new IllegalArgumentException("k must be >= 1, got " + k);
        }
    }

    /** Keeps the smallest set of most probable tokens whose probabilities add up to at least {@code p}. */
    public record TopP(float p, int minKeep) implements Stage {
        public TopP {
            if (!(p > 0 && p <= 1)) throw new IllegalArgumentException("p must be in (0, 1], got " + p);
            if (minKeep < 1) throw new IllegalArgumentException("minKeep must be >= 1, got " + minKeep);
        }
    }

    /** Keeps tokens whose probability is at least {@code p} times the most probable one's. */
    public record MinP(float p, int minKeep) implements Stage {
        public MinP {
            if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("p must be in [0, 1], got " + p);
            if (minKeep < 1) throw new IllegalArgumentException("minKeep must be >= 1, got " + minKeep);
        }
    }

    public SamplerChain {
        stages = List.copyOf(stages);
        if (stages.isEmpty()) {
            throw new IllegalArgumentException("a sampler chain needs at least one stage");
        }
        Stage last = stages.getLast();
        if (!(last instanceof Greedy || last instanceof Dist)) {
            throw new IllegalArgumentException("the last stage must pick a token (Greedy or Dist), got " + last);
        }
    }

    public static SamplerChain of(Stage... stages) {
        return new SamplerChain(List.of(stages));
    }

    /** Always the most probable token. */
    public static SamplerChain greedy() {
        return of(new Greedy());
    }

    /** The usual sampling recipe: top-k, top-p, min-p, temperature, then a seeded draw; temperature 0 is greedy. */
    public static SamplerChain sampling(float temperature, int topK, float topP, float minP, int seed) {
        if (temperature == 0) {
            return greedy();
        }
        return of(new TopK(topK), new TopP(topP, 1), new MinP(minP, 1), new Temperature(temperature), new Dist(seed));
    }

    /** Builds the native chain; the caller frees it with llama_sampler_free (which frees every stage). */
    MemorySegment toNative() {
        MemorySegment chain;
        try (Arena arena = Arena.ofConfined()) {
            chain = LlamaH.llama_sampler_chain_init(LlamaH.llama_sampler_chain_default_params(arena));
        }
        for (Stage s : stages) {
            MemorySegment stage = switch (s) {
                case Greedy g -> LlamaH.llama_sampler_init_greedy();
                case Dist d -> LlamaH.llama_sampler_init_dist(d.seed());
                case Temperature t -> LlamaH.llama_sampler_init_temp(t.temperature());
                case TopK k -> LlamaH.llama_sampler_init_top_k(k.k());
                case TopP p -> LlamaH.llama_sampler_init_top_p(p.p(), p.minKeep());
                case MinP m -> LlamaH.llama_sampler_init_min_p(m.p(), m.minKeep());
            };
            LlamaH.llama_sampler_chain_add(chain, stage);
        }
        return chain;
    }
}
