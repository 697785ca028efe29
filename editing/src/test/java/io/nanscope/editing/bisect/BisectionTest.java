package io.nanscope.editing.bisect;

import static org.assertj.core.api.Assertions.assertThat;

import io.nanscope.editing.hparams.Policies;
import io.nanscope.engine.format.FloatFormat;
import io.nanscope.engine.op.OpKind;
import io.nanscope.engine.op.PrecisionPolicy;
import io.nanscope.engine.trace.Site;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The search on a small case that runs in milliseconds: a stand-in run over a 3-layer model's site
 * map that fails while any of its "required" sites runs in FP16 (it reports where the first inf was
 * born, as a traced run does), and drifts off the FP32 loss when a "harmful" site is widened. The
 * oracle reads the policy it is given, so the test also checks that every trial's policy widens
 * exactly the sites the trial names.
 */
class BisectionTest {

  /** Fails while a required site is narrow; the loss moves by 1 nat when a harmful one is wide. */
  static final class StandIn implements Oracle {
    final List<String> required;
    final Set<String> harmful;
    final boolean reportBirth;
    final List<PrecisionPolicy> seen = new ArrayList<>();

    StandIn(List<String> required, Set<String> harmful, boolean reportBirth) {
      this.required = required;
      this.harmful = harmful;
      this.reportBirth = reportBirth;
    }

    @Override
    public String describe() {
      return "stand-in";
    }

    @Override
    public List<String> sites() {
      return SiteMap.sites(3);
    }

    static boolean wide(PrecisionPolicy p, String site) {
      return p.of(OpKind.ADD, new Site(site)).output() == FloatFormat.FP32
          && p.of(OpKind.MATMUL, new Site(site)).output() == FloatFormat.FP32;
    }

    @Override
    public Observation run(PrecisionPolicy policy, boolean traced) {
      seen.add(policy);
      Optional<String> narrow = required.stream().filter(s -> !wide(policy, s)).findFirst();
      double loss = 1.0;
      for (String h : harmful) {
        if (wide(policy, h) && policy.storage() != FloatFormat.FP32) {
          loss += 1.0;
        }
      }
      Map<String, Double> metrics = new LinkedHashMap<>();
      metrics.put("final loss edit 0", narrow.isPresent() ? Double.NaN : loss);
      return new Observation(
          narrow.map(s -> "inf at " + s),
          metrics,
          List.of(),
          narrow.filter(s -> reportBirth).map(List::of).orElse(List.of()),
          List.of());
    }
  }

  static Bisection.Settings settings() {
    return new Bisection.Settings(new Widening("pytorch-fp16", FloatFormat.FP32), 0.25, 0.25);
  }

  @Test
  void findsTheRequiredSitesAndChecksOneMinimality() {
    List<String> required =
        List.of("layers.0.mlp.down_proj", "layers.0.residual_mlp", "layers.1.residual_attn");
    StandIn run = new StandIn(required, Set.of(), true);
    List<Trial> printed = new ArrayList<>();
    Bisection.Result r = new Bisection(run, settings(), printed::add).search();

    assertThat(r.minimal())
        .hasValueSatisfying(m -> assertThat(m).containsExactlyInAnyOrderElementsOf(required));
    assertThat(r.oneMinimal()).isTrue();
    assertThat(r.minimality()).hasSize(3).noneMatch(Trial::passes);
    // the 1-minimality trials are what they say: the set without one site each
    for (int i = 0; i < 3; i++) {
      List<String> without = new ArrayList<>(r.minimal().get());
      without.remove(i);
      assertThat(r.minimality().get(i).sites()).containsExactlyInAnyOrderElementsOf(without);
    }
    // Polygraphy needs layers 0 and 1 (the embedding comes with them)
    assertThat(r.polygraphy().layers()).isEqualTo(2);
    assertThat(r.trials()).isEqualTo(printed);
    assertThat(r.trials().getFirst().purpose()).isEqualTo("FP32 reference");
    // following the first overflow seeds with exactly the required sites, in order of birth
    assertThat(r.trials().stream().filter(t -> t.purpose().startsWith("seed")).map(Trial::sites))
        .contains(required.subList(0, 1), required.subList(0, 2), required);
    // no set ran twice
    assertThat(r.trials().stream().skip(2).map(t -> Set.copyOf(t.sites())).distinct().count())
        .isEqualTo(r.trials().size() - 2);
    // each trial's policy widened exactly its sites
    for (int i = 2; i < r.trials().size(); i++) {
      Trial t = r.trials().get(i);
      PrecisionPolicy p = run.seen.get(i);
      for (String s : run.sites()) {
        assertThat(StandIn.wide(p, s))
            .as("trial %d site %s", t.number(), s)
            .isEqualTo(t.sites().contains(s));
      }
    }
  }

