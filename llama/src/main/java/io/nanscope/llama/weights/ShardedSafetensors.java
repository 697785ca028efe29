package io.nanscope.llama.weights;

import io.nanscope.engine.tensor.Shape;
import io.nanscope.engine.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Shards listed by a {@code model.safetensors.index.json}: {@code {"metadata": {...}, "weight_map":
 * {tensor name: shard file name}}}. Every shard is opened (and validated) once; every mapped name
 * must be in its shard.
 */
public final class ShardedSafetensors implements TensorSource {

  private final Path index;
  private final Map<String, SafetensorsFile> byName;

  private ShardedSafetensors(Path index, Map<String, SafetensorsFile> byName) {
    this.index = index;
    this.byName = byName;
  }

  public static ShardedSafetensors open(Path index) throws IOException {
    JsonNode root;
    try {
      root = JsonMapper.builder().build().readTree(Files.readAllBytes(index));
    } catch (JacksonException e) {
      throw new IllegalArgumentException(
          index + ": not valid JSON (" + e.getOriginalMessage() + ")");
    }
    JsonNode map = root == null ? null : root.path("weight_map");
    if (map == null || !map.isObject() || map.isEmpty()) {
      throw new IllegalArgumentException(
          index + ": no \"weight_map\" object of tensor name -> shard file");
    }
    Path dir = index.toAbsolutePath().getParent();
    Map<String, SafetensorsFile> shards = new HashMap<>();
    Map<String, SafetensorsFile> byName = new LinkedHashMap<>();
    for (var e : map.properties()) {
      String shardName = e.getValue().asString("");
      Path shardPath = dir.resolve(shardName).normalize();
      if (shardName.isEmpty() || !shardPath.getParent().equals(dir.normalize())) {
        throw new IllegalArgumentException(
            index
                + ": tensor "
                + e.getKey()
                + " maps to '"
                + shardName
                + "'; expected a file name in the same directory");
      }
      SafetensorsFile shard = shards.get(shardName);
      if (shard == null) {
        if (!Files.isRegularFile(shardPath)) {
          throw new IllegalArgumentException(
              index + ": shard " + shardName + " (of tensor " + e.getKey() + ") does not exist");
        }
        shard = SafetensorsFile.open(shardPath);
        shards.put(shardName, shard);
      }
      if (!shard.has(e.getKey())) {
        throw new IllegalArgumentException(
            index
                + ": tensor "
                + e.getKey()
                + " is mapped to "
                + shardName
                + ", which does not hold it");
      }
      byName.put(e.getKey(), shard);
    }
    return new ShardedSafetensors(index, Collections.unmodifiableMap(byName));
  }

  private SafetensorsFile shard(String name) {
    SafetensorsFile f = byName.get(name);
    if (f == null) {
      throw new IllegalArgumentException(
          index + ": tensor " + name + " is missing from weight_map");
    }
    return f;
  }

  @Override
  public Set<String> names() {
    return byName.keySet();
  }

  @Override
  public Shape shape(String name) {
    return shard(name).shape(name);
  }

  @Override
  public Tensor tensor(String name) {
    return shard(name).tensor(name);
  }

  @Override
  public String source() {
    return index.toString();
  }
}
