/**
 * The commands as library calls: each reads its inputs, builds the editor, runs the {@link
 * io.nanscope.editing.session.EditSession} and prints what the command prints, so that the CLI is
 * flag parsing plus one call.
 */
package io.nanscope.editing.run;
