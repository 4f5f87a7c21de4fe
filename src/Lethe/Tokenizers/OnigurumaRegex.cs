// Translates the Oniguruma-flavoured regexes of tokenizer.json files (Split pre-tokenizers, Replace
// normalizers and decoders) into .NET regexes that behave per code point, as Oniguruma and the
// JavaScript reference (/u mode) do. Every character class is expanded to explicit code-point ranges:
// astral members become surrogate-pair alternatives tried first, so an astral letter is one \p{L}
// and never half of one. \s is White_Space; (?i:...) folds ASCII letters only (what the JavaScript
// reference does). Constructs Lethe cannot translate faithfully (\G, unknown properties, inline flags
// other than i) raise a LetheException naming the pattern.
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Lethe.Tokenizers;

internal static class OnigurumaRegex
{
    /// <summary>The bound on one match: a sound tokenizer pattern needs microseconds per piece; one that backtracks catastrophically is stopped here.</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Compiles <paramref name="pattern"/>; <paramref name="context"/> names the JSON place for errors.</summary>
    public static Regex Compile(string pattern, string context)
    {
        string translated = Translate(pattern, context);
        try
        {
            return new Regex(translated, RegexOptions.CultureInvariant | RegexOptions.Compiled, MatchTimeout);
        }
        catch (ArgumentException e)
        {
            throw new LetheException($"{context}: the regex {Quote(pattern)} is not valid ({e.Message}); fix the pattern in tokenizer.json", e);
        }
    }

    static string Quote(string s) => Quoting.Quote(s);

    public static string Translate(string pattern, string context) => new Translator(pattern, context).Run();

    sealed class Translator
    {
        readonly string p;
        readonly string context;
        int i;
        readonly StringBuilder outp = new();
        int atomStart = -1;
        readonly Stack<(bool ci, int atomStart)> groups = new();
        bool ci;

        public Translator(string pattern, string context) { p = pattern; this.context = context; }

        LetheException Error(string what) =>
            new($"{context}: cannot use the regex {Quote(p)}: {what} at position {i}; Lethe supports the Oniguruma subset used by tokenizer files (classes, \\p{{..}}, groups, lookarounds, quantifiers)");

        public string Run()
        {
            while (i < p.Length)
            {
                char c = p[i];
                switch (c)
                {
                    case '\\': EmitEscapeOutsideClass(); break;
                    case '[': EmitAtom(SetToRegex(ParseClass())); break;
                    case '.': i++; EmitAtom(SetToRegex(CodePointSet.Single('\n').Complement())); break;
                    case '^': i++; EmitAtom("(?m:^)"); break;
                    case '$': i++; EmitAtom("(?m:$)"); break;
                    case '(': OpenGroup(); break;
                    case ')':
                        if (groups.Count == 0) throw Error("unbalanced ')'");
                        i++; outp.Append(')');
                        (ci, atomStart) = groups.Pop();
                        break;
                    case '|': i++; outp.Append('|'); atomStart = -1; break;
                    case '*': case '+': case '?': Quantifier(c.ToString(), 1); break;
                    case '{':
                        {
                            var m = Regex.Match(p.Substring(i), @"^\{(\d*)(,(\d*))?\}");
                            if (m.Success && atomStart >= 0 && (m.Groups[1].Length > 0 || m.Groups[3].Length > 0))
                            {
                                string lo = m.Groups[1].Length > 0 ? m.Groups[1].Value : "0";
                                string q = m.Groups[2].Success ? "{" + lo + "," + m.Groups[3].Value + "}" : "{" + lo + "}";
                                Quantifier(q, m.Length);
                            }
                            else { i++; EmitAtom(@"\{"); }
                            break;
                        }
                    default:
                        {
                            int cp = CodePoints.At(p, i, out int w);
                            i += w;
                            EmitAtom(LiteralToRegex(cp));
                            break;
                        }
                }
            }
            if (groups.Count != 0) throw Error("unclosed '('");
            return outp.ToString();
        }

        void EmitAtom(string text) { atomStart = outp.Length; outp.Append(text); }

        void Quantifier(string q, int length)
        {
            if (atomStart < 0) throw Error($"quantifier '{q}' with nothing to repeat");
            i += length;
            if (i < p.Length && p[i] == '?') { outp.Append(q).Append('?'); i++; }
            else if (i < p.Length && p[i] == '+')
            {
                // Possessive: the same as an atomic group around the quantified atom.
                outp.Insert(atomStart, "(?>");
                outp.Append(q).Append(')');
                i++;
            }
            else outp.Append(q);
            // A quantified atom can be quantified again only through a group; keep atomStart so that
            // Oniguruma's stacked quantifiers (a{2}+ handled above) stay valid.
        }

