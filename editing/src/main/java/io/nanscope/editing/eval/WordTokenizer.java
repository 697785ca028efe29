package io.nanscope.editing.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Word tokenisation as {@code nltk.word_tokenize} does it for EasyEdit's fluency metric: split into
 * sentences, then apply NLTK's improved Treebank rules ({@code NLTKWordTokenizer}, nltk 3.6–3.8) to
 * each sentence. The Treebank rules are reproduced rule for rule (starting quotes, punctuation,
 * brackets, double dashes, ending quotes and clitics such as {@code n't} and {@code 's}, MacIntyre
 * contractions such as {@code can|not}) and checked against nltk 3.8 on fixtures.
 *
 * <p>Sentence splitting is an approximation of NLTK's pretrained English Punkt model (which is a
 * trained statistical model, not rules): a sentence ends after {@code .}, {@code ?} or {@code !}
 * (runs included, closing quotes and brackets kept with it) followed by white space, except after a
 * few common abbreviations (Mr., Mrs., Dr., …) and single-letter initials. This matters for the
 * n-gram counts only through where a sentence-final {@code .} is split off.
 */
public final class WordTokenizer {

  private static final int U = Pattern.UNICODE_CHARACTER_CLASS;

  private record Rule(Pattern pattern, String replacement) {
    Rule(String regex, String replacement) {
      this(Pattern.compile(regex, U), replacement);
    }

    String apply(String text) {
      return pattern.matcher(text).replaceAll(replacement);
    }
  }

  // Opening quotes become `` and stand alone; a leading ' before a non-clitic word is split off.
  private static final List<Rule> STARTING_QUOTES =
      List.of(
          new Rule("([«“‘„]|[`]+)", " $1 "),
          new Rule("^\"", "``"),
          new Rule("(``)", " $1 "),
          new Rule("([ (\\[{<])(\"|'{2})", "$1 `` "),
          new Rule("(?i)(')(?!re|ve|ll|m|t|s|d|n)(\\w)\\b", "$1 $2"));

  // The final period (with closing quotes/brackets after it) is split off; so are : , ... ; @ # $ %
  // & ? ! *
  private static final List<Rule> PUNCTUATION =
      List.of(
          new Rule("([^.])(\\.)([\\])}>\"'»”’ ]*)\\s*$", "$1 $2 $3 "),
          new Rule("([:,])([^\\d])", " $1 $2"),
          new Rule("([:,])$", " $1 "),
          new Rule("\\.{2,}", " $0 "),
          new Rule("[;@#$%&]", " $0 "),
          new Rule("([^.])(\\.)([\\])}>\"']*)\\s*$", "$1 $2$3 "),
          new Rule("[?!]", " $0 "),
          new Rule("([^'])' ", "$1 ' "),
          new Rule("[*]", " $0 "));

  private static final Rule PARENS_BRACKETS = new Rule("[\\]\\[(){}<>]", " $0 ");
  private static final Rule DOUBLE_DASHES = new Rule("--", " -- ");

  // Closing quotes become '' ; clitics 's 'm 'd 'll 're 've n't are split from their word.
  private static final List<Rule> ENDING_QUOTES =
      List.of(
          new Rule("([»”’])", " $1 "),
          new Rule("''", " '' "),
          new Rule("\"", " '' "),
          new Rule("([^' ])('[sS]|'[mM]|'[dD]|') ", "$1 $2 "),
          new Rule("([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", "$1 $2 "));

  private static final List<Rule> CONTRACTIONS =
      List.of(
          new Rule("(?i)\\b(can)(not)\\b", " $1 $2 "),
          new Rule("(?i)\\b(d)('ye)\\b", " $1 $2 "),
          new Rule("(?i)\\b(gim)(me)\\b", " $1 $2 "),
          new Rule("(?i)\\b(gon)(na)\\b", " $1 $2 "),
          new Rule("(?i)\\b(got)(ta)\\b", " $1 $2 "),
          new Rule("(?i)\\b(lem)(me)\\b", " $1 $2 "),
          new Rule("(?i)\\b(more)('n)\\b", " $1 $2 "),
          new Rule("(?i)\\b(wan)(na)(?=\\s)", " $1 $2 "),
          new Rule("(?i) ('t)(is)\\b", " $1 $2 "),
          new Rule("(?i) ('t)(was)\\b", " $1 $2 "));

  private static final Pattern WHITESPACE = Pattern.compile("\\s+", U);

  /** Sentence end: terminal punctuation, optional closers, then white space. */
  private static final Pattern SENTENCE_END = Pattern.compile("[.?!]+[\"'»”’)\\]]*(?=\\s+\\S)", U);

  private static final Set<String> ABBREVIATIONS =
      Set.of(
          "mr", "mrs", "ms", "dr", "st", "jr", "sr", "prof", "vs", "etc", "e.g", "i.e", "mt", "no");

  private WordTokenizer() {}

  /** {@code nltk.word_tokenize(text)}: sentences, then Treebank tokens of each. */
  public static List<String> tokenize(String text) {
    List<String> tokens = new ArrayList<>();
    for (String sentence : sentences(text)) {
      tokens.addAll(tokenizeSentence(sentence));
    }
    return tokens;
  }

  /** NLTK's {@code NLTKWordTokenizer().tokenize(sentence)}. */
  public static List<String> tokenizeSentence(String sentence) {
    String text = sentence;
    for (Rule r : STARTING_QUOTES) {
      text = r.apply(text);
    }
    for (Rule r : PUNCTUATION) {
      text = r.apply(text);
    }
    text = PARENS_BRACKETS.apply(text);
    text = DOUBLE_DASHES.apply(text);
    text = " " + text + " ";
    for (Rule r : ENDING_QUOTES) {
      text = r.apply(text);
    }
    for (Rule r : CONTRACTIONS) {
      text = r.apply(text);
    }
    List<String> out = new ArrayList<>();
    for (String t : WHITESPACE.split(text)) {
      if (!t.isEmpty()) {
        out.add(t);
      }
    }
    return out;
  }

  /** The sentences of a text (approximating Punkt; see the class comment). */
  public static List<String> sentences(String text) {
    List<String> out = new ArrayList<>();
    Matcher m = SENTENCE_END.matcher(text);
    int start = 0;
    while (m.find()) {
      if (m.group().startsWith(".") && m.group().length() == 1 && isAbbreviation(text, m.start())) {
        continue;
      }
      add(out, text.substring(start, m.end()));
      start = m.end();
    }
    add(out, text.substring(start));
    return out;
  }

  private static void add(List<String> out, String sentence) {
    String s = sentence.strip();
    if (!s.isEmpty()) {
      out.add(s);
    }
  }

  /**
   * The word before the period at {@code dot} is a known abbreviation or a single capital initial.
   */
  private static boolean isAbbreviation(String text, int dot) {
    int begin = dot;
    while (begin > 0 && !Character.isWhitespace(text.charAt(begin - 1))) {
      begin--;
    }
    String word = text.substring(begin, dot);
    if (word.length() == 1 && Character.isUpperCase(word.charAt(0))) {
      return true;
    }
    return ABBREVIATIONS.contains(word.toLowerCase(java.util.Locale.ROOT));
  }
}
