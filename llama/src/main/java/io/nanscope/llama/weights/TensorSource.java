package io.nanscope.llama.weights;

import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.util.Set;

/** Named tensors read from one or more files (a safetensors file or a sharded set). */
public interface TensorSource {

  /** All tensor names, in file order. */
  Set<String> names();

  /** The shape recorded for {@code name}; fails naming the source if absent. */
  Shape shape(String name);

  /** The tensor, a view of the mapped file; fails naming the file if absent or unreadable. */
  Tensor tensor(String name);

  /** The file or directory, for messages. */
  String source();

  default boolean has(String name) {
    return names().contains(name);
  }
}