        void OpenGroup()
        {
            string rest = p.Substring(i);
            string prefixOut;
            int consumed;
            bool newCi = ci;
            if (rest.StartsWith("(?#"))
            {
                int end = p.IndexOf(')', i);
                if (end < 0) throw Error("unclosed comment");
                i = end + 1;
                return;
            }
            if (rest.StartsWith("(?:")) { prefixOut = "(?:"; consumed = 3; }
            else if (rest.StartsWith("(?=") || rest.StartsWith("(?!") || rest.StartsWith("(?>")) { prefixOut = rest[..3]; consumed = 3; }
            else if (rest.StartsWith("(?<=") || rest.StartsWith("(?<!")) { prefixOut = rest[..4]; consumed = 4; }
            else if (Regex.Match(rest, @"^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>") is { Success: true } named)
            { prefixOut = "(?<" + named.Groups[1].Value + ">"; consumed = named.Length; }
            else if (Regex.Match(rest, @"^\(\?(-?)i(:|\))") is { Success: true } flag)
            {
                newCi = flag.Groups[1].Length == 0;
                if (flag.Groups[2].Value == ")")
                {
                    // (?i) switches case folding on for the rest of the enclosing group.
                    ci = newCi;
                    i += flag.Length;
                    return;
                }
                prefixOut = "(?:"; consumed = flag.Length;
            }
            else if (rest.StartsWith("(?")) throw Error("an unsupported group or inline flag");
            else { prefixOut = "("; consumed = 1; }
            groups.Push((ci, outp.Length));
            ci = newCi;
            outp.Append(prefixOut);
            i += consumed;
            atomStart = -1;
        }

        void EmitEscapeOutsideClass()
        {
            if (i + 1 >= p.Length) throw Error("a trailing backslash");
            char e = p[i + 1];
            switch (e)
            {
                case 'A': i += 2; EmitAtom(@"\A"); return;
                case 'z': i += 2; EmitAtom(@"\z"); return;
                case 'Z': i += 2; EmitAtom(@"\Z"); return;
                case 'b': i += 2; EmitAtom(WordBoundary(true)); return;
                case 'B': i += 2; EmitAtom(WordBoundary(false)); return;
                case 'G': throw Error("\\G");
                case 'k': throw Error("a named back-reference");
            }
            if (e is >= '1' and <= '9') { i += 2; EmitAtom("\\" + e); return; }
            var set = TryEscapeSet(out int literal);
            EmitAtom(set != null ? SetToRegex(set) : LiteralToRegex(literal));
        }

        string WordBoundary(bool boundary)
        {
            string w = SetToRegex(WordSet), nw = SetToRegex(WordSet.Complement());
            return boundary
                ? $"(?:(?<={w})(?!{w})|(?<!{w})(?={w}))"
                : $"(?:(?<={w})(?={w})|(?<!{w})(?!{w}))";
        }

        static readonly CodePointSet WordSet = CodePointSet.FromPredicate(cp =>
            CodePoints.Category(cp) is <= UnicodeCategory.EnclosingMark or UnicodeCategory.DecimalDigitNumber
                or UnicodeCategory.LetterNumber or UnicodeCategory.ConnectorPunctuation);

        /// <summary>Parses an escape at p[i] ('\\'); returns a set, or null with the literal code point.</summary>
        CodePointSet? TryEscapeSet(out int literal)
        {
            literal = -1;
            char e = p[i + 1];
            switch (e)
            {
                case 'p':
                case 'P':
                    {
                        string name;
                        if (i + 2 < p.Length && p[i + 2] == '{')
                        {
                            int end = p.IndexOf('}', i + 3);
                            if (end < 0) throw Error("an unclosed \\p{");
                            name = p.Substring(i + 3, end - i - 3);
                            i = end + 1;
                        }
                        else if (i + 2 < p.Length) { name = p[i + 2].ToString(); i += 3; }
                        else throw Error("a bare \\p");
                        bool negate = e == 'P';
                        if (name.StartsWith('^')) { negate = !negate; name = name[1..]; }
                        var set = CodePoints.Property(name, context);
                        return negate ? set.Complement() : set;
                    }
                case 'd': i += 2; return CodePoints.Property("Nd", context);
                case 'D': i += 2; return CodePoints.Property("Nd", context).Complement();
                case 'w': i += 2; return WordSet;
                case 'W': i += 2; return WordSet.Complement();
                case 's': i += 2; return CodePoints.Property("White_Space", context);
                case 'S': i += 2; return CodePoints.Property("White_Space", context).Complement();
                case 'h': i += 2; return HexSet;
                case 'H': i += 2; return HexSet.Complement();
                case 't': i += 2; literal = '\t'; return null;
                case 'n': i += 2; literal = '\n'; return null;
                case 'r': i += 2; literal = '\r'; return null;
                case 'f': i += 2; literal = '\f'; return null;
                case 'v': i += 2; literal = '\v'; return null;
                case 'a': i += 2; literal = 7; return null;
                case 'e': i += 2; literal = 0x1B; return null;
                case '0': i += 2; literal = 0; return null;
                case 'x':
                    {
                        var m = Regex.Match(p.Substring(i), @"^\\x(\{([0-9A-Fa-f]{1,8})\}|([0-9A-Fa-f]{1,2}))");
                        if (!m.Success) throw Error("a malformed \\x escape");
                        string hex = m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value;
                        literal = int.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                        if (literal > CodePointSet.MaxCodePoint) throw Error("a code point beyond U+10FFFF");
                        i += m.Length;
                        return null;
                    }
                case 'u':
                    {
                        var m = Regex.Match(p.Substring(i), @"^\\u([0-9A-Fa-f]{4})");
                        if (!m.Success) throw Error("a malformed \\u escape");
                        literal = int.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                        i += m.Length;
                        return null;
                    }
            }
            if (char.IsAsciiLetterOrDigit(e)) throw Error($"the escape \\{e}");
            literal = CodePoints.At(p, i + 1, out int w);
            i += 1 + w;
            return null;
        }

