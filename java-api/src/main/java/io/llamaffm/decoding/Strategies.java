package io.llamaffm.decoding;

import io.llamaffm.Context;
import io.llamaffm.SamplerChain;
import io.llamaffm.internal.engine.Access;
import io.llamaffm.internal.engine.Engine;

/** Checks the strategies share. */
final class Strategies {
    private Strategies() {}

    static void requirePicker(SamplerChain sampler) {
        if (!sampler.picksToken()) {
            throw new IllegalArgumentException("the sampler chain must end with a stage that picks the token (Greedy, Dist, Mirostat)");
        }
    }

    /** Returns if {@code e} is an aborted decode (a cancellation), rethrows it otherwise. */
    static void requireAborted(io.llamaffm.DecodeException e) {
        if (e.status() != io.llamaffm.DecodeException.Status.ABORTED) {
            throw e;
        }
    }

    /** Claims a context for a whole strategy call: this thread inside, no generation open; the cancel flag reset. */
    static Engine claim(Context context) {
        Engine engine = Access.engine(context);
        engine.enterIdle();
        engine.resetCancel();
        return engine;
    }
}
