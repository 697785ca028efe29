/**
 * Self-contained offline HTML reports (inline SVG plots and CSS, no scripts, no external
 * references) with PNG copies of the plots written beside them, plus the adapters that turn trace
 * rows and ROME step logs into plots: {@link io.nanscope.report.Report}, {@link
 * io.nanscope.report.HeadroomGrid}, {@link io.nanscope.report.StepCurves}.
 *
 * <p>May import: java.base, java.desktop (PNG rendering), XChart, engine, llama, editing.keys,
 * editing.rome, editing.eval, editing.request.
 */
package io.nanscope.report;