        static readonly CodePointSet HexSet = new(new List<(int, int)> { ('0', '9'), ('A', 'F'), ('a', 'f') });

        CodePointSet ParseClass()
        {
            // p[i] == '['
            i++;
            bool negate = false;
            if (i < p.Length && p[i] == '^') { negate = true; i++; }
            CodePointSet? intersection = null;
            var current = new List<(int, int)>();
            var sets = new List<CodePointSet>();
            bool first = true;
            while (true)
            {
                if (i >= p.Length) throw Error("an unclosed character class");
                char c = p[i];
                if (c == ']' && !first) { i++; break; }
                first = false;
                if (c == '&' && i + 1 < p.Length && p[i + 1] == '&')
                {
                    i += 2;
                    var left = Combine(current, sets);
                    intersection = intersection == null ? left : intersection.Intersect(left);
                    current = new List<(int, int)>(); sets = new List<CodePointSet>();
                    continue;
                }
                if (c == '[')
                {
                    var posix = Regex.Match(p.Substring(i), @"^\[:(\^?)([a-z]+):\]");
                    if (posix.Success)
                    {
                        var set = Posix(posix.Groups[2].Value);
                        sets.Add(posix.Groups[1].Length > 0 ? set.Complement() : set);
                        i += posix.Length;
                        continue;
                    }
                    sets.Add(ParseClass());
                    continue;
                }
                int lo;
                if (c == '\\')
                {
                    var set = TryEscapeSet(out int lit);
                    if (set != null) { sets.Add(set); continue; }
                    lo = lit;
                }
                else { lo = CodePoints.At(p, i, out int w); i += w; }
                // A range lo-hi (a '-' before ']' is a literal).
                if (i + 1 < p.Length && p[i] == '-' && p[i + 1] != ']')
                {
                    i++;
                    int hi;
                    if (p[i] == '\\')
                    {
                        var set = TryEscapeSet(out int lit);
                        if (set != null) throw Error("a range ending in a class escape");
                        hi = lit;
                    }
                    else { hi = CodePoints.At(p, i, out int w2); i += w2; }
                    if (hi < lo) throw Error("a reversed range");
                    current.Add((lo, hi));
                }
                else current.Add((lo, lo));
            }
            var result = Combine(current, sets);
            if (intersection != null) result = intersection.Intersect(result);
            if (ci) result = FoldAscii(result);
            return negate ? result.Complement() : result;
        }

        static CodePointSet Combine(List<(int, int)> ranges, List<CodePointSet> sets)
        {
            var result = new CodePointSet(ranges);
            foreach (var s in sets) result = result.Union(s);
            return result;
        }

        CodePointSet Posix(string name) => name switch
        {
            "alpha" => CodePoints.Property("Alphabetic", context),
            "digit" => CodePoints.Property("Nd", context),
            "alnum" => CodePoints.Property("Alphabetic", context).Union(CodePoints.Property("Nd", context)),
            "space" => CodePoints.Property("White_Space", context),
            "upper" => CodePoints.Property("Lu", context),
            "lower" => CodePoints.Property("Ll", context),
            "punct" => CodePoints.Property("P", context).Union(CodePoints.Property("S", context)),
            "cntrl" => CodePoints.Property("Cc", context),
            "xdigit" => HexSet,
            "word" => WordSet,
            "blank" => CodePoints.Property("Zs", context).Union(CodePointSet.Single('\t')),
            _ => throw Error($"the POSIX class [:{name}:]"),
        };

