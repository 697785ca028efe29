package io.nanscope.engine.trace;

import java.util.Objects;

/**
 * A named place in a model, with HF-style dotted names: {@code layers.5.mlp.down_proj}, {@code
 * layers.5.self_attn.softmax}, {@code loss}, {@code adam.delta}.
 */
public record Site(String name) {

  public Site {
    Objects.requireNonNull(name, "name");
    if (name.isBlank()) {
      throw new IllegalArgumentException("a site name must not be blank");
    }
  }

  /** Joins the parts with dots: {@code Site.of("layers", 5, "mlp")} is {@code layers.5.mlp}. */
  public static Site of(Object... parts) {
    StringBuilder b = new StringBuilder();
    for (Object p : parts) {
      if (!b.isEmpty()) {
        b.append('.');
      }
      b.append(p);
    }
    return new Site(b.toString());
  }

  /** A child site: {@code layers.5}.child("mlp") is {@code layers.5.mlp}. */
  public Site child(Object part) {
    return new Site(name + "." + part);
  }

  @Override
  public String toString() {
    return name;
  }
}
