package io.nanscope.engine.trace;

import java.util.List;

/**
 * A hand-written JSON object builder for the JSON Lines writers (the engine has no JSON library).
 * Strings are escaped per RFC 8259 (quote, backslash, control characters as a backslash-u escape).
 * Non-finite numbers, which JSON cannot hold, are written as the strings {@code "NaN"}, {@code
 * "Infinity"}, {@code "-Infinity"} (Python's {@code float()} and JavaScript's {@code Number()} read
 * them back).
 */
public final class Json {

  private final StringBuilder b = new StringBuilder(128).append('{');
  private boolean first = true;

  private Json() {}

  /** A new empty object. */
  public static Json object() {
    return new Json();
  }

  public Json put(String key, String value) {
    key(key);
    if (value == null) {
      b.append("null");
    } else {
      quote(b, value);
    }
    return this;
  }

  public Json put(String key, long value) {
    key(key).append(value);
    return this;
  }

  public Json put(String key, boolean value) {
    key(key).append(value);
    return this;
  }

  /** A double in its shortest round-trip form ({@link Double#toString}). */
  public Json put(String key, double value) {
    number(key(key), value);
    return this;
  }

  /**
   * A float in its shortest round-trip form as a float ({@code 65504.0}, not a double expansion).
   */
  public Json put(String key, float value) {
    if (Float.isFinite(value)) {
      key(key).append(Float.toString(value));
    } else {
      number(key(key), value);
    }
    return this;
  }

  /** A nested object. */
  public Json put(String key, Json value) {
    key(key).append(value.toString());
    return this;
  }

  /** An array of nested objects. */
  public Json putObjects(String key, List<Json> values) {
    StringBuilder k = key(key).append('[');
    for (int i = 0; i < values.size(); i++) {
      k.append(i == 0 ? "" : ",").append(values.get(i).toString());
    }
    k.append(']');
    return this;
  }

  /** An array of longs. */
  public Json put(String key, long[] values) {
    StringBuilder k = key(key).append('[');
    for (int i = 0; i < values.length; i++) {
      k.append(i == 0 ? "" : ",").append(values[i]);
    }
    k.append(']');
    return this;
  }

  /** The object as one line of JSON. */
  @Override
  public String toString() {
    return b + "}";
  }

  private StringBuilder key(String key) {
    if (!first) {
      b.append(',');
    }
    first = false;
    quote(b, key);
    return b.append(':');
  }

  private static void number(StringBuilder b, double v) {
    if (Double.isNaN(v)) {
      b.append("\"NaN\"");
    } else if (Double.isInfinite(v)) {
      b.append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    } else {
      b.append(Double.toString(v)); // e.g. 1.0E-8: a valid JSON number
    }
  }

  /** Appends {@code s} as a JSON string literal. */
  static void quote(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case '\b' -> b.append("\\b");
        case '\f' -> b.append("\\f");
        default -> {
          if (c < 0x20 || c == 0x2028 || c == 0x2029) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c); // lone surrogates are passed through as UTF-16 code units
          }
        }
      }
    }
    b.append('"');
  }
}
