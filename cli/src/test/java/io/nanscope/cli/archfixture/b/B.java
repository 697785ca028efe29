package io.nanscope.cli.archfixture.b;

import io.nanscope.cli.archfixture.a.A;

/** The other half of {@code PackageRulesTest}'s deliberate cycle. */
public final class B {
  @Override
  public String toString() {
    return A.class.getSimpleName();
  }
}