  @Test
  void fallsBackToTheHeadroomOrderWhenNoBirthIsReported() {
    List<String> required = List.of("layers.2.mlp.act_mul_up", "lm_head");
    Bisection.Result r =
        new Bisection(new StandIn(required, Set.of(), false), settings(), t -> {}).search();
    assertThat(r.minimal())
        .hasValueSatisfying(m -> assertThat(m).containsExactlyInAnyOrderElementsOf(required));
    assertThat(r.oneMinimal()).isTrue();
    assertThat(r.trials()).anyMatch(t -> t.purpose().contains("tightest"));
    // lm_head is outside the layers: only "every layer and the head" passes
    assertThat(r.polygraphy().layers()).isEqualTo(4);
    assertThat(r.polygraphy().describe()).startsWith("every layer and the head");
  }

  @Test
  void aSiteThatMovesTheLossOffToleranceIsLeftOut() {
    // widening layers.0.input_layernorm "fixes" nothing and moves the loss by 1 nat: all
    // candidates together are then off tolerance, so no set is claimed
    List<String> required = List.of("layers.1.mlp.down_proj");
    Bisection.Result r =
        new Bisection(
                new StandIn(required, Set.of("layers.0.input_layernorm"), true),
                settings(),
                t -> {})
            .search();
    assertThat(r.minimal()).isEmpty();
    assertThat(r.verdict()).contains("even every candidate site");
    assertThat(r.trials().get(2).offTolerance()).isPresent();
    assertThat(r.trials().get(2).outcome()).isEqualTo("off tolerance");
  }

  @Test
  void anOriginalPolicyThatPassesNeedsNothing() {
    Bisection.Result r =
        new Bisection(new StandIn(List.of(), Set.of(), true), settings(), t -> {}).search();
    assertThat(r.minimal()).hasValue(List.of());
    assertThat(r.trials()).hasSize(2);
  }

  @Test
  void theEmittedYamlIsReadBackByThePolicyResolverAsTheSamePolicy(@TempDir Path dir)
      throws Exception {
    Widening w = new Widening("pytorch-fp16", FloatFormat.BF16);
    List<String> sites = List.of("layers.1.mlp.down_proj", "layers.1.self_attn.rope_q", "norm");
    Path file = dir.resolve("p.yaml");
    Files.writeString(file, w.yaml("bisect-x", sites, List.of("a comment")));
    PrecisionPolicy read = Policies.resolve(file.toString(), dir);
    PrecisionPolicy built = w.policy("bisect-x", sites);
    assertThat(read.name()).isEqualTo("bisect-x");
    assertThat(read.storage()).isEqualTo(FloatFormat.FP16);
    for (String s : SiteMap.sites(3)) {
      for (OpKind k : OpKind.values()) {
        assertThat(read.of(k, new Site(s))).as("%s %s", k, s).isEqualTo(built.of(k, new Site(s)));
      }
      boolean widened = sites.contains(s);
      assertThat(read.of(OpKind.MATMUL, new Site(s)).output())
          .isEqualTo(widened ? FloatFormat.BF16 : FloatFormat.FP16);
    }
    // no glob: layers.10 would not match layers.1
    assertThat(read.of(OpKind.MATMUL, new Site("layers.10.mlp.down_proj")).output())
        .isEqualTo(FloatFormat.FP16);
  }

  @Test
  void onlySitesNarrowerThanTheWideFormatAreCandidates() {
    PrecisionPolicy fp16 = PrecisionPolicy.named("pytorch-fp16");
    assertThat(SiteMap.narrower(fp16, "layers.0.mlp.down_proj", FloatFormat.FP32)).isTrue();
    assertThat(SiteMap.narrower(fp16, "layers.0.mlp.down_proj", FloatFormat.BF16)).isTrue();
    assertThat(SiteMap.narrower(PrecisionPolicy.named("fp32"), "lm_head", FloatFormat.FP32))
        .isFalse();
    assertThat(SiteMap.narrower(PrecisionPolicy.named("pytorch-bf16"), "lm_head", FloatFormat.BF16))
        .isFalse();
    assertThat(SiteMap.layer("layers.12.mlp.act")).isEqualTo(12);
    assertThat(SiteMap.inLayer("layers.12.mlp.act")).isEqualTo("mlp.act");
    assertThat(SiteMap.layer("lm_head")).isEqualTo(-1);
  }

  @Test
  void countingRandomReplaysTheStreamFromWhereItStood() {
    CountingRandom a = new CountingRandom(43);
    for (int i = 0; i < 17; i++) {
      a.nextDouble();
    }
    CountingRandom b = CountingRandom.at(43, a.draws());
    for (int i = 0; i < 50; i++) {
      assertThat(b.nextDouble()).isEqualTo(a.nextDouble());
    }
  }
}
