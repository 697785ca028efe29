// Writes a larger in-domain edit set for the embedded model, by a fixed rule, from the model's own
// greedy continuations (configs/edits/tinystories-edits-100.json; docs/guide/editing-data.md).
//
//   scripts/editing/make-edit-set.sh [N] [OUT.json]          (defaults: 100, the file above)
//
// The rule (nothing in it looks at whether an edit succeeds):
//  - subjects: the 16 names and 8 animals ("The cat", ...) of the corpus script
//    (scripts/editing/make_tinystories_corpus.py), relations: the 7 templates below, each with the
//    corpus word list its answer comes from; all 24 x 7 (subject, relation) pairs are shuffled with
//    java.util.Random(SEED) and taken in that order;
//  - ground_truth: the model's own greedy next word after the prompt (FP32, llama2.c-style greedy);
//  - target_new: drawn with the same Random from the relation's word list, excluding the greedy word
//    (so every record asks for a change); only single words [A-Za-z]+;
//  - rephrase_prompt: the relation's rephrase template; portability: Subject_Aliasing with "Little
//    NAME" / "The little ANIMAL", answer target_new;
//  - locality: the same relation for another subject (the next one, in the shuffled subject order,
//    whose probe, prompt + " " + answer, does not hold the edited subject's last token, ROME's key
//    token) and one of the fixed generic prompts, each with the model's greedy word as its answer;
//  - a pair is skipped only if its greedy word is not a word (punctuation) or no locality probe
//    (or the drawn generic one) avoids the key token (the relation's own pieces hold it, e.g. "at" of "The cat" in "sat");
//    skipped pairs are counted on stderr.
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpContext;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.llama.generate.Generator;
import io.nanscope.llama.generate.Sampler;
import io.nanscope.llama.model.LlamaModel;
import io.nanscope.llama.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;

public class MakeEditSet {
  static final long SEED = 20261206L;

  static final List<String> GIRLS = List.of("Lily", "Sue", "Mia", "Amy", "Lucy", "Sara", "Emma", "Kim");
  static final List<String> BOYS = List.of("Tom", "Tim", "Timmy", "Ben", "Max", "Sam", "Jack", "Bob");
  static final List<String> ANIMALS =
      List.of("cat", "dog", "bird", "frog", "bunny", "duck", "fish", "bear");
  static final List<String> TOYS = List.of("ball", "doll", "car", "kite", "truck", "boat", "drum");
  static final List<String> PLACES =
      List.of("park", "garden", "beach", "forest", "lake", "farm", "zoo", "yard");
  static final List<String> FOODS =
      List.of("cake", "apple", "cookie", "soup", "pie", "sandwich", "banana", "milk");
  static final List<String> FEELINGS =
      List.of("happy", "sad", "scared", "excited", "tired", "proud", "angry", "surprised");
  static final List<String> ACTIONS =
      List.of("play", "run", "jump", "sing", "dance", "swim", "draw", "read");
  static final List<String> THINGS =
      List.of("tree", "rock", "flower", "box", "hole", "house", "bench", "hill");

  record Relation(String prompt, String rephrase, List<String> answers) {}

  static final List<Relation> RELATIONS =
      List.of(
          new Relation("{} liked to", "{} loved to", ACTIONS),
          new Relation("{} was very", "{} felt very", FEELINGS),
          new Relation("{} went to the", "{} walked to the", PLACES),
          new Relation("{} had a red", "{} owned a red", TOYS),
          new Relation("{} liked to eat", "{} loved to eat", FOODS),
          new Relation("{} saw a big", "{} looked at a big", ANIMALS),
          new Relation("{} sat under the", "{} sat down under the", THINGS));

  static final List<String> GENERIC =
      List.of("The sun was", "Once upon a time, there was a", "The sky was", "One day, a little");

