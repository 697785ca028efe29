package io.nanscope.editing.repro;

import java.util.Locale;

/**
 * The labelled scenarios of {@code repro}. {@code stress} (a function-preserving magnitude
 * calibration) runs {@link StressScenario}.
 */
public enum Scenario {
  NATURAL(
      "natural",
      "the model as it is, EasyEdit settings (single edits restored after each record unless --sequential)"),
  DISABLING_EDIT(
      "disabling-edit",
      "a LABELLED override of ROME's Division Factor kᵀu on the first record (a 'disabling edit'),"
          + " then the next record edited sequentially on the edited model"),
  STRESS(
      "stress",
      "an exact function-preserving magnitude calibration (stress calibration — NOT Llama-2-7B"
          + " magnitudes), then sequential ROME edits without restore, and a sweep of the calibrated peak");

  private final String cliName;
  private final String description;

  Scenario(String cliName, String description) {
    this.cliName = cliName;
    this.description = description;
  }

  public String cliName() {
    return cliName;
  }

  public String description() {
    return description;
  }

  /** By CLI name ({@code natural}, {@code disabling-edit}, {@code stress}). */
  public static Scenario named(String name) {
    for (Scenario s : values()) {
      if (s.cliName.equals(name.trim().toLowerCase(Locale.ROOT))) {
        return s;
      }
    }
    throw new IllegalArgumentException(
        "unknown scenario '" + name + "': expected natural, disabling-edit or stress");
  }
}
