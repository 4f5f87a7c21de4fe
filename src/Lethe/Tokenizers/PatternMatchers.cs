// Finds the matches of a Split pattern inside a piece of text. Two implementations of one contract:
// RegexMatcher runs the translated Oniguruma regex (general, the reference), and FamilyMatcher is a
// hand-written scanner for the three regexes the byte-level families ship (GPT-2 / ByteLevel,
// Llama 3, Qwen 2/3), which every position of any text matches, so their matches tile the text.
// Tests compare the two on random Unicode text. Offsets are UTF-16 indices into the span.
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Lethe.Tokenizers;

internal interface IPatternMatcher
{
    /// <summary>Appends (start, end) of each non-overlapping match, left to right.</summary>
    void FindMatches(ReadOnlySpan<char> text, List<(int Start, int End)> matches);
}

internal sealed class RegexMatcher : IPatternMatcher
{
    readonly Regex regex;
    readonly string where;
    /// <param name="where">The pattern as written and its place, named when a match runs past the regex's time bound.</param>
    public RegexMatcher(Regex regex, string where = "") { this.regex = regex; this.where = where; }

    public void FindMatches(ReadOnlySpan<char> text, List<(int Start, int End)> matches)
    {
        try
        {
            foreach (var m in regex.EnumerateMatches(text)) matches.Add((m.Index, m.Index + m.Length));
        }
        catch (RegexMatchTimeoutException)
        {
            // Catastrophic backtracking: a pattern that needs exponential time on some text. Bounded
            // by OnigurumaRegex.MatchTimeout per match, then refused with the pattern named.
            throw new LetheException($"{where}: the tokenizer regex {(where.Length == 0 ? regex + " " : "")}took more than {OnigurumaRegex.MatchTimeout.TotalSeconds:F0} s on a text of {text.Length} characters (catastrophic backtracking); fix the pattern in tokenizer.json");
        }
    }
}

/// <summary>A literal string pattern (Split with {"String": ...}).</summary>
internal sealed class LiteralMatcher : IPatternMatcher
{
    readonly string literal;
    public LiteralMatcher(string literal) { this.literal = literal; }

    public void FindMatches(ReadOnlySpan<char> text, List<(int Start, int End)> matches)
    {
        if (literal.Length == 0) return;
        int pos = 0;
        while (pos <= text.Length - literal.Length)
        {
            int k = text[pos..].IndexOf(literal.AsSpan(), StringComparison.Ordinal);
            if (k < 0) break;
            matches.Add((pos + k, pos + k + literal.Length));
            pos += k + literal.Length;
        }
    }
}

internal sealed class FamilyMatcher : IPatternMatcher
{
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    public const string Llama3Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Qwen2Pattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    readonly bool llamaStyle;
    readonly int maxDigits;

    FamilyMatcher(bool llamaStyle, int maxDigits) { this.llamaStyle = llamaStyle; this.maxDigits = maxDigits; }

    public static readonly FamilyMatcher Gpt2 = new(false, int.MaxValue);
    public static readonly FamilyMatcher Llama3 = new(true, 3);
    public static readonly FamilyMatcher Qwen2 = new(true, 1);

    /// <summary>The hand-written matcher for a known pattern, or null.</summary>
    public static FamilyMatcher? For(string pattern) => pattern switch
    {
        Gpt2Pattern => Gpt2,
        Llama3Pattern => Llama3,
        Qwen2Pattern => Qwen2,
        _ => null,
    };

    public void FindMatches(ReadOnlySpan<char> text, List<(int Start, int End)> matches)
    {
        int i = 0;
        while (i < text.Length)
        {
            int end = llamaStyle ? NextLlama(text, i) : NextGpt2(text, i);
            matches.Add((i, end));
            i = end;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static byte ClassAt(ReadOnlySpan<char> s, int i, out int width)
    {
        char c = s[i];
        if (!char.IsSurrogate(c)) { width = 1; return CodePoints.Classify(c); }
        return CodePoints.Classify(CodePoints.At(s, i, out width));
    }

    /// <summary>End of the run of code points of class <paramref name="kind"/> starting at i (at most max of them).</summary>
    static int RunOf(ReadOnlySpan<char> s, int i, byte kind, int max = int.MaxValue)
    {
        int count = 0;
        while (i < s.Length && count < max)
        {
            if (ClassAt(s, i, out int w) != kind) break;
            i += w;
            count++;
        }
        return i;
    }

    /// <summary>'s 't 'm 'd (2 chars) or 're 've 'll (3 chars) at i; 0 when none. ASCII case folding optional.</summary>
    static int Contraction(ReadOnlySpan<char> s, int i, bool fold)
    {
        if (s[i] != '\'' || i + 1 >= s.Length) return 0;
        char a = s[i + 1];
        if (fold && a is >= 'A' and <= 'Z') a = (char)(a + 32);
        if (a is 's' or 't' or 'm' or 'd') return 2;
        if (i + 2 >= s.Length) return 0;
        char b = s[i + 2];
        if (fold && b is >= 'A' and <= 'Z') b = (char)(b + 32);
        return (a, b) is ('r', 'e') or ('v', 'e') or ('l', 'l') ? 3 : 0;
    }

    static int WhitespaceTail(ReadOnlySpan<char> s, int i)
    {
        // \s+(?!\S) | \s+ : a whitespace run, giving back its last character when a non-space follows.
        int j = RunOf(s, i, CodePoints.Space);
        if (j == s.Length) return j;
        return j - 1 > i ? j - 1 : j;
    }

    static int NextGpt2(ReadOnlySpan<char> s, int i)
    {
        int c = Contraction(s, i, fold: false);
        if (c > 0) return i + c;
        byte kind = ClassAt(s, i, out int w);
        if (s[i] == ' ' && i + 1 < s.Length)
        {
            byte next = ClassAt(s, i + 1, out _);
            if (next != CodePoints.Space) return RunOf(s, i + 1, next);
        }
        if (kind != CodePoints.Space) return RunOf(s, i, kind);
        return WhitespaceTail(s, i);
    }

    int NextLlama(ReadOnlySpan<char> s, int i)
    {
        int c = Contraction(s, i, fold: true);
        if (c > 0) return i + c;
        char ch = s[i];
        byte kind = ClassAt(s, i, out int w);
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if (kind == CodePoints.Letter) return RunOf(s, i, CodePoints.Letter);
        if (kind != CodePoints.Number && ch != '\r' && ch != '\n' && i + w < s.Length && ClassAt(s, i + w, out _) == CodePoints.Letter)
            return RunOf(s, i + w, CodePoints.Letter);
        // \p{N}{1,max}
        if (kind == CodePoints.Number) return RunOf(s, i, CodePoints.Number, maxDigits);
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        int start = -1;
        if (kind == CodePoints.Other) start = i;
        else if (ch == ' ' && i + 1 < s.Length && ClassAt(s, i + 1, out _) == CodePoints.Other) start = i + 1;
        if (start >= 0)
        {
            int e = RunOf(s, start, CodePoints.Other);
            while (e < s.Length && s[e] is '\r' or '\n') e++;
            return e;
        }
        // \s*[\r\n]+ : the whitespace run up to and including its last line break.
        int j = RunOf(s, i, CodePoints.Space);
        for (int t = j - 1; t >= i; t--)
            if (s[t] is '\r' or '\n') return t + 1;
        return WhitespaceTail(s, i);
    }
}
