/**
 * EditRequest and readers for KnowEdit, CounterFact, zsRE and known_1000 JSON.
 *
 * <p>May import: java.base, tools.jackson.
 */
package io.nanscope.editing.request;
