package io.nanscope.editing.stats;

/**
 * Where a second moment came from, stored next to the arrays (entry {@code provenance.json} of the
 * .npz).
 *
 * @param corpus the text source (file path or data set name)
 * @param corpusSha256 sha256 of the corpus file, "" when not a file
 * @param texts number of texts read from the corpus
 * @param count number of keys (tokens) accumulated
 * @param layer the module whose input the keys are, e.g. "model.layers.1.mlp.down_proj"
 * @param keyFormat number format the keys were computed in (e.g. "fp32", "fp16")
 * @param accumulation how S was summed, e.g. "fp64 sequential"
 * @param storedDtype the dtype of {@code mom2.mom2} in the file ("float32" or "float64")
 * @param model the model file
 * @param modelSha256 sha256 of the model file
 * @param tool what wrote the file, e.g. "nanscope 0.1.0"
 * @param contentKey the {@link StatisticsKey} of the computation (null in files written before
 *     nanscope keyed its cache by content: such files are not reused)
 */
public record SecondMomentProvenance(
    String corpus,
    String corpusSha256,
    long texts,
    long count,
    String layer,
    String keyFormat,
    String accumulation,
    String storedDtype,
    String model,
    String modelSha256,
    String tool,
    String contentKey) {}