  public static void main(String[] args) throws Exception {
    int n = args.length > 0 ? Integer.parseInt(args[0]) : 100;
    Path out = Path.of(args.length > 1 ? args[1] : "configs/edits/tinystories-edits-100.json");
    Path modelDir = Path.of("models/stories260K");
    LlamaModel model = LlamaModel.load(modelDir, FloatFormat.FP32);
    Tokenizer tok = Tokenizer.readFromDirectory(modelDir);
    Generator gen = new Generator(model, tok, PrecisionPolicy.named("fp32"), OpContext.DEFAULT);

    List<String> subjects = new ArrayList<>();
    GIRLS.forEach(subjects::add);
    BOYS.forEach(subjects::add);
    ANIMALS.forEach(a -> subjects.add("The " + a));
    Random rnd = new Random(SEED);
    List<int[]> pairs = new ArrayList<>();
    for (int s = 0; s < subjects.size(); s++) {
      for (int r = 0; r < RELATIONS.size(); r++) {
        pairs.add(new int[] {s, r});
      }
    }
    Collections.shuffle(pairs, rnd);
    List<String> subjectOrder = new ArrayList<>(subjects);
    Collections.shuffle(subjectOrder, rnd);

    StringBuilder json = new StringBuilder("[\n");
    int written = 0, skipped = 0;
    for (int[] pair : pairs) {
      if (written == n) {
        break;
      }
      String subject = subjects.get(pair[0]);
      Relation rel = RELATIONS.get(pair[1]);
      String prompt = rel.prompt().replace("{}", subject);
      String truth = greedyWord(gen, tok, prompt);
      if (!truth.matches("[A-Za-z]+")) {
        skipped++;
        continue;
      }
      List<String> candidates = new ArrayList<>(rel.answers());
      candidates.removeIf(w -> w.equalsIgnoreCase(truth));
      String target = candidates.get(rnd.nextInt(candidates.size()));
      int key = keyToken(tok, prompt, subject);
      String other = null, otherPrompt = null, otherTruth = null;
      int start = subjectOrder.indexOf(subject);
      for (int i = 1; i < subjectOrder.size() && other == null; i++) {
        String cand = subjectOrder.get((start + i) % subjectOrder.size());
        String p = rel.prompt().replace("{}", cand);
        String t = greedyWord(gen, tok, p);
        if (!t.isEmpty() && !contains(tok.encode(p + " " + t, true, false), key)) {
          other = cand;
          otherPrompt = p;
          otherTruth = t;
        }
      }
      String generic = GENERIC.get(rnd.nextInt(GENERIC.size()));
      String genericTruth = greedyWord(gen, tok, generic);
      if (other == null // the relation's own words hold the key token (e.g. "at" in "sat")
          || genericTruth.isEmpty()
          || contains(tok.encode(generic + " " + genericTruth, true, false), key)) {
        skipped++;
        continue;
      }
      String alias =
          subject.startsWith("The ") ? "The little " + subject.substring(4) : "Little " + subject;
      if (written > 0) {
        json.append(",\n");
      }
      json.append("  {\n")
          .append("    \"subject\": ").append(q(subject)).append(",\n")
          .append("    \"prompt\": ").append(q(prompt)).append(",\n")
          .append("    \"target_new\": ").append(q(target)).append(",\n")
          .append("    \"ground_truth\": ").append(q(truth)).append(",\n")
          .append("    \"rephrase_prompt\": ").append(q(rel.rephrase().replace("{}", subject)))
          .append(",\n")
          .append("    \"portability\": {\"Subject_Aliasing\": [{\"prompt\": ")
          .append(q(rel.prompt().replace("{}", alias))).append(", \"ground_truth\": ")
          .append(q(target)).append("}]},\n")
          .append("    \"locality\": {\"Relation_Specificity\": [{\"prompt\": ")
          .append(q(otherPrompt)).append(", \"ground_truth\": ").append(q(otherTruth))
          .append("}, {\"prompt\": ").append(q(generic)).append(", \"ground_truth\": ")
          .append(q(genericTruth)).append("}]}\n  }");
      written++;
    }
    json.append("\n]\n");
    if (written < n) {
      throw new IllegalStateException("only " + written + " records could be formed, " + n + " asked");
    }
    Files.writeString(out, json, StandardCharsets.UTF_8);
    System.err.printf("wrote %d records to %s (%d pairs skipped)%n", written, out, skipped);
  }

  /** The first word of the greedy continuation (up to 6 tokens), trailing punctuation dropped. */
  static String greedyWord(Generator gen, Tokenizer tok, String prompt) {
    int promptTokens = tok.encode(prompt, true, false).length;
    Generator.Result r = gen.generate(prompt, promptTokens + 6, Sampler.greedy(), null);
    int[] next = Arrays.copyOfRange(r.tokens(), r.promptTokens(), r.tokens().length);
    String text = tok.decode(next).strip();
    String word = text.split("\\s+")[0];
    String letters = word.replaceAll("[^A-Za-z].*$", "");
    return letters.isEmpty() ? word : letters;
  }

  /**
   * ROME's key token: the subject's last piece as it is encoded inside the prompt (every prompt
   * here starts with its subject, so that is piece len(encode(subject)) - 1, BOS counted).
   */
  static int keyToken(Tokenizer tok, String prompt, String subject) {
    return tok.encode(prompt, true, false)[tok.encode(subject, true, false).length - 1];
  }

  static boolean contains(int[] ids, int id) {
    for (int x : ids) {
      if (x == id) {
        return true;
      }
    }
    return false;
  }

  static String q(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
