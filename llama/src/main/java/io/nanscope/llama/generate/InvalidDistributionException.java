package io.nanscope.llama.generate;

/**
 * The error {@code torch.multinomial} raises (a {@code RuntimeError} there) for an invalid
 * probability vector; the message is PyTorch's, word for word, so that logs can be compared.
 */
public final class InvalidDistributionException extends RuntimeException {

  /** PyTorch's message for a NaN, an inf or a negative entry. */
  public static final String NOT_FINITE_OR_NEGATIVE =
      "probability tensor contains either `inf`, `nan` or element < 0";

  /** PyTorch's message when the entries sum to zero. */
  public static final String ZERO_SUM =
      "invalid multinomial distribution (sum of probabilities <= 0)";

  public InvalidDistributionException(String message) {
    super(message);
  }
}
