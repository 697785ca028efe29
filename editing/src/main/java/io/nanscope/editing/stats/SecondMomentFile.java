package io.nanscope.editing.stats;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.json.JsonMapper;

/**
 * Second-moment files in EasyEdit's / ROME's layer-stats layout, so files move both ways.
 *
 * <p>ROME's {@code layer_stats} saves {@code CombinedStat(mom2=SecondMoment()).state_dict()} with
 * {@code np.savez}: keys are {@code "<stat>.<field>"}, i.e. {@code mom2.mom2} (the SUM Σ k kᵀ in
 * {@code mom2_dtype}, shape (dim, dim)), {@code mom2.count} (int64 0-d) and {@code
 * mom2.constructor} (a 0-d str, ignored on load), plus {@code tally}'s {@code sample_size} (int64
 * 0-d), which {@code load_cached_state} compares with the requested sample size before trusting the
 * cache. These keys are from ROME's {@code util/runningstats.py} (docs/reference/easyedit.md §3);
 * EasyEdit vendors the same module. nanscope adds one non-array entry, {@code provenance.json};
 * numpy lists it in {@code .files} and nothing in ROME or EasyEdit reads it.
 */
public final class SecondMomentFile {

  public static final String SUM_KEY = "mom2.mom2";
  public static final String COUNT_KEY = "mom2.count";
  public static final String CONSTRUCTOR_KEY = "mom2.constructor";
  public static final String SAMPLE_SIZE_KEY = "sample_size";
  public static final String PROVENANCE_ENTRY = "provenance.json";

  /**
   * What {@code SecondMoment.state_dict()} writes as constructor inside EasyEdit (module path +
   * "()").
   */
  static final String CONSTRUCTOR = "easyeditor.util.runningstats.SecondMoment()";

  private static final JsonMapper JSON = JsonMapper.builder().build();

  private SecondMomentFile() {}

  /**
   * EasyEdit's file name {@code <layer>_<dtype>_mom2_<n>.npz}, e.g. {@code
   * model.layers.5.mlp.down_proj_float32_mom2_100000.npz}.
   */
  public static String fileName(String layerModule, String dtype, long sampleSize) {
    return layerModule + "_" + dtype + "_mom2_" + sampleSize + ".npz";
  }

  /**
   * EasyEdit's cache location {@code <stats_dir>/<model_name with / as
   * _>/<dataset>_stats/<fileName>}.
   */
  public static Path cachePath(
      Path statsDir,
      String modelName,
      String dataset,
      String layerModule,
      String dtype,
      long sampleSize) {
    return statsDir
        .resolve(modelName.replace('/', '_'))
        .resolve(dataset + "_stats")
        .resolve(fileName(layerModule, dtype, sampleSize));
  }

  /**
   * Where nanscope caches C: EasyEdit's {@link #cachePath} with the first 16 hex digits of the
   * content key ({@link StatisticsKey}) before {@code .npz}, e.g. {@code
   * …/model.layers.5.mlp.down_proj_float32_mom2_100000-0123456789abcdef.npz}; the full key is in
   * the provenance and checked on read. (EasyEdit finds the file once the suffix is removed.)
   */
  public static Path keyedPath(Path easyEditPath, String contentKey) {
    String name = easyEditPath.getFileName().toString();
    return easyEditPath.resolveSibling(
        name.substring(0, name.length() - ".npz".length())
            + "-"
            + contentKey.substring(0, 16)
            + ".npz");
  }

  /**
   * Writes S rounded to {@code dtype} ("float32": each FP64 sum rounded to nearest-even float once;
   * "float64": as is), the count, the sample size and the provenance, atomically.
   */
  public static void write(Path file, SecondMoment m, String dtype, long sampleSize)
      throws IOException {
    Npz.write(file, contents(m, dtype, sampleSize));
  }

  static Npz.Contents contents(SecondMoment m, String dtype, long sampleSize) {
    double[] s = m.sum();
    NpyArray sum =
        switch (dtype) {
          case "float32" -> {
            float[] f = new float[s.length];
            for (int i = 0; i < s.length; i++) {
              f[i] = (float) s[i]; // Java's double→float narrowing is round-to-nearest-even
            }
            yield NpyArray.ofFloats(f, m.dim(), m.dim());
          }
          case "float64" -> NpyArray.ofDoubles(s, m.dim(), m.dim());
          default ->
              throw new IllegalArgumentException(
                  "mom2_dtype \""
                      + dtype
                      + "\" is not supported for stats files; use float32 or float64");
        };
    Map<String, NpyArray> arrays = new LinkedHashMap<>();
    arrays.put(CONSTRUCTOR_KEY, NpyArray.ofString(CONSTRUCTOR));
    arrays.put(COUNT_KEY, NpyArray.ofLong(m.count()));
    arrays.put(SUM_KEY, sum);
    arrays.put(SAMPLE_SIZE_KEY, NpyArray.ofLong(sampleSize));
    Map<String, byte[]> other = new LinkedHashMap<>();
    m.provenance()
        .ifPresent(p -> {
          // without a content key the entry is exactly what earlier versions wrote
          tools.jackson.databind.node.ObjectNode json = JSON.valueToTree(p);
          if (p.contentKey() == null) {
            json.remove("contentKey");
          }
          other.put(
              PROVENANCE_ENTRY, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(json));
        });
    return new Npz.Contents(arrays, other);
  }

  /**
   * Reads an EasyEdit/ROME stats file (float32 or float64 {@code mom2.mom2}), with provenance if
   * present.
   */
  public static SecondMoment read(Path file) throws IOException {
    Npz.Contents c = Npz.read(file);
    NpyArray sum = c.array(SUM_KEY, file);
    long[] shape = sum.shape();
    if (shape.length != 2 || shape[0] != shape[1]) {
      throw new IllegalArgumentException(
          file
              + ": '"
              + SUM_KEY
              + "' should be a square (dim, dim) matrix, got shape "
              + java.util.Arrays.toString(shape));
    }
    long count = c.array(COUNT_KEY, file).longValue();
    Optional<SecondMomentProvenance> provenance = Optional.empty();
    byte[] json = c.other().get(PROVENANCE_ENTRY);
    if (json != null) {
      try {
        provenance = Optional.of(JSON.readValue(json, SecondMomentProvenance.class));
      } catch (JacksonException e) {
        throw new IOException(
            file
                + ": entry "
                + PROVENANCE_ENTRY
                + " is not valid provenance JSON: "
                + e.getOriginalMessage(),
            e);
      }
    }
    return new SecondMoment(Math.toIntExact(shape[0]), count, sum.doubles(), provenance);
  }
}
