package io.nanscope.editing.stats;

import io.nanscope.engine.io.AtomicFile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * numpy's {@code .npz}: a zip archive whose entries {@code <key>.npy} are arrays (what {@code
 * np.savez} writes and {@code np.load} reads). Reading accepts stored and deflated entries
 * (np.savez_compressed); writing stores entries uncompressed like np.savez, with a fixed timestamp
 * so the bytes are reproducible. Entries that are not {@code .npy} (e.g. nanscope's provenance
 * JSON) are kept as raw bytes; numpy lists them in {@code .files} and returns their bytes.
 */
public final class Npz {

  /** The DOS timestamp written on every entry: fixed, so equal contents give equal files. */
  private static final LocalDateTime FIXED_TIME = LocalDateTime.of(1980, 1, 1, 0, 0);

  private Npz() {}

  /**
   * The contents of an archive: arrays by key (entry name without .npy) and other entries by name.
   */
  public record Contents(Map<String, NpyArray> arrays, Map<String, byte[]> other) {

    public Contents {
      arrays = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(arrays));
      other = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(other));
    }

    public NpyArray array(String key, Path source) {
      NpyArray a = arrays.get(key);
      if (a == null) {
        throw new IllegalArgumentException(
            source + ": no array '" + key + "' in the .npz (it has " + arrays.keySet() + ")");
      }
      return a;
    }
  }

  public static Contents read(Path file) throws IOException {
    Map<String, NpyArray> arrays = new LinkedHashMap<>();
    Map<String, byte[]> other = new LinkedHashMap<>();
    try (ZipFile zip = new ZipFile(file.toFile())) {
      Enumeration<? extends ZipEntry> entries = zip.entries();
      while (entries.hasMoreElements()) {
        ZipEntry e = entries.nextElement();
        byte[] bytes;
        try (InputStream in = zip.getInputStream(e)) {
          bytes = in.readAllBytes();
        }
        if (e.getName().endsWith(".npy")) {
          String key = e.getName().substring(0, e.getName().length() - 4);
          arrays.put(key, NpyArray.fromNpy(file + ":" + e.getName(), bytes));
        } else {
          other.put(e.getName(), bytes);
        }
      }
    } catch (java.util.zip.ZipException e) {
      throw new IOException(file + ": not a readable .npz (zip) archive: " + e.getMessage(), e);
    }
    return new Contents(arrays, other);
  }

  /** The archive bytes for these entries, in map order (arrays first, then other entries). */
  public static byte[] toBytes(Contents contents) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      for (Map.Entry<String, NpyArray> e : contents.arrays().entrySet()) {
        putStored(zip, e.getKey() + ".npy", e.getValue().toNpy());
      }
      for (Map.Entry<String, byte[]> e : contents.other().entrySet()) {
        putStored(zip, e.getKey(), e.getValue());
      }
    }
    return bytes.toByteArray();
  }

  /**
   * Writes atomically: a temporary file beside the target, then a rename, so nothing is
   * half-written.
   */
  public static void write(Path file, Contents contents) throws IOException {
    AtomicFile.write(file, toBytes(contents));
  }

  private static void putStored(ZipOutputStream zip, String name, byte[] data) throws IOException {
    ZipEntry e = new ZipEntry(name);
    e.setMethod(ZipEntry.STORED);
    e.setSize(data.length);
    e.setCompressedSize(data.length);
    CRC32 crc = new CRC32();
    crc.update(data);
    e.setCrc(crc.getValue());
    e.setTimeLocal(FIXED_TIME);
    zip.putNextEntry(e);
    zip.write(data);
    zip.closeEntry();
  }
}
