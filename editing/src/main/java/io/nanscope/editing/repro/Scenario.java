package io.nanscope.editing.repro;

import java.util.Locale;

/**
 * The labelled scenarios of {@code repro}. {@code stress} (a function-preserving magnitude
 * calibration) is built on the calibrate branch; this enum names it so the command can say so.
 */
public enum Scenario {
  NATURAL("natural", "the model as it is, EasyEdit settings: single edits, restored after each record"),
  DISABLING_EDIT("disabling-edit",
      "a LABELLED override of ROME's Division Factor kᵀu on the first record (a 'disabling edit'),"
          + " then the next record edited sequentially on the edited model"),
  STRESS("stress", "function-preserving magnitude calibration, sequential edits (calibrate branch)");

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
