package io.nanscope.editing.stats;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.nanscope.editing.RepoPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TextCorpusTest {

  @Test
  void bundledCorpusHasItsProvenanceValues() throws IOException {
    TextCorpus c = TextCorpus.read(RepoPaths.inRepo("configs/corpus/tinystories-corpus.txt"));
    assertThat(c.texts()).hasSize(300);
    assertThat(c.sha256())
        .isEqualTo("66dccbe636c7ea698d570d2b77348d154b222d79adc693158051e99c5c8f051c");
    assertThat(Files.readString(RepoPaths.inRepo("configs/corpus/PROVENANCE.md")))
        .contains(c.sha256());
    assertThat(c.texts()).allSatisfy(t -> assertThat(t).doesNotContain("\n\n").isNotBlank());
    assertThat(c.first(300)).hasSize(300);
    assertThatThrownBy(() -> c.first(301))
        .hasMessageContaining("has 300 texts but 301 were asked for");
  }

  @Test
  void plainTextIsSplitIntoParagraphs(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("c.txt");
    Files.writeString(f, "\n\nOne day.\nTwo lines.\r\n\r\n\n  \nSecond story.\n");
    assertThat(TextCorpus.read(f).texts()).containsExactly("One day.\nTwo lines.", "Second story.");
  }

  @Test
  void jsonlTakesTheTextField(@TempDir Path dir) throws IOException {
    Path f = dir.resolve("c.jsonl");
    Files.writeString(f, "{\"text\": \"A cat.\", \"id\": 1}\n\n{\"text\": \"Two\\nlines\"}\n");
    assertThat(TextCorpus.read(f).texts()).containsExactly("A cat.", "Two\nlines");
    Files.writeString(f, "{\"text\": \"A cat.\"}\n{\"body\": \"x\"}\n");
    assertThatThrownBy(() -> TextCorpus.read(f))
        .hasMessageContaining("c.jsonl line 2: expected an object with a string field \"text\"");
    Files.writeString(f, "{\"text\": \n");
    assertThatThrownBy(() -> TextCorpus.read(f))
        .hasMessageContaining("c.jsonl line 1: not valid JSON");
    Files.writeString(f, "\n");
    assertThatThrownBy(() -> TextCorpus.read(f)).hasMessageContaining("no texts");
  }
}
