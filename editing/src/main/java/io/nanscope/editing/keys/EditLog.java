package io.nanscope.editing.keys;

/** Where ROME's EasyEdit-format log lines go (stdout in the CLI, a list in tests). */
@FunctionalInterface
public interface EditLog {

  void line(String text);

  /** Discards every line. */
  EditLog NONE = text -> {};
}