        static CodePointSet FoldAscii(CodePointSet set)
        {
            var extra = new List<(int, int)>();
            for (int c = 'A'; c <= 'Z'; c++)
            {
                if (set.Contains(c)) extra.Add((c + 32, c + 32));
                if (set.Contains(c + 32)) extra.Add((c, c));
            }
            return set.Union(new CodePointSet(extra));
        }

        string LiteralToRegex(int cp)
        {
            if (ci && cp < 128 && char.IsAsciiLetter((char)cp))
                return SetToRegex(CodePointSet.Single(char.ToLowerInvariant((char)cp)).Union(CodePointSet.Single(char.ToUpperInvariant((char)cp))));
            if (cp < 0x10000) return cp is >= 0xD800 and <= 0xDFFF ? SetToRegex(CodePointSet.Single(cp)) : Esc(cp);
            string s = char.ConvertFromUtf32(cp);
            return "(?:" + Esc(s[0]) + Esc(s[1]) + ")";
        }
    }

    static string Esc(int c) => "\\u" + c.ToString("X4", CultureInfo.InvariantCulture);

    /// <summary>
    /// A .NET regex fragment matching exactly one code point of <paramref name="set"/>: surrogate pairs
    /// for astral members first, then a BMP class, then lone surrogates (only when not part of a pair).
    /// </summary>
    public static string SetToRegex(CodePointSet set)
    {
        var alternatives = new List<string>();
        var bmp = new StringBuilder();
        bool loneHigh = false, loneLow = false;
        var highRanges = new List<(int, int)>();
        var lowRanges = new List<(int, int)>();
        foreach (var (lo, hi) in set.Ranges)
        {
            // BMP outside the surrogate block.
            AddClassRange(bmp, lo, Math.Min(hi, 0xD7FF));
            AddClassRange(bmp, Math.Max(lo, 0xE000), Math.Min(hi, 0xFFFF));
            if (lo <= 0xDBFF && hi >= 0xD800) { loneHigh = true; highRanges.Add((Math.Max(lo, 0xD800), Math.Min(hi, 0xDBFF))); }
            if (lo <= 0xDFFF && hi >= 0xDC00) { loneLow = true; lowRanges.Add((Math.Max(lo, 0xDC00), Math.Min(hi, 0xDFFF))); }
            if (hi >= 0x10000) AddAstral(alternatives, Math.Max(lo, 0x10000), hi);
        }
        if (bmp.Length > 0) alternatives.Add("[" + bmp + "]");
        if (loneHigh)
        {
            var cls = new StringBuilder();
            foreach (var (lo, hi) in highRanges) AddClassRange(cls, lo, hi);
            alternatives.Add("[" + cls + "](?![\\uDC00-\\uDFFF])");
        }
        if (loneLow)
        {
            var cls = new StringBuilder();
            foreach (var (lo, hi) in lowRanges) AddClassRange(cls, lo, hi);
            alternatives.Add("(?<![\\uD800-\\uDBFF])[" + cls + "]");
        }
        if (alternatives.Count == 0) return "(?!)";
        if (alternatives.Count == 1 && bmp.Length > 0) return alternatives[0];
        return "(?:" + string.Join("|", alternatives) + ")";
    }

    static void AddClassRange(StringBuilder sb, int lo, int hi)
    {
        if (lo > hi) return;
        sb.Append(Esc(lo));
        if (hi > lo) sb.Append('-').Append(Esc(hi));
    }

    static void AddAstral(List<string> alternatives, int lo, int hi)
    {
        // Split [lo, hi] by high surrogate: a partial first block, whole middle blocks, a partial last.
        int hLo = 0xD800 + ((lo - 0x10000) >> 10), lLo = 0xDC00 + ((lo - 0x10000) & 0x3FF);
        int hHi = 0xD800 + ((hi - 0x10000) >> 10), lHi = 0xDC00 + ((hi - 0x10000) & 0x3FF);
        if (hLo == hHi) { alternatives.Add(Esc(hLo) + Range(lLo, lHi)); return; }
        int midLo = hLo, midHi = hHi;
        if (lLo != 0xDC00) { alternatives.Add(Esc(hLo) + Range(lLo, 0xDFFF)); midLo = hLo + 1; }
        if (lHi != 0xDFFF) { midHi = hHi - 1; }
        if (midLo <= midHi) alternatives.Add(Range(midLo, midHi) + "[\\uDC00-\\uDFFF]");
        if (lHi != 0xDFFF) alternatives.Add(Esc(hHi) + Range(0xDC00, lHi));
    }

    static string Range(int lo, int hi) => lo == hi ? Esc(lo) : "[" + Esc(lo) + "-" + Esc(hi) + "]";
}
