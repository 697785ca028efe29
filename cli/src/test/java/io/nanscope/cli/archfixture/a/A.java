package io.nanscope.cli.archfixture.a;

import io.nanscope.cli.archfixture.b.B;
import io.nanscope.engine.format.FloatFormat;

/**
 * A deliberately bad class for {@code PackageRulesTest}: it closes a cycle and imports the engine.
 */
public final class A {
  public static String name(B b) {
    return b.toString() + FloatFormat.FP16.name();
  }
}
