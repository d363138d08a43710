/**
 * Decoding strategies beyond one sequence at a time: {@link io.llamaffm.decoding.ParallelDecoding} (several prompts in
 * shared batches), {@link io.llamaffm.decoding.BeamSearch} and {@link io.llamaffm.decoding.SpeculativeDecoding}.
 *
 * <p>They share one shape: a static {@code generate(context, prompt(s), GenerationParams, ..., onText)} that claims
 * the context for the call (refused while a {@link io.llamaffm.Generation} is open on it), returns a result with a
 * {@link io.llamaffm.Completion}, and follows the same stop/emit policy as {@link io.llamaffm.Context#generate}: token
 * budget, stop strings (never emitted), end-of-generation tokens, logprobs when asked, cancellation through
 * {@link io.llamaffm.Context#cancel()} or an interrupt, timings.
 */
package io.llamaffm.decoding;
