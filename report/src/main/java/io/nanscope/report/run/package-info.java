/**
 * The commands as library calls: each reads its inputs, builds the editor, runs the {@link
 * io.nanscope.editing.session.EditSession} and prints what the command prints, so that the CLI is
 * flag parsing plus one call. They live beside the drawing code because they write its reports.
 *
 * <p>May import: java.base, tools.jackson, engine, llama, every editing package, report.
 */
package io.nanscope.report.run;
