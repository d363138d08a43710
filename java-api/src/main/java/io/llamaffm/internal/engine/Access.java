package io.llamaffm.internal.engine;

import io.llamaffm.Context;
import io.llamaffm.Sampler;

import java.lang.foreign.MemorySegment;

/**
 * How code outside {@code io.llamaffm} (the decoding strategies, the engine) reaches the package-private insides of
 * its public types without widening their public API: {@code io.llamaffm} installs the hooks once, from the static
 * initializer of {@link Context} (which runs before any context, and so any engine, exists).
 */
public final class Access {
    /** The hooks {@code io.llamaffm} provides. */
    public interface Hooks {
        /** {@return the engine behind a context} */
        Engine engine(Context context);

        /** Samples with {@code sampler} from output {@code index} of the context {@code ctx} and accepts the token. */
        int sample(Sampler sampler, MemorySegment ctx, int index);
    }

    private static volatile Hooks hooks;

    private Access() {}

    /** Installs the hooks; only the first call counts. */
    public static void install(Hooks h) {
        if (hooks == null) {
            hooks = h;
        }
    }

    /** {@return the engine behind {@code context}} (a context exists, so its class has installed the hooks) */
    public static Engine engine(Context context) {
        return hooks.engine(context);
    }

    static int sample(Sampler sampler, MemorySegment ctx, int index) {
        return hooks.sample(sampler, ctx, index);
    }
}
