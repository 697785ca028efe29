package io.nanscope.engine.format;

/** The IEEE 754 class of a value in a given format (sign aside), for teaching and tracing. */
public enum ValueClass {
  NORMAL,
  SUBNORMAL,
  ZERO,
  INFINITE,
  NAN;

  /**
   * Lower-case name for reports: {@code normal}, {@code subnormal}, {@code zero}, {@code inf},
   * {@code nan}.
   */
  public String label() {
    return switch (this) {
      case NORMAL -> "normal";
      case SUBNORMAL -> "subnormal";
      case ZERO -> "zero";
      case INFINITE -> "inf";
      case NAN -> "nan";
    };
  }
}
