/**
 * Traced passes of the model: {@link io.nanscope.llama.trace.PromptTrace} runs a prompt forward
 * (and optionally backward through the next-token NLL) with the engine's stats and anomaly tracers
 * and returns what they measured as data; drawing it is the report module's job.
 *
 * <p>May import: java.base, engine, llama.config, llama.model.
 */
package io.nanscope.llama.trace;
