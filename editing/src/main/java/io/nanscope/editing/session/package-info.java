/**
 * The edit session: the {@link io.nanscope.editing.session.Editor} interface every editing
 * algorithm implements (a batch of requests in, a {@link io.nanscope.editing.session.WeightUpdate}
 * out, the model untouched), the one loop that runs single, sequential and batch editing with pre-
 * and post-edit metrics ({@link io.nanscope.editing.session.EditSession}), the one place that
 * writes and restores weights bit for bit ({@link io.nanscope.editing.session.WeightSnapshot}), and
 * the transactional precision fallback around any editor ({@link
 * io.nanscope.editing.session.PrecisionFallback}). See docs/guide/editing-session.md.
 *
 * <p>May import: java.base, engine, llama, editing.request, editing.keys, editing.eval.
 */
package io.nanscope.editing.session;
